/**
 * Defaults of the operator configuration. Every one is also written, commented, into the file `init` creates.
 */

/** Config file looked up when neither `--config` nor LUMORA_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = "lumora.config.json";
/** Where identity, database and fetched objects live, relative to the config file. */
export const DEFAULT_DATA_DIR = "./lumora-data";
/** libp2p TCP port: a fixed port so it can be forwarded through NAT. */
export const DEFAULT_P2P_PORT = 4001;
/** HTTP API / dashboard / metrics: loopback only by default, an operator opens it deliberately. */
export const DEFAULT_API_HOST = "127.0.0.1";
export const DEFAULT_API_PORT = 9464;
/** Advertised bandwidth B_i when the operator did not measure theirs: 10 MB/s, modest on purpose. */
export const DEFAULT_BANDWIDTH_BPS = 10_000_000;
/** Tasks executed here at once. */
export const DEFAULT_CAPACITY = 4;
/** Environment variable holding the keeper's chain key (hex). Never written to a file by us. */
export const ENV_CHAIN_KEY = "LUMORA_CHAIN_KEY";
/** Environment variable holding the key of this node's consumer account, which signs vouchers (hex). Never in a file. */
export const ENV_CONSUMER_KEY = "LUMORA_CONSUMER_KEY";
/** Password of the encrypted keystore named by `chain.keystore`. */
export const ENV_KEYSTORE_PASSWORD = "LUMORA_KEYSTORE_PASSWORD";
/** Prefix of environment overrides: LUMORA_API_PORT → api.port. */
export const ENV_PREFIX = "LUMORA_";
