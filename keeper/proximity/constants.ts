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

/** Probe rounds: one every 10 s. A round pings at most PROBES_PER_ROUND peers, so a peer's RTT is refreshed every
 * 10 s up to 8 peers and every N/8 rounds beyond (every ~2 min at 100 keepers); α = 1/8 → ~8 samples to follow a
 * step. */
export const PROBE_INTERVAL_MS = 10_000;
/**
 * Peers pinged per round, those sampled longest ago first: a keeper's ping traffic stays constant in the
 * network's size (0.8 ping/s), as SWIM's does for health — pinging every peer every round cost O(N) per keeper,
 * O(N²) in the network (10 pings/s sent and 10 answered per keeper at 100 keepers).
 */
export const PROBES_PER_ROUND = 8;
/**
 * A peer is pinged only when its last RTT sample — a ping, or a direct health probe answered on an open connection
 * (`Proximity.observeRtt`; SWIM probes every member in turn anyway) — is older than this. Pinging the 8 peers
 * pinged longest ago every round whatever their age was most of an idle keeper's streams at 10 keepers (0.8 ping/s
 * sent and 0.8 answered, against 0.5 health probes); now a network small enough for health's rotation to reach
 * every member within 2 min sends no pings at all, and a large one only what health's rotation leaves stale.
 * At 100 keepers that rotation takes 200 s (one probe every 2 s), and at 2 min the pings were 1.0 of the 3.1
 * streams an idle keeper opened per second (bench:scale, 2026-12-01): 10 minutes covers a rotation up to 300
 * keepers, and an RTT that old is still what routing needs (L_i moves with the topology, not by the second).
 */
export const RTT_REFRESH_MS = 10 * 60_000;
/**
 * Hop-count lookups per round (each a DHT walk of ~α·log N requests), peers never measured first, then the
 * stalest: measuring every peer every HOP_REMEASURE_INTERVAL_MS cost N walks per 5 min per keeper (one every 3 s
 * at 100 keepers, each touching ~20 peers).
 */
export const HOP_LOOKUPS_PER_ROUND = 2;
/** A ping slower than this is a lost sample (and counts as a probe failure, not an RTT). */
export const PING_TIMEOUT_MS = 5_000;
/** Time budget for one hop-count lookup. */
export const HOP_LOOKUP_TIMEOUT_MS = 10_000;
/**
 * Hop counts change only with the topology: re-measure every 20 minutes. At 5 minutes the re-measures were the
 * largest DHT traffic of an idle keeper: N walks per 5 min (1.8 walks/min at 10 keepers, each a request to every
 * other; at 100 keepers the 2-per-round cap, 12 walks/min of ~20 requests each, 4 requests/s).
 */
export const HOP_REMEASURE_INTERVAL_MS = 20 * 60_000;
/** Peers probed in parallel per round. */
export const PROBE_CONCURRENCY = 8;
/**
 * Peers a keeper keeps measurements of (and chooses each round from): those it routes to are the keepers with a
 * signed record it is connected to, far fewer than this; the bound holds whatever the connection table holds.
 */
export const MAX_MEASURED_PEERS = 1_024;
