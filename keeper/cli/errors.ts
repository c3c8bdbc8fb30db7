/** CLI exit codes and the errors that choose them. */
import { ConfigError, ConfigFileError, SecretError } from "../config/index.ts";
import { DataDirLockedError } from "../store/errors.ts";

export const EXIT_OK = 0;
/** Something failed at run time (keeper unreachable, start failed, data dir in use by another keeper, I/O). */
export const EXIT_FAILURE = 1;
/** The command line or the configuration is wrong: fixing the invocation fixes it. */
export const EXIT_USAGE = 2;

/** Bad command line: unknown command or option, missing or malformed value. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The command whose usage to point at. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A failure the operator can act on, reported as one line (no stack trace). */
export class CliError extends Error {
  override readonly name = "CliError";
}

export function exitCodeOf(err: unknown): number {
  if (
    err instanceof UsageError ||
    err instanceof ConfigError ||
    err instanceof ConfigFileError ||
    err instanceof SecretError
  ) {
    return EXIT_USAGE;
  }
  return EXIT_FAILURE;
}

/** Errors we expect are one clear line; anything else also names its type (and its stack with --debug). */
export function describeError(err: unknown, debug: boolean): string {
  if (!(err instanceof Error)) return `lumora-keeper: ${String(err)}`;
  const known =
    err instanceof UsageError ||
    err instanceof CliError ||
    err instanceof DataDirLockedError ||
    exitCodeOf(err) === EXIT_USAGE;
  if (known)
    return err.message
      .split("\n")
      .map((l) => `lumora-keeper: ${l}`)
      .join("\n");
  return debug
    ? `lumora-keeper: ${err.stack ?? err.message}`
    : `lumora-keeper: ${err.name}: ${err.message} (run with --debug for details)`;
}
