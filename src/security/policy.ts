// The policy file: who may read or administer which destinations and clientIds. YAML:
//
//   rules:
//     - principals: [token:orders-app, "jwt:svc-*"]   # via:id patterns, or an id pattern for any via
//       destinations: [orders]                       # patterns ("*": any)
//       clientIds: ["orders-*"]                      # optional; default every clientId
//       allow: [read]                                # read, admin
//
// A call is allowed when a rule names its principal and grants its action on its destination
// and clientId (scopes.ts: a call naming no clientId needs a grant for every clientId).
// Nothing is allowed that no rule grants. Errors name the file, the line and the key.
import { readFileSync } from "node:fs";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import { fileProblem, SecurityConfigError } from "./errors.js";
import { type NameMatcher, namePattern, namePatternProblem } from "./patterns.js";
import type { Principal } from "./principal.js";
import { ACTIONS, type Action, covers, type Grant, grant, type Request } from "./scopes.js";

const VIAS = ["token", "jwt", "canal", "certificate"] as const;
const RULE_KEYS = ["principals", "destinations", "clientIds", "allow"];

interface Rule {
  principal: (p: Principal) => boolean;
  grants: Grant[];
}

export class Policy {
  constructor(
    /** The file it was read from, for messages. */
    readonly file: string,
    private readonly rules: readonly Rule[],
  ) {}

  allows(principal: Principal, request: Request): boolean {
    for (const rule of this.rules) {
      if (rule.principal(principal) && rule.grants.some((g) => covers(g, request))) return true;
    }
    return false;
  }
}

export function readPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw fileProblem(file, err);
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, file: string): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as { pos: [number, number]; message: string };
    throw new SecurityConfigError(`${at(e.pos[0])}: not valid YAML: ${e.message.split("\n")[0]}`);
  }
  const problems: string[] = [];
  /** A node's position: the start of its range. */
  const pos = (node: unknown) => at((node as { range?: [number] } | null)?.range?.[0]);
  const root = doc.contents;
  const rulesNode = isMap(root) ? root.get("rules", true) : undefined;
  if (!isMap(root) || !isSeq(rulesNode)) {
    throw new SecurityConfigError(
      `${pos(isMap(root) ? (rulesNode ?? root) : root)}: a policy file is a map with "rules:", a list of {principals, destinations, clientIds, allow}`,
    );
  }
  for (const key of root.items) {
    const name = String((key.key as { value?: unknown })?.value);
    if (name !== "rules")
      problems.push(`${pos(key.key)}: ${name}: unknown key; a policy file has only "rules"`);
  }
  const rules: Rule[] = [];
  rulesNode.items.forEach((item, i) => {
    const path = `rules[${i}]`;
    if (!isMap(item)) {
      problems.push(
        `${pos(item)}: ${path}: must be a map with principals, destinations, allow (and clientIds)`,
      );
      return;
    }
    for (const pair of item.items) {
      const key = String((pair.key as { value?: unknown })?.value);
      if (!RULE_KEYS.includes(key))
        problems.push(`${pos(pair.key)}: ${path}.${key}: unknown key; a rule has ${RULE_KEYS.join(", ")}`);
    }
    const list = (key: string, required: boolean): { text: string; node: unknown }[] | undefined => {
      const node = item.get(key, true);
      if (node === undefined) {
        if (required) problems.push(`${pos(item)}: ${path}.${key}: is required`);
        return undefined;
      }
      if (!isSeq(node) || node.items.length === 0) {
        problems.push(`${pos(node)}: ${path}.${key}: must be a non-empty list`);
        return undefined;
      }
      const out: { text: string; node: unknown }[] = [];
      for (const entry of node.items) {
        const v = (entry as { value?: unknown })?.value;
        if (typeof v !== "string" && typeof v !== "number") {
          problems.push(`${pos(entry)}: ${path}.${key}: every item must be a string`);
          return undefined;
        }
        out.push({ text: String(v), node: entry });
      }
      return out;
    };
    const principals = list("principals", true);
    const destinations = list("destinations", true);
    const clientIds = list("clientIds", false) ?? [{ text: "*", node: undefined }];
    const allow = list("allow", true);
    let ok = principals !== undefined && destinations !== undefined && allow !== undefined;
    for (const { text, node } of [...(destinations ?? []), ...clientIds]) {
      const problem = namePatternProblem(text);
      if (problem) {
        problems.push(`${pos(node ?? item)}: ${path}: ${problem}`);
        ok = false;
      }
    }
    for (const { text, node } of allow ?? []) {
      if (!(ACTIONS as readonly string[]).includes(text)) {
        problems.push(
          `${pos(node)}: ${path}.allow: must list ${ACTIONS.join(", ")}, got ${JSON.stringify(text)}`,
        );
        ok = false;
      }
    }
    const matchers: ((p: Principal) => boolean)[] = [];
    for (const { text, node } of principals ?? []) {
      const m = principalPattern(text);
      if (typeof m === "string") {
        problems.push(`${pos(node)}: ${path}.principals: ${m}`);
        ok = false;
      } else matchers.push(m);
    }
    if (!ok) return;
    const grants: Grant[] = [];
    for (const a of allow as { text: string }[])
      for (const d of destinations as { text: string }[])
        for (const c of clientIds) grants.push(grant(a.text as Action, d.text, c.text));
    rules.push({ principal: (p) => matchers.some((m) => m(p)), grants });
  });
  if (problems.length > 0) throw new SecurityConfigError(problems.join("\n"));
  return new Policy(file, rules);
}

/** "token:orders-app", "jwt:svc-*", "alice" (any via), "*" (anyone authenticated). */
function principalPattern(text: string): ((p: Principal) => boolean) | string {
  const colon = text.indexOf(":");
  const via = colon < 0 ? undefined : text.slice(0, colon);
  if (via !== undefined && !(VIAS as readonly string[]).includes(via)) {
    return `${JSON.stringify(text)}: the part before ":" must be one of ${VIAS.join(", ")}`;
  }
  const idPattern = colon < 0 ? text : text.slice(colon + 1);
  if (idPattern === "") return `${JSON.stringify(text)}: names no one`;
  const id: NameMatcher = namePattern(idPattern);
  return (p) => (via === undefined || p.via === via) && id(p.id);
}
