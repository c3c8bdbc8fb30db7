import type { Command } from "../../command.ts";
import { rewardsHandler } from "./handler.ts";
import { rewardsOptions } from "./options.ts";

export const rewards: Command = {
  name: "rewards",
  summary: "This keeper's rewards per published epoch (contribution and amount).",
  usage: "rewards [--api <url> | --config <file>] [--json]",
  options: rewardsOptions,
  handler: rewardsHandler,
};
