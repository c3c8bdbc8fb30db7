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

// Admission (admission.ts): what one requester may ask of this executor. Each default is generous for honest
// coordinators and bounds what a single registered peer can make this keeper store or hold.
/** Largest object one task may move: 4 GiB (larger objects are split by their publisher). */
export const DEFAULT_MAX_OBJECT_BYTES = 4 * 1024 ** 3;
/** Furthest deadline a request may set: 30 minutes (the coordinator's default attempt is 2). */
export const DEFAULT_MAX_DEADLINE_MS = 30 * 60_000;
/** Tasks one requester may have running here at once. */
export const DEFAULT_MAX_TASKS_PER_REQUESTER = 4;
/** Bytes one requester may have in flight here: 8 GiB. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT_PER_REQUESTER = 8 * 1024 ** 3;
/** A requester or provider without a record is not looked up again for this long (no lookup amplification). */
export const UNKNOWN_PEER_TTL_MS = 60_000;
/** Unknown peers remembered at most (oldest forgotten first). */
export const MAX_UNKNOWN_PEERS = 10_000;
/** Milliseconds a transfer requested without a deadline has to finish: two minutes fit a large object on a slow link. */
export const DEFAULT_TRANSFER_DEADLINE_MS = 120_000;
/** Priority of a transfer requested without one (higher runs first). */
export const DEFAULT_TRANSFER_PRIORITY = 1;
