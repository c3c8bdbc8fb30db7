import type { Command } from "../../command.ts";
import { tasksHandler } from "./handler.ts";
import { tasksOptions } from "./options.ts";

export const tasks: Command = {
  name: "tasks",
  summary: "Tasks by state and the most recent ones; transfers with progress (--watch follows them).",
  usage: "tasks [--api <url> | --config <file>] [--json] [--watch]",
  options: tasksOptions,
  handler: tasksHandler,
};
