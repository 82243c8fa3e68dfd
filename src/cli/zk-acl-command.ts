// `sluice zk-acl`: lists the ZooKeeper nodes under the root that lack Sluice's ACL, and with
// --apply sets it: the one-off step after turning credentials on for a tree that existed
// without them (docs/security.md, "ZooKeeper").
import { sluiceAclPolicy } from "../common/zk/acl.js";
import { applyAcl, auditAcl, describeFinding } from "../common/zk/acl-audit.js";
import { ZkClient } from "../common/zk/client.js";
import { DEFAULT_ROOT, ZkPaths } from "../common/zk/paths.js";
import { type Command, UsageError } from "./command.js";
import { parseCommandArgs } from "./parse-args.js";
import { ZK_CREDENTIALS_HELP, zkCredentials, zkPasswordFlagError } from "./zk-credentials.js";

const HELP = `Usage: sluice zk-acl --zk HOST:PORT[,...] --zk-user NAME [options]

Lists the ZooKeeper nodes under the root whose ACL is not the one sluice processes with these
credentials give the nodes they create (canal's layout: every permission for the user, read
for anyone; {root}/sluice: the user only), e.g. nodes made before credentials were configured.
With --apply, sets that ACL on them. Run it once every sluice process has the credentials:
a process without them can no longer write what this protects.

Options:
  --zk HOST:PORT[,...]        ZooKeeper ensemble (required; env SLUICE_ZK)
  --zk-root PATH              ZooKeeper root of canal's layout (default ${DEFAULT_ROOT})
${ZK_CREDENTIALS_HELP}
  --apply                     set the ACL (without it, only list)
  -h, --help                  this help

Exit codes: 0 every node carries the ACL (after --apply: it was set on all), 1 some do not
(listed), 2 bad usage.`;

interface Flags {
  zk: string;
  root: string;
  apply: boolean;
  user?: string;
  passwordFile?: string;
}

function parse(args: string[], env: NodeJS.ProcessEnv): Flags {
  if (args.some((a) => a === "--zk-password" || a.startsWith("--zk-password="))) throw zkPasswordFlagError();
  const { values } = parseCommandArgs({
    args,
    options: {
      zk: { type: "string" },
      "zk-root": { type: "string" },
      "zk-user": { type: "string" },
      "zk-password-file": { type: "string" },
      apply: { type: "boolean" },
    },
  });
  const flags: Flags = {
    zk: values.zk ?? env.SLUICE_ZK ?? "",
    root: values["zk-root"] ?? DEFAULT_ROOT,
    apply: values.apply ?? false,
  };
  if (values["zk-user"] !== undefined) flags.user = values["zk-user"];
  if (values["zk-password-file"] !== undefined) flags.passwordFile = values["zk-password-file"];
  if (!flags.zk) throw new UsageError("--zk is required (or set SLUICE_ZK)");
  return flags;
}

export const zkAclCommand: Command = {
  name: "zk-acl",
  summary: "list (or --apply) Sluice's ACL on ZooKeeper nodes that lack it",
  help: HELP,
  async run(args) {
    const flags = parse(args, process.env);
    const credentials = zkCredentials(flags, process.env);
    if (!credentials) throw new UsageError("--zk-user and its password are required: the ACL names them");
    let paths: ZkPaths;
    try {
      paths = new ZkPaths(flags.root);
    } catch (err) {
      throw new UsageError(`--zk-root: ${(err as Error).message}`);
    }
    const policy = sluiceAclPolicy(paths, credentials);
    const zk = await ZkClient.connect(flags.zk, { credentials, acl: policy });
    try {
      const { checked, findings } = await auditAcl(zk, paths.root, policy);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      if (findings.length === 0) {
        say(`all ${checked} nodes under ${paths.root} carry the ACL`);
        return 0;
      }
      say(`${findings.length} of ${checked} nodes under ${paths.root} lack the ACL:`);
      for (const f of findings) say(`  ${describeFinding(f, credentials)}`);
      if (!flags.apply) {
        say("run again with --apply to set it");
        return 1;
      }
      const failed = await applyAcl(zk, findings, policy);
      say(`set the ACL on ${findings.length - failed.length} nodes`);
      for (const f of failed) say(`  could not change ${f.path}: ${f.reason}`);
      return failed.length === 0 ? 0 : 1;
    } finally {
      zk.close();
    }
  },
};
