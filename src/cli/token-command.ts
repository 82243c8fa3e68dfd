// `sluice token create NAME [--scope SCOPE]... [--file FILE]`: a new bearer token for the
// token file of servers and gateways (--auth-tokens, security.tokens). The token is printed
// once, on stdout; the file keeps only its scrypt hash. `sluice token canal-passwd` turns a
// password (stdin) into canal's canal.passwd.
import { appendFileSync, existsSync, statSync, writeFileSync } from "node:fs";
import { canalPasswd } from "../security/canal-user.js";
import { SecurityConfigError } from "../security/errors.js";
import { createToken } from "../security/tokens.js";
import { type Command, UsageError } from "./command.js";
import { parseCommandArgs } from "./parse-args.js";

const HELP = `Usage: sluice token create NAME [--scope SCOPE]... [--file FILE]
       sluice token canal-passwd < password

create: makes a bearer token NAME.SECRET (256 random bits) and prints it once on stdout. Its
line for the token file (NAME, scrypt hash, scopes) is appended to --file FILE (made with
mode 600 when missing), or printed on stderr. Give servers and gateways the file with
--auth-tokens FILE (security.tokens); clients send "Authorization: Bearer NAME.SECRET"
(SLUICE_TOKEN or SLUICE_TOKEN_FILE for sluice's own commands and examples).

  --scope SCOPE   what the token may do, repeatable: read:DESTINATION, admin:DESTINATION,
                  optionally /CLIENTID; "*" in a name is any run of characters, e.g.
                  read:orders/team-a-*. Without scopes the policy file decides (or, with no
                  policy file, the token may do everything).
  --file FILE     the token file to add the line to

canal-passwd: reads a password on stdin and prints canal's canal.passwd for it (the hex of
SHA1(SHA1(password))), for --auth-canal-passwd-file or security.canal.passwd.

Revoke a token by deleting its line: servers and gateways reread the file within seconds.`;

export const tokenCommand: Command = {
  name: "token",
  summary: "make a bearer token for --auth-tokens files, or canal's canal.passwd",
  help: HELP,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === "canal-passwd") {
      if (rest.length > 0)
        throw new UsageError("canal-passwd takes no arguments: the password comes on stdin");
      const password = (await readStdin()).replace(/\r?\n$/, "");
      if (password === "") throw new UsageError("canal-passwd: no password on stdin");
      process.stdout.write(`${canalPasswd(password)}\n`);
      return 0;
    }
    if (sub !== "create")
      throw new UsageError(`expected "create" or "canal-passwd", got ${JSON.stringify(sub ?? "")}`);
    const { values, positionals } = parseCommandArgs({
      args: rest,
      allowPositionals: true,
      options: { scope: { type: "string", multiple: true }, file: { type: "string" } },
    });
    if (positionals.length > 1)
      throw new UsageError(`${JSON.stringify(positionals[1])}: unexpected argument`);
    const name = positionals[0];
    const file = values.file;
    const scopes = values.scope ?? [];
    if (name === undefined) throw new UsageError("create needs the token's NAME");
    let made: { token: string; line: string };
    try {
      made = await createToken(name, scopes);
    } catch (err) {
      if (err instanceof SecurityConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (file !== undefined) {
      if (!existsSync(file))
        writeFileSync(file, "# sluice tokens: NAME scrypt$N$r$p$SALT$HASH [SCOPES]\n", { mode: 0o600 });
      else if (!statSync(file).isFile()) throw new UsageError(`--file: "${file}" is not a file`);
      appendFileSync(file, `${made.line}\n`);
      process.stderr.write(`added token ${name} to ${file}\n`);
    } else {
      process.stderr.write(`add this line to the token file:\n${made.line}\n`);
    }
    process.stdout.write(`${made.token}\n`);
    return 0;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
