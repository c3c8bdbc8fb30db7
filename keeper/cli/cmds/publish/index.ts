import type { Command } from "../../command.ts";
import { publishHandler } from "./handler.ts";
import { publishOptions } from "./options.ts";

export const publish: Command = {
  name: "publish",
  summary:
    "Publish a local file on a running keeper: it builds the manifest, serves the object and announces it.\n" +
    "Prints the object id and the `transfer` command that fetches it elsewhere.",
  usage: "publish <file> [--api <url> | --config <file>] [--data-dir <dir>] [--json]",
  options: publishOptions,
  args: ["file"],
  handler: publishHandler,
};
