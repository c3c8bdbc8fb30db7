/** Tunables of the operator CLI. */

/** Publishing hashes the whole file before the keeper answers: generous, a large file takes a while. */
export const PUBLISH_TIMEOUT_MS = 10 * 60_000;
/** A write the keeper answers at once (queueing a task). */
export const WRITE_TIMEOUT_MS = 15_000;
/** `transfer --wait` polls the task this often: live enough for a person, negligible for the keeper. */
export const WAIT_POLL_MS = 500;
