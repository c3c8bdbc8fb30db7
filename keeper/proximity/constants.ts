/**
 * Proximity tunables. RTT smoothing follows RFC 6298 §2 exactly.
 */
/** RFC 6298 gains: SRTT ← (1−α)·SRTT + α·R, RTTVAR ← (1−β)·RTTVAR + β·|SRTT − R|. */
export const RTT_ALPHA = 1 / 8;
export const RTT_BETA = 1 / 4;
/** RFC 6298 K: RTO = SRTT + max(G, K·RTTVAR). */
export const RTO_K = 4;
/** Clock granularity G (ms): performance.now() is sub-millisecond, 1 ms is a safe floor. */
export const CLOCK_GRANULARITY_MS = 1;

/** Probe cadence per peer: every 10 s costs one 32-byte ping each way, and tracks load changes within
 * a few samples (α = 1/8 → ~8 samples to follow a step). */
export const PROBE_INTERVAL_MS = 10_000;
/** A ping slower than this is a lost sample (and counts as a probe failure, not an RTT). */
export const PING_TIMEOUT_MS = 5_000;
/** Time budget for one hop-count lookup. */
export const HOP_LOOKUP_TIMEOUT_MS = 10_000;
/** Hop counts change only with the topology: re-measure every 5 minutes. */
export const HOP_REMEASURE_INTERVAL_MS = 5 * 60_000;
/** Peers probed in parallel per round. */
export const PROBE_CONCURRENCY = 8;
