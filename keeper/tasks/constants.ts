/**
 * Task manager tunables. Every default is applied as `init.x ?? DEFAULT_X`; the comment says why.
 */
const second = 1000;

/**
 * Attempts per task (first assignment + reassignments) before it fails. Three = the primary and the two
 * default backups (routing's DEFAULT_BACKUPS), each tried once.
 */
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Longest one attempt may run before it is abandoned and the task reassigned (ms). Also capped by the task's
 * deadline. 30 s covers a multi-part transfer of tens of MiB on a slow link without holding a dead executor
 * for long.
 */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 30 * second;

/**
 * Most tasks assigned in one tick (one store transaction). 4096 keeps a tick under a few milliseconds, so
 * completions and network I/O interleave, while amortising the transaction's fsync over many assignments.
 */
export const DEFAULT_MAX_ASSIGN_PER_TICK = 4096;

/**
 * Consecutive tasks that found no eligible node before a tick stops trying (the network is likely full;
 * the rest wait for a completion or a new node instead of being scanned again and again).
 */
export const MAX_UNPLACED_PER_TICK = 64;

/**
 * How often queued tasks are re-examined without any other event (ms): expires tasks whose deadline passed and
 * retries placement after capacity appeared through node updates the manager was not told about.
 */
export const DEFAULT_SWEEP_INTERVAL_MS = 1 * second;

/** Largest accepted task size (bytes): TaskLog's bytesMoved is a uint64, JS integers are exact to 2^53. */
export const MAX_TASK_SIZE = Number.MAX_SAFE_INTEGER;
