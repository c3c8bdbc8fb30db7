/**
 * Tunables of the epoch submission and the submitter rotation, each once, with its unit and reason.
 */

const second = 1000;
const minute = 60 * second;

/**
 * Nodes per Reputation.applyReports transaction. A new node costs ≈ 30k gas (one fresh slot + one event), a
 * known one ≈ 12k: 500 nodes stay under ~15M gas, half of Polygon's and Hardhat's 30M block limit, so a batch
 * always fits a block with room for other traffic.
 */
export const REPUTATION_BATCH_NODES = 500;

/** Concurrent `nodeOf` reads when re-checking which nodes a crashed or rival submission already reported. */
export const REPUTATION_READ_CONCURRENCY = 32;

/**
 * How long after an epoch closes the next keeper in the rotation takes over from a silent submitter (and the one
 * after it, twice as long, …). Ten minutes is many times a healthy submission (seconds to a minute) and short
 * against the 6-hour challenge window, so a takeover still leaves the guardian time to look at the roots.
 */
export const TAKEOVER_DEADLINE_MS = 10 * minute;

/** How often a waiting keeper re-reads the chain to see whether the epoch was submitted. */
export const TURN_POLL_MS = 15 * second;

/** Wait before retrying an epoch that could not be submitted (pool underfunded, RPC down, previous epoch open). */
export const SUBMIT_RETRY_MS = 1 * minute;

/** C of the single leaf of an empty epoch's reward marker, whose account is the pool itself (docs/epochs-chain.md). */
export const MARKER_CONTRIBUTION = 1n;

/** R_total of an empty epoch's marker, in the token's smallest unit: the least the pool accepts. */
export const MARKER_REWARD_WEI = 1n;

/** TaskLog URI of an empty epoch's marker. */
export const MARKER_URI = "lumora:empty-epoch";

/**
 * Union rounds per epoch (docs/epochs.md "Union rounds"): how many times a submitter joins the observations the
 * keepers' refusals handed back, re-finalizes and asks again. One round settles sets that differ by missed keepers
 * (each refusal hands back all the approver holds and the set lacks, up to MAX_UNION_OBSERVATIONS); the others cover
 * a refusal cut at that bound. Past it the epoch waits for the rotation's next attempt like any refused quorum.
 */
export const MAX_UNION_ROUNDS = 3;
