import type { Command } from "../../command.ts";
import { transferHandler } from "./handler.ts";
import { transferOptions } from "./options.ts";

export const transfer: Command = {
  name: "transfer",
  summary:
    "Ask a running keeper to coordinate a transfer: routing picks an executor, which fetches the object from\n" +
    "its providers (verified part by part). Prints the task id at once; --wait follows it to the end.",
  usage:
    "transfer <objectId> --size <bytes> --provider <multiaddr> [--provider …] [--wait] [--api <url> | --config <file>]",
  options: transferOptions,
  args: ["objectId"],
  handler: transferHandler,
};
