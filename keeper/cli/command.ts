/**
 * A CLI command: its options (node:util parseArgs config with help text), a usage line and a handler. The
 * dispatcher (index.ts) parses strictly, so unknown options and missing values are usage errors.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

import { UsageError } from "./errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** One line of help; the value's name in <angle brackets> comes from `arg`. */
  describe: string;
  arg?: string;
}

export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** Raw text to stderr (progress redraws in place). */
  raw(text: string): void;
  /** Whether stderr is a terminal (progress bars redraw in place; otherwise they print milestones). */
  isTTY: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Names of the positional arguments, all required (none by default). */
  args?: readonly string[];
  handler(values: Values, positionals: string[], io: Output): Promise<number>;
}

export function parse(command: Command, argv: string[]): { values: Values; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ""), command.name);
  }
}

export function help(command: Command): string {
  const rows = Object.entries(command.options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` <${spec.arg ?? "value"}>` : ""}`;
    return `  ${flag.padEnd(38)} ${spec.describe}${spec.multiple ? " (repeatable)" : ""}`;
  });
  return [`Usage: lumora-keeper ${command.usage}`, "", command.summary, "", "Options:", ...rows].join("\n");
}

/** Options every command has. */
export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h", describe: "show this help" },
  debug: { type: "boolean", describe: "print stack traces of unexpected errors" },
};

/** Options of the commands that query a running keeper. */
export const QUERY_OPTIONS: Options = {
  ...COMMON_OPTIONS,
  api: {
    type: "string",
    arg: "url",
    describe: "keeper API URL (default LUMORA_API_URL, else from the config, else http://127.0.0.1:9464)",
  },
  config: { type: "string", short: "c", arg: "file", describe: "config file to read the API address from" },
  json: { type: "boolean", describe: "print the raw JSON" },
};

/** Options of the commands that change a running keeper: the query options and where its token is. */
export const WRITE_OPTIONS: Options = {
  ...QUERY_OPTIONS,
  "data-dir": {
    type: "string",
    arg: "dir",
    describe: "the keeper's data folder, holding api.token (default LUMORA_DATA_DIR, else the config's dataDir)",
  },
};
