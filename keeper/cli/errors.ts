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

/** What to check, by ethers error code, when a chain call fails. */
const ETHERS_HINTS: Record<string, string> = {
  BAD_DATA: "is the contract deployed at that address on this network? check chain.rpcUrl and chain.deployment",
  CALL_EXCEPTION: "the contract refused the call",
  NETWORK_ERROR: "check chain.rpcUrl",
  SERVER_ERROR: "check chain.rpcUrl",
  TIMEOUT: "check chain.rpcUrl",
  INSUFFICIENT_FUNDS: "fund the keeper's chain account",
};

/** An ethers error carries a code (BAD_DATA…) and a short message; its `message` adds every detail of the call. */
function ethersError(err: Error): { code: string; shortMessage: string; reason?: string } | undefined {
  const e = err as { code?: unknown; shortMessage?: unknown; reason?: unknown };
  if (typeof e.code !== "string" || !/^[A-Z_]+$/.test(e.code) || typeof e.shortMessage !== "string") return undefined;
  return { code: e.code, shortMessage: e.shortMessage, ...(typeof e.reason === "string" && { reason: e.reason }) };
}

/**
 * Removes the detail block ethers appends to a message (` (value="0x", info={ … }, code=BAD_DATA, version=6.17.0)`),
 * keeping the code, for messages that embed an ethers error's text.
 */
export function stripEthersDetails(message: string): string {
  return message.replace(/ \((?:[^()"]|"(?:[^"\\]|\\.)*")*?code=([A-Z_]+), version=[\w.-]+\)/g, " [$1]");
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

/** One line for an ethers error: its code, its short message, the revert reason if any, and what to check. */
export function describeEthersError(err: Error): string | undefined {
  const e = ethersError(err);
  if (e === undefined) return undefined;
  // A revert's reason (a revert string, or the custom error's signature) says more than "unknown custom error".
  const what =
    e.reason === undefined || e.shortMessage.includes(e.reason)
      ? e.shortMessage
      : e.code === "CALL_EXCEPTION"
        ? `execution reverted: ${e.reason}`
        : `${e.shortMessage} (${e.reason})`;
  const hint = ETHERS_HINTS[e.code];
  return `chain error ${e.code}: ${oneLine(what)}${hint ? ` — ${hint}` : ""}`;
}

/**
 * Errors we expect are one clear line; anything else also names its type (and its stack with --debug). Chain
 * (ethers) errors never print their whole object: their code and short message, and with --debug the stack.
 */
export function describeError(err: unknown, debug: boolean): string {
  if (!(err instanceof Error)) return `lumora-keeper: ${oneLine(String(err))}`;
  const known =
    err instanceof UsageError ||
    err instanceof CliError ||
    err instanceof DataDirLockedError ||
    exitCodeOf(err) === EXIT_USAGE;
  if (known)
    return err.message
      .split("\n")
      .map((l) => `lumora-keeper: ${stripEthersDetails(l)}`)
      .join("\n");
  if (debug) return `lumora-keeper: ${err.stack ?? err.message}`;
  const text = describeEthersError(err) ?? `${err.name}: ${oneLine(stripEthersDetails(err.message))}`;
  return `lumora-keeper: ${text} (run with --debug for details)`;
}
