/**
 * Health tunables: SWIM failure detection (docs/PROTOCOL.md §3). Each is settable under `health` in the
 * operator config; the defaults are memberlist's WAN-leaning choices scaled for a keeper on the open internet.
 */
const second = 1_000;

export const HEALTH_PROTOCOL = "/lumora/health/2.0.0";
/** Piggybacked updates per Probe/Ack: bounds every message (8 × ≤ 80 bytes) whatever the network's size. */
export const MAX_UPDATES_PER_MESSAGE = 8;
/** A binary peer id is a multihash: 38 bytes for Ed25519 identity ids, 34 for sha256 ids; 64 leaves room. */
export const MAX_PEER_ID_BYTES = 64;
/** 8 updates of ≤ 80 bytes plus the probe's own ≤ 110 bytes: 1 KiB bounds a message with room. */
export const MAX_HEALTH_MESSAGE_BYTES = 1_024;
/** One probe per period: 2 s keeps a keeper's probe traffic at 0.5 message/s whatever N is. */
export const DEFAULT_PROBE_PERIOD_MS = 2 * second;
/** A direct probe not acknowledged within this has failed (well above any WAN RTT plus stream setup). */
export const DEFAULT_PROBE_TIMEOUT_MS = 1 * second;
/** Members asked to probe a silent target for us (SWIM's k): 3 rides out one bad path with little traffic. */
export const DEFAULT_INDIRECT_PROBES = 3;
/** Suspicion lasts suspicionMult · max(1, log10 N) · period before the verdict (memberlist's formula):
 * long enough for a live member to hear the suspicion and refute, growing slowly with the network. */
export const DEFAULT_SUSPICION_MULT = 4;
/** Each update rides on retransmitMult · ⌈log10(N + 1)⌉ messages (memberlist's default multiplier). */
export const DEFAULT_RETRANSMIT_MULT = 4;
/** Relayed probes (ping-req) in flight at once for all requesters: a member cannot make us do more. */
export const DEFAULT_MAX_RELAYS_IN_FLIGHT = 8;
/** Relayed probes per second (token bucket, burst = the same number): a steady network needs about k per failed probe. */
export const DEFAULT_RELAYS_PER_SECOND = 8;
/** Concurrent health streams one peer may open to us: a probe and a ping-req can overlap. */
export const HEALTH_MAX_INBOUND_STREAMS = 4;
export const HEALTH_MAX_OUTBOUND_STREAMS = 4;
/** Sanity bound on advertised task counts. */
export const MAX_TASKS = 1_000_000;
/** Incarnations are JavaScript integers on our side. */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER;
