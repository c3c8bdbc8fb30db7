/**
 * How the claim commands end: a known failure (bad argument, unknown epoch, reverted transaction, damaged
 * publication) prints one clear line and sets exit code 1 instead of a stack trace; anything else is a bug
 * and propagates.
 */
import { EpochUnknownError } from "../keeper/epochs/collect/errors.ts";
import { PublishedEpochError, RemoteProofError } from "../keeper/epochs/proofs/errors.ts";
import {
  BondStateError,
  ClaimArgumentError,
  ClaimTransactionError,
  EpochNotPublishedError,
  InsufficientBalanceError,
} from "./errors.ts";

const KNOWN = [
  BondStateError,
  ClaimArgumentError,
  ClaimTransactionError,
  InsufficientBalanceError,
  EpochNotPublishedError,
  EpochUnknownError,
  PublishedEpochError,
  RemoteProofError,
];

export async function runCommand(command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (err) {
    if (
      !KNOWN.some((k) => err instanceof k) &&
      !(err instanceof Error && err.message.startsWith("no deployment record"))
    ) {
      throw err;
    }
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
