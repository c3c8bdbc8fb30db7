/**
 * Routing tunables. Every default is applied as `init.x ?? DEFAULT_X`; the comment says why it is the default.
 */

/**
 * Weight α of the bandwidth term `B_i / B_max`. Bandwidth is what a provider sells, so it carries half of
 * the score; the two proximity terms share the other half.
 */
export const DEFAULT_ALPHA = 0.5;
/** Weight β of the proximity term `1 / P_i` (P_i in DHT hops). Fewer hops → fewer relays and failure points. */
export const DEFAULT_BETA = 0.25;
/** Weight γ of the latency term `1 / L_i` (L_i in milliseconds). Latency drives time-to-first-byte. */
export const DEFAULT_GAMMA = 0.25;

/**
 * `Number_of_Shards`. 16 keeps shards large enough (≥ 4 nodes from 64 nodes up) to hold a primary plus
 * backups in small networks while cutting the nodes each selection scans by 16× in large ones.
 */
export const DEFAULT_SHARDS = 16;

/** `k`, backups chosen next to the primary: two backups survive one failure during a reassignment. */
export const DEFAULT_BACKUPS = 2;

/**
 * Floor for the hop count P_i (hops). A measured 0 means the source itself; it counts as 1 hop, the best a
 * remote node can be, so `β / P_i` never exceeds β.
 */
export const MIN_PROXIMITY_HOPS = 1;

/**
 * Floor for the latency L_i, in milliseconds. Ping RTTs below 1 ms are timer noise on loopback/LAN (and a
 * measured 0 would divide by zero); flooring at 1 ms keeps `γ / L_i` ≤ γ, so no term can swamp the others.
 */
export const MIN_LATENCY_MS = 1;

/**
 * Milliseconds between two feeds of the routing table from discovery, proximity and Reputation's flags. Two
 * seconds follows load and RTT changes closely while costing a pass over the known records only.
 */
export const DEFAULT_ROUTING_REFRESH_MS = 2_000;

/**
 * Milliseconds a peer that failed at the connection level stays out of routing. Health re-admits it after:
 * 30 s is a few heartbeats, long enough that the next tasks do not try a dead executor first.
 */
export const UNREACHABLE_BACKOFF_MS = 30_000;

/** Milliseconds between reads of Reputation's flags: they change once per epoch at most, a minute spares the RPC. */
export const FLAG_REFRESH_MS = 60_000;
