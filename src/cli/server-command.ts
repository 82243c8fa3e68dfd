// `sluice server`: runs the canal server until SIGTERM/SIGINT, then stops gracefully.
import { createLogger } from "../common/log.js";
import { SERVER_HELP } from "../server/config/args.js";
import { ConfigError } from "../server/config/errors.js";
import { loadServerConfig } from "../server/config/load.js";
import { startServer } from "../server/server.js";
import { type Command, refusedAsUsage, UsageError } from "./command.js";
import { setHeapGrowth } from "./runtime-flags.js";

export const serverCommand: Command = {
  name: "server",
  summary: "canal server: destinations, store, get/ack/rollback and streams over Connect",
  help: SERVER_HELP,
  async run(args) {
    setHeapGrowth();
    let config: ReturnType<typeof loadServerConfig>;
    try {
      config = loadServerConfig({ argv: args, env: process.env });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const log = createLogger("server");
    for (const note of config.notes ?? []) log.info(note);
    for (const warning of config.warnings ?? []) log.warn(warning);
    const server = await startServer(config, log).catch(refusedAsUsage);
    // Scripts and tests wait for this line to know the port.
    process.stdout.write(`sluice server listening on ${server.url}\n`);
    const signal = await new Promise<string | Error>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
      void server.failed.then(resolve);
    });
    if (signal instanceof Error) {
      log.error("stopping: a destination failed", { error: signal.message });
      await server.close();
      return 1;
    }
    log.info("stopping", { signal });
    await server.close();
    return 0;
  },
};
