/**
 * `lumora-keeper`: the operator CLI. Thin: each command parses its arguments and calls library code.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. Errors are one clear line.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { help, parse, type Command, type Output } from "./command.ts";
import { closeEpoch } from "./cmds/close-epoch/index.ts";
import { epochs } from "./cmds/epochs/index.ts";
import { init } from "./cmds/init/index.ts";
import { peers } from "./cmds/peers/index.ts";
import { publish } from "./cmds/publish/index.ts";
import { rewards } from "./cmds/rewards/index.ts";
import { start } from "./cmds/start/index.ts";
import { status } from "./cmds/status/index.ts";
import { tasks } from "./cmds/tasks/index.ts";
import { transfer } from "./cmds/transfer/index.ts";
import { describeError, exitCodeOf, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";

export const COMMANDS: readonly Command[] = [
  init,
  start,
  status,
  peers,
  tasks,
  epochs,
  rewards,
  publish,
  transfer,
  closeEpoch,
];

/** The project's package.json: two levels up from keeper/cli/ as sources and from dist/bundle/ bundled, three from
 * dist/keeper/cli/ compiled by tsc. */
function version(): string {
  const near = new URL("../../package.json", import.meta.url);
  const file = existsSync(near) ? near : new URL("../../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(fileURLToPath(file), "utf8")) as { version: string };
  return pkg.version;
}

export function globalHelp(): string {
  return [
    "Usage: lumora-keeper <command> [options]",
    "",
    "Run and inspect a Lumora keeper.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary.split("\n")[0]}`),
    "",
    "Run `lumora-keeper <command> --help` for a command's options.",
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.",
  ].join("\n");
}

export const stdio: Output = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
  raw: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
};

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(globalHelp());
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(globalHelp());
    return EXIT_OK;
  }
  if (name === "--version" || name === "-v") {
    io.out(version());
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const debug = rest.includes("--debug");
  try {
    if (command === undefined)
      throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    const { values, positionals } = parse(command, rest);
    if (values.help) {
      io.out(help(command));
      return EXIT_OK;
    }
    const args = command.args ?? [];
    if (positionals.length > args.length)
      throw new UsageError(`${command.name}: unexpected argument "${positionals[args.length]}"`, command.name);
    if (positionals.length < args.length)
      throw new UsageError(`${command.name}: missing <${args[positionals.length]}>`, command.name);
    return await command.handler(values, positionals, io);
  } catch (err) {
    io.err(describeError(err, debug));
    if (err instanceof UsageError)
      io.err(`Run \`lumora-keeper ${err.command ?? ""}${err.command ? " " : ""}--help\` for usage.`);
    return exitCodeOf(err);
  }
}

/** Whether this module is the process's entry point, also when started through a symlink (Node runs the real file). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
  // Keep-alive handles of a stopped keeper must not hold the process (libp2p timers, sockets).
  setTimeout(() => process.exit(), 200).unref();
}
