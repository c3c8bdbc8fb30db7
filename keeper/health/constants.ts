/**
 * Health tunables (failure detector: k missed heartbeats, see docs/PROTOCOL.md "Health").
 */
export const HEALTH_PROTOCOL = "/lumora/health/1.0.0";
/** Both messages are 4 varints (≤ 10 bytes each + tags): 64 bytes bounds them with room. */
export const MAX_HEALTH_MESSAGE_BYTES = 64;
/** One heartbeat per peer every 5 s: cheap (one stream, ~40 bytes) and detects a crash in ~15 s. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A heartbeat not acknowledged within this is missed (well above any WAN RTT). */
export const HEARTBEAT_TIMEOUT_MS = 2_000;
/** Consecutive missed heartbeats before a peer is declared failed: 3 tolerates two lost packets/GC pauses
 * while bounding detection to ≤ k·interval + timeout. */
export const MISSED_HEARTBEATS_TO_FAIL = 3;
/** Concurrent heartbeat streams one peer may open to us (one per interval is the protocol). */
export const HEALTH_MAX_INBOUND_STREAMS = 2;
export const HEALTH_MAX_OUTBOUND_STREAMS = 2;
/** Sanity bound on advertised task counts. */
export const MAX_TASKS = 1_000_000;
