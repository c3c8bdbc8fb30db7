import type { Command } from "../../command.ts";
import { peersHandler } from "./handler.ts";
import { peersOptions } from "./options.ts";

export const peers: Command = {
  name: "peers",
  summary: "Known keepers with their bandwidth B, proximity P, latency L, score, shard and reputation.",
  usage: "peers [--api <url> | --config <file>] [--json]",
  options: peersOptions,
  handler: peersHandler,
};
