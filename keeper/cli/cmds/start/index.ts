import type { Command } from "../../command.ts";
import { startHandler } from "./handler.ts";
import { startOptions } from "./options.ts";

export const start: Command = {
  name: "start",
  summary:
    "Run the keeper: p2p node, discovery, routing, tasks, transfers, and the HTTP API (dashboard, /metrics).\n" +
    "Configuration: the file, then LUMORA_* environment variables, then these flags (flags win).\n" +
    "The chain key comes only from LUMORA_CHAIN_KEY or chain.keystore + LUMORA_KEYSTORE_PASSWORD.",
  usage: "start [--config <file>] [--<field> <value>…]",
  options: startOptions,
  handler: startHandler,
};
