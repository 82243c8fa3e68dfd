// Name patterns of policy files and scopes: "*" stands for any run of characters (none
// included); everything else is itself. "orders", "shop-*", "*".

/** A matcher for one pattern. */
export type NameMatcher = (name: string) => boolean;

export function namePattern(pattern: string): NameMatcher {
  if (pattern === "*") return () => true;
  if (!pattern.includes("*")) return (name) => name === pattern;
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`, "s");
  return (name) => re.test(name);
}

/** Why `pattern` cannot name destinations or clientIds, or undefined when it can. */
export function namePatternProblem(pattern: string): string | undefined {
  if (!/^[A-Za-z0-9_.*-]{1,128}$/.test(pattern)) {
    return `must be a name or a pattern of letters, digits, "_", "-", "." and "*", got ${JSON.stringify(pattern)}`;
  }
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
