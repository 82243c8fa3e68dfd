// `sluice server` configuration: file (YAML or JSON), environment and flags, validated into a
// ServerConfig. See docs/configuration.md.
export { OPTIONS, SERVER_HELP, wantsHelp } from "./args.js";
export { describeConfig, describeDestination, describeStart } from "./describe.js";
export { ConfigError } from "./errors.js";
export { type LoadOptions, loadServerConfig } from "./load.js";
export type { ConfiguredStart, DestinationConfig, ServerConfig, ZooKeeperConfig } from "./types.js";
export { formatDuration, formatSize, parseDuration, parseSize, UnitError } from "./units.js";
export { DEFAULTS, defaultAdvertiseHost } from "./validate.js";
