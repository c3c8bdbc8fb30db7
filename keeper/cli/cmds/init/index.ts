import type { Command } from "../../command.ts";
import { initHandler } from "./handler.ts";
import { initOptions } from "./options.ts";

export const init: Command = {
  name: "init",
  summary: "Write a commented config file and a new node identity (never overwrites either).",
  usage: "init --reward-address <0x…> [--config <file>] [--keystore <file>]",
  options: initOptions,
  handler: initHandler,
};
