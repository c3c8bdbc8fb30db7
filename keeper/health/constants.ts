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
/**
 * Entries of one state sync (push-pull), each ≤ 80 bytes: what fits next to the piggybacked updates within
 * MAX_HEALTH_MESSAGE_BYTES (the sender drops entries until it fits). Up to 12 members this is the whole view
 * (memberlist's full state); beyond, a sample that always holds the receiver's and the sender's own entries and
 * the members not alive first, so the cost of a sync stays constant in N.
 */
export const MAX_SYNC_ENTRIES = 12;
/**
 * A keeper runs one state sync every this many periods (10 s at T = 2 s), alternately with a random member it
 * holds failed (Serf's reconnect, every 20 s: the way back for members cut off by a partition, since failed
 * members are not in the probe rotation) and with a random live member (anti-entropy, memberlist's push-pull,
 * which runs every 30 s). When no member is failed, every sync is an anti-entropy one.
 */
export const DEFAULT_SYNC_EVERY_PERIODS = 5;
/**
 * State syncs a keeper serves per second for all members together (token bucket, burst = the same number);
 * beyond, a sync is answered as a plain probe. A steady network sends each keeper one sync per syncEveryPeriods
 * periods on average (0.1/s by default): 4/s leaves room for bursts and bounds what one member can make us do.
 */
export const DEFAULT_SYNCS_SERVED_PER_SECOND = 4;
/**
 * State syncs one member may have served: a member following the protocol syncs with us at most once a period
 * (one sync per period at most, each with a random member), so one a period with a burst of 2; beyond, it gets
 * plain probes and the shared budget above stays for the others.
 */
export const SYNCS_SERVED_PER_MEMBER_BURST = 2;
/** Members whose sync budget is tracked at once (idle ones first, then the oldest, make room). */
export const MAX_SYNC_BUDGET_MEMBERS = 1_024;
/** One probe per period: 2 s keeps a keeper's probe traffic at 0.5 message/s whatever N is. */
export const DEFAULT_PROBE_PERIOD_MS = 2 * second;
/** A direct probe not acknowledged within this has failed (well above any WAN RTT plus stream setup). */
export const DEFAULT_PROBE_TIMEOUT_MS = 1 * second;
/** Members asked to probe a silent target for us (SWIM's k): 3 rides out one bad path with little traffic. */
export const DEFAULT_INDIRECT_PROBES = 3;
/** Suspicion lasts suspicionMult · max(1, log10 N) · period before the verdict (memberlist's formula):
 * long enough for a live member to hear the suspicion and refute, growing slowly with the network. */
export const DEFAULT_SUSPICION_MULT = 4;
/**
 * Lifeguard's dynamic suspicion (memberlist's SuspicionMaxTimeoutMult): a suspicion no other member confirms
 * lasts up to this many times the suspicion timeout S above, falling to S as suspicionMult − 2 members confirm
 * it. A lone prober that is itself starved (a loaded box) then leaves a live member time to refute, while a
 * member that several keepers find silent is failed within S as before.
 */
export const DEFAULT_SUSPICION_MAX_MULT = 6;
/** Each update rides on retransmitMult · ⌈log10(N + 1)⌉ messages (memberlist's default multiplier). */
export const DEFAULT_RETRANSMIT_MULT = 4;
/** Lifeguard's local health: a keeper whose own probes go unanswered even by helpers, or that had to refute a
 * suspicion of itself, stretches its period and timeouts up to (1 + 8)× (memberlist's AwarenessMaxMultiplier)
 * instead of accusing healthy peers while it is the slow one. */
export const MAX_AWARENESS = 8;
/** Relayed probes (ping-req) in flight at once for all requesters: a member cannot make us do more. */
export const DEFAULT_MAX_RELAYS_IN_FLIGHT = 8;
/** Relayed probes per second (token bucket, burst = the same number): a steady network needs about k per failed probe. */
export const DEFAULT_RELAYS_PER_SECOND = 8;
/** Concurrent health streams one peer may open to us: a probe and a ping-req can overlap. */
export const HEALTH_MAX_INBOUND_STREAMS = 4;
export const HEALTH_MAX_OUTBOUND_STREAMS = 4;
/**
 * A member held failed this long is forgotten (memberlist reaps its dead the same way, Serf after its reconnect
 * timeout): it leaves the view, the reconnect syncs stop trying it, and memory stays bounded by the members
 * alive or recently failed. Ten minutes is 30 reconnect chances at the defaults (one every 2 · 5 periods of 2 s,
 * to a random failed member), enough for a restart or a short partition to heal first; a peer whose discovery
 * record is still valid is watched again by routing and comes back failed, as it left.
 */
export const DEFAULT_FORGET_FAILED_AFTER_MS = 10 * 60 * second;
/**
 * Forgotten members remembered (their incarnation only), so that one watched again comes back failed instead of
 * alive and is not failed (and counted) a second time. Bounded: the oldest go first, and none outlives a day,
 * the longest a discovery record may live (a peer seen after it has a fresh record and is new again).
 */
export const MAX_FORGOTTEN_MEMBERS = 4_096;
export const FORGOTTEN_MEMORY_MS = 24 * 60 * 60 * second;
/** Sanity bound on advertised task counts. */
export const MAX_TASKS = 1_000_000;
/** Incarnations are JavaScript integers on our side. */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER;
/**
 * Suspicions (or failures) of a member that other members' `alive` statements may clear before the member itself
 * speaks to us again: a liar repeating them delays a dead member's verdict by one suspicion at most.
 */
export const MAX_HEARSAY_CLEARS = 1;
