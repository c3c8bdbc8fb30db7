/**
 * Operator configuration: one file (JSON with comments) + LUMORA_* environment + flags, validated with zod;
 * the chain key only from the environment or an encrypted keystore.
 */
export * from "./constants.ts";
export * from "./errors.ts";
export { parseJsonc, stripJsonComments } from "./jsonc.ts";
export { toKeeperConfig } from "./keeper-config.ts";
export { envName, flagName, loadConfig, readLeaf, type LoadedConfig, type LoadOptions } from "./load.ts";
export {
  configSchema,
  LEAVES,
  LIMIT_DEFAULTS,
  LOG_FORMATS,
  LOG_LEVELS,
  type LeafKind,
  type OperatorConfig,
} from "./schema.ts";
export { loadChainKey, loadConsumerKey, writeKeystore, type ChainKeySource } from "./secrets.ts";
export { configTemplate, type TemplateInit } from "./template.ts";
