import { COMMON_OPTIONS, type Options } from "../../command.ts";

export const initOptions: Options = {
  ...COMMON_OPTIONS,
  config: { type: "string", short: "c", arg: "file", describe: "config file to write (default lumora.config.json)" },
  "reward-address": { type: "string", arg: "0x…", describe: "address that receives this node's rewards (required)" },
  "data-dir": {
    type: "string",
    arg: "dir",
    describe: "data folder, relative to the config file (default ./lumora-data)",
  },
  network: { type: "string", arg: "name", describe: "chain network (default amoy)" },
  "p2p-port": { type: "string", arg: "port", describe: "libp2p TCP port (default 4001)" },
  "api-port": { type: "string", arg: "port", describe: "HTTP API / dashboard port (default 9464)" },
  keystore: {
    type: "string",
    arg: "file",
    describe: "also create a new chain key, encrypted with LUMORA_KEYSTORE_PASSWORD, in this keystore file",
  },
};
