import type { Command } from "../../command.ts";
import { epochsHandler } from "./handler.ts";
import { epochsOptions } from "./options.ts";

export const epochs: Command = {
  name: "epochs",
  summary: "Epochs: status (closed, published, submitted, pending, claimable) and transaction hashes.",
  usage: "epochs [--api <url> | --config <file>] [--json]",
  options: epochsOptions,
  handler: epochsHandler,
};
