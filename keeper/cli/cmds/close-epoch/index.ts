import type { Command } from "../../command.ts";
import { closeEpochHandler } from "./handler.ts";
import { closeEpochOptions } from "./options.ts";

export const closeEpoch: Command = {
  name: "close-epoch",
  summary:
    "Close a running keeper's open epoch now: gather receipts, build the trees, publish, submit on chain.\n" +
    "Shows each step as it happens, then the epoch's summary and transaction hashes.",
  usage: "close-epoch [--api <url> | --config <file>] [--data-dir <dir>] [--json]",
  options: closeEpochOptions,
  handler: closeEpochHandler,
};
