/** Protocol id of task execution between a coordinator and an executor. */
export const TASK_PROTOCOL = "/lumora/task/1.0.0";
/** Largest frame of the protocol: a request with 16 providers of ≤ 512 bytes fits with room to spare. */
export const MAX_TASK_MESSAGE_BYTES = 16 * 1024;
/** Providers a request may name: more would not speed a transfer up on a 2-core keeper. */
export const MAX_PROVIDERS = 16;
/** Longest provider address accepted (a multiaddr with a /p2p suffix is far shorter). */
export const MAX_PROVIDER_BYTES = 512;
/** Longest task id (UTF-8 bytes). */
export const MAX_TASK_ID_BYTES = 128;
/** Longest error text sent back. */
export const MAX_ERROR_BYTES = 512;
/** An executor answers TaskAccepted within this, or the coordinator gives up on it. */
export const ACCEPT_TIMEOUT_MS = 5_000;
/** Concurrent tasks an executor runs when its capacity is not given. */
export const DEFAULT_MAX_CONCURRENT_TASKS = 8;
/** `TaskResult.code` of a failure because the executor reached no provider. */
export const NO_LIVE_PROVIDER_CODE = "NO_LIVE_PROVIDER";
/** Longest `TaskResult.code` accepted. */
export const MAX_CODE_BYTES = 64;
/** Milliseconds a transfer requested without a deadline has to finish: two minutes fit a large object on a slow link. */
export const DEFAULT_TRANSFER_DEADLINE_MS = 120_000;
/** Priority of a transfer requested without one (higher runs first). */
export const DEFAULT_TRANSFER_PRIORITY = 1;
