/**
 * Tunables of the keepers' signed health observations (docs/epochs.md "Reputation reports"), each once, with its
 * unit and reason.
 */

const second = 1000;

/**
 * f of the merge rule: how many lying observers the merged outcome of a peer withstands. A peer's outcome is the
 * one with the (f+1)-th highest failure ratio among the keepers that observed it, so at least f+1 observers saw it
 * at least that bad; a peer fewer than f+1 keepers observed gets no report. Unless configured, f follows the
 * quorum's size n (merge.ts `maxFaultyFor`): 0 for one keeper, else max(1, ⌊(n−1)/3⌋). This value is the fallback
 * before the quorum's size was read: 1 means one keeper's word alone never moves a Reputation report (the point of
 * signing them).
 */
export const DEFAULT_MAX_FAULTY_OBSERVERS = 1;

/**
 * How long a close waits for the other keepers' observations of the epoch it froze. Keepers close at the same
 * cron tick, seconds apart; 30 s covers a slow close and bounds what a keeper that never closes costs.
 */
export const OBSERVATION_GATHER_WAIT_MS = 30 * second;

/** Wait before asking again a keeper that has not frozen the epoch yet or could not be reached. */
export const OBSERVATION_RETRY_MS = 500;

/** Largest peer id accepted as a subject (a base58 Ed25519 or secp256k1 peer id is 52–53 characters). */
export const MAX_SUBJECT_CHARS = 128;

/**
 * Failed pulls (unreachable, timed out, broke the protocol — anything but "not frozen yet") after which a close
 * stops waiting for a keeper: a keeper that is down should not cost every close the whole wait.
 */
export const OBSERVATION_MAX_FAILED_PULLS = 3;

/**
 * Most observations one observer may sign for one epoch: one per peer it counted. A keeper counts the peers it
 * probed (one probe every 2 s: 1,800 an hour), audited and coordinated tasks with; 16,384 distinct peers in an
 * hourly epoch is far above that. Past it the observer's extra observations are ignored, and a pull is bounded by
 * the quorum's size times this (5 keepers: 81,920 entries, ~30 MB of JSON) instead of the exchange's page limits
 * (about a million entries).
 */
export const MAX_OBSERVATIONS_PER_OBSERVER = 16_384;

/**
 * Most observations one refusal of a union round hands back (docs/epochs.md "Union rounds"): what the approver holds
 * and the submitter's set lacks. A set misses a keeper's observations when the gather missed that keeper — one per
 * peer it counted, usually tens — so 2,048 (about 0.8 MB of JSON) covers a missed keeper of a large network in one
 * round and bounds what a refusal costs its reader; what does not fit comes in the next round.
 */
export const MAX_UNION_OBSERVATIONS = 2048;

/** Most observations of one observer in one refusal: one observer's many cannot crowd out the others'. */
export const MAX_UNION_OBSERVATIONS_PER_OBSERVER = 1024;

/**
 * Signatures `check` verifies between two yields to the event loop (review M-2). One verification took up to ~17 ms
 * on a loaded machine (600 in 10 s), so 16 hold the loop for at most ~0.3 s there, and a few ms on an idle one;
 * observations the approver already holds byte-identical are not verified again at all.
 */
export const OBSERVATION_VERIFY_BATCH = 16;
