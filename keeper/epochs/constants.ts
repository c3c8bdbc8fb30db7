/**
 * Tunables of the epoch close, schedule and hand-over, each once, with its unit and the reason for its default
 * (the submodules have their own constants files).
 */

const second = 1000;
const minute = 60 * second;

/** Default close schedule: hourly, on the hour. Long enough that an epoch's commit gas is amortised over many
 * receipts, short enough that providers see their rewards the same day. The demo uses a seconds expression. */
export const DEFAULT_EPOCH_CRON = "0 * * * *";

/** Retry cadence of an epoch hand-over that failed (RPC down, pool underfunded, previous epoch missing). */
export const SETTLE_RETRY_MS = 30 * second;

/** A hand-over failing for this long is an alarm (logged as an error once, shown by `status`). */
export const STALL_ALARM_MS = 10 * minute;

/** Milliseconds an operator's close waits for the chain to be usable before it says why not (never hangs on it). */
export const CHAIN_READY_WAIT_MS = 8_000;

/** Recent epochs whose RewardPool status the operator's view reads after each chain check. */
export const CHAIN_EPOCHS_SHOWN = 20;

/**
 * Blocks per log query when adoption looks for the quorum's approval of an epoch (adopt.ts): within the block range
 * public RPC providers allow for `eth_getLogs`.
 */
export const APPROVAL_LOG_WINDOW = 5_000;
