import type { Command } from "../../command.ts";
import { statusHandler } from "./handler.ts";
import { statusOptions } from "./options.ts";

export const status: Command = {
  name: "status",
  summary: "Summary of a running keeper: identity, peers, DHT, tasks, transfers, epoch.",
  usage: "status [--api <url> | --config <file>] [--json]",
  options: statusOptions,
  handler: statusHandler,
};
