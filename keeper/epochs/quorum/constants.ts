/**
 * Tunables of the keeper quorum's signature exchange (`/lumora/epoch-sign/1.0.0`), each once, with its unit and
 * reason.
 */

import { MAX_UNION_OBSERVATIONS } from "../observe/constants.ts";

const second = 1000;

/**
 * A request: the commitment's nine fields as JSON (~600 bytes) plus a task URI of at most MAX_TASK_URI_BYTES. 2 KiB
 * holds that with room and keeps what a registered keeper can make another buffer tiny.
 */
export const MAX_SIGN_REQUEST_BYTES = 2048;

/** An answer: an address and a 65-byte signature in hex (~200 bytes), or a short error. */
export const MAX_SIGN_RESPONSE_BYTES = 512;

/**
 * A refusal of a union round: the short error plus at most MAX_UNION_OBSERVATIONS observations (observe/constants.ts)
 * of about 400 bytes of JSON each (subject ≤ 128 characters: at most ~480). 512 bytes each and one answer's room
 * bound what one refusal costs the submitter to read (~1 MiB).
 */
export const MAX_SIGN_REFUSAL_BYTES = MAX_SIGN_RESPONSE_BYTES + MAX_UNION_OBSERVATIONS * 512;

/** Longest TaskLog URI a keeper signs: a CID or URL is far shorter; the bound keeps requests small. */
export const MAX_TASK_URI_BYTES = 512;

/**
 * One request to one keeper, dial included. A keeper answers from the epoch it built (its store), in well under a
 * second; 10 s tolerates a loaded machine without holding a gather up for long.
 */
export const SIGN_REQUEST_TIMEOUT_MS = 10 * second;

/**
 * How long a submitter gathers signatures before it gives up for this attempt (the rotation retries it). Keepers
 * close an epoch at the same cron tick, seconds apart; two minutes covers a slow close and stays far inside the
 * takeover deadline (10 minutes), so a backup keeper still takes over from a submitter that cannot reach a quorum.
 */
export const SIGNATURE_GATHER_TIMEOUT_MS = 120 * second;

/** Wait before asking again a keeper that has not closed the epoch yet or could not be reached. */
export const SIGN_RETRY_MS = 2 * second;

/** How long a peer that is not a registered keeper may take to send its one frame before it is refused. */
export const STRANGER_READ_TIMEOUT_MS = 1 * second;
