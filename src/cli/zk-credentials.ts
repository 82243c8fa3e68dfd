// ZooKeeper credentials of the commands that take plain flags (gateway, zk-acl): the user from
// --zk-user or SLUICE_ZK_USER, the password from --zk-password-file, SLUICE_ZK_PASSWORD or
// SLUICE_ZK_PASSWORD_FILE (a flag wins over the environment). Never a password flag: argv is
// visible to every local user. `sluice server` reads the same through its config loader.
import { readSecretFile, SecretFileError } from "../common/secrets.js";
import { credentialsProblem, type ZkCredentials } from "../common/zk/acl.js";
import { UsageError } from "./command.js";

export const ZK_CREDENTIALS_HELP = `  --zk-user NAME              ZooKeeper digest user (env SLUICE_ZK_USER): the session
                              authenticates and its nodes get ACLs (docs/security.md)
  --zk-password-file FILE     that user's password, read from FILE (env
                              SLUICE_ZK_PASSWORD_FILE, or the password itself in
                              SLUICE_ZK_PASSWORD; never a flag)`;

/** What the command's flags said; undefined: not given. */
export interface ZkCredentialFlags {
  user?: string | undefined;
  passwordFile?: string | undefined;
}

/** A refusal for `--zk-password`: passwords are not flags. */
export function zkPasswordFlagError(): UsageError {
  return new UsageError(
    "--zk-password: is not a flag, so that the password stays out of the process's arguments " +
      "(which every local user can read): set SLUICE_ZK_PASSWORD, or give --zk-password-file FILE",
  );
}

/** The credentials, or undefined when neither a user nor a password was given. */
export function zkCredentials(flags: ZkCredentialFlags, env: NodeJS.ProcessEnv): ZkCredentials | undefined {
  const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);
  const user = flags.user ?? nonEmpty(env.SLUICE_ZK_USER?.trim());
  let password: string | undefined;
  let from: string | undefined;
  const read = (file: string, label: string) => {
    try {
      return readSecretFile(file);
    } catch (err) {
      if (err instanceof SecretFileError) throw new UsageError(`${label}: ${err.message}`);
      throw err;
    }
  };
  if (flags.passwordFile !== undefined) {
    password = read(flags.passwordFile, "--zk-password-file");
    from = "--zk-password-file";
  } else {
    const inEnv = nonEmpty(env.SLUICE_ZK_PASSWORD);
    const file = nonEmpty(env.SLUICE_ZK_PASSWORD_FILE);
    if (inEnv !== undefined && file !== undefined) {
      throw new UsageError(
        "SLUICE_ZK_PASSWORD and SLUICE_ZK_PASSWORD_FILE: give the password one way, not both",
      );
    }
    if (inEnv !== undefined) [password, from] = [inEnv, "SLUICE_ZK_PASSWORD"];
    if (file !== undefined)
      [password, from] = [read(file, "SLUICE_ZK_PASSWORD_FILE"), "SLUICE_ZK_PASSWORD_FILE"];
  }
  if (user === undefined && password === undefined) return undefined;
  if (user === undefined)
    throw new UsageError(`${from}: a ZooKeeper password needs its user: give --zk-user (or SLUICE_ZK_USER)`);
  if (password === undefined) {
    throw new UsageError(
      "--zk-user: needs a password: --zk-password-file FILE, SLUICE_ZK_PASSWORD_FILE or SLUICE_ZK_PASSWORD",
    );
  }
  const problem = credentialsProblem({ user, password });
  if (problem) throw new UsageError(`--zk-user: ${problem}`);
  return { user, password };
}
