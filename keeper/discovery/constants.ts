/**
 * Tunables of discovery. Units are in the names; every default says why.
 */
const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

/** DHT key namespace of peer records: `/lumora-peer/<base58btc peer id>`. */
export const PEER_RECORD_NAMESPACE = "lumora-peer";

/** Domain separation for the record signature, so a signature made for another protocol never verifies here. */
export const PEER_RECORD_SIGNING_DOMAIN = "/lumora/peer-record/1.0.0";

/** Largest signed record accepted: 16 addrs × ≤ 64 bytes + key + signature + fields fit in 2 KiB with room. */
export const MAX_SIGNED_RECORD_BYTES = 4096;
export const MAX_RECORD_ADDRS = 16;
export const MAX_MULTIADDR_BYTES = 256;
/** Sanity bounds of the advertised fields (a record outside them is a lie or a bug). */
export const MAX_CAPACITY_TASKS = 1_000_000;
export const MAX_SHARD = 65_535;
export const MAX_BANDWIDTH_BPS = Number.MAX_SAFE_INTEGER;
export const REWARD_ADDRESS_BYTES = 20;

/** How long a published record lives. One hour: long enough to survive a short republish outage, short
 * enough that a departed node vanishes from directories within the hour. */
export const RECORD_TTL_MS = 1 * hour;
/** Records claiming to live longer than this (from now) are rejected: stops a node from pinning stale
 * capabilities for days. */
export const MAX_RECORD_TTL_MS = 24 * hour;
/** Clock skew tolerated between nodes for issued_at in the future and for the TTL bound. */
export const MAX_CLOCK_SKEW_MS = 5 * minute;

/** Republish well before expiry (a third of the TTL) so two republishes may fail before the record lapses. */
export const REPUBLISH_INTERVAL_MS = 20 * minute;
/** How often the directory walks the DHT for new nodes and refreshes records nearing expiry. */
export const DIRECTORY_REFRESH_INTERVAL_MS = 1 * minute;
/**
 * The refresh's random DHT walk (looking for keepers beyond the routing table and the connected peers) is skipped
 * while walks find nobody new: a walk that found no peer without a record here doubles the refresh ticks skipped
 * before the next, up to this many (8 min at 1 min); one that finds someone new resets it. In a network whose
 * keepers all hold each other's records the walk was a DHT request to every peer every minute from every keeper
 * (with the peer-store merges and routing-table updates of each answer), for nothing. Newcomers are still found
 * at once: they connect, identify, and their record is fetched (lookups.ts); records nearing expiry are still
 * refreshed every tick.
 */
export const DIRECTORY_WALK_MAX_BACKOFF_TICKS = 8;
/** Parallel record fetches during a refresh: each GET already fans out to alpha peers; 4 keeps a refresh
 * of a whole directory from flooding small networks (measured: 10 × 10 parallel GETs on 10 nodes time out). */
export const DIRECTORY_FETCH_CONCURRENCY = 4;
/** Time budget for one record fetch (a DHT GET converges in ~1 s on loopback, seconds on WAN). */
export const RECORD_FETCH_TIMEOUT_MS = 10 * second;
/** Valid copies of a record collected before a fetch stops: a fresher copy exists on most of the k closest
 * peers after a publish, so 3 agreeing copies make a stale answer unlikely while keeping fetches fast. */
export const RECORD_GET_QUORUM = 3;
/** Time budget for one publish (PUT to the k closest peers). */
export const RECORD_PUBLISH_TIMEOUT_MS = 30 * second;

/** Budget of the one DHT lookup an unknown requester or provider of a task costs (execution/admission.ts). */
export const ADMISSION_LOOKUP_TIMEOUT_MS = 3_000;
/** Every Lumora protocol id starts with this; identify's protocol list tells keepers from strangers. */
export const LUMORA_PROTOCOL_PREFIX = "/lumora/";
/** Record lookups of newly identified peers, per second: a lookup is a network-wide DHT GET, so its rate is
 * fixed whatever the number of peers connecting. 2/s finds a whole 100-keeper network within a minute. */
export const RECORD_LOOKUP_RATE_PER_SECOND = 2;
/** Lookups that may start at once after a quiet period (a keeper joining sees its bootstrap peers at once). */
export const RECORD_LOOKUP_BURST = 8;
/** Identified peers waiting for a lookup; beyond it they are dropped (the periodic refresh finds real keepers). */
export const RECORD_LOOKUP_MAX_QUEUE = 256;
/** Lookups running at once (each GET already fans out to alpha peers). */
export const RECORD_LOOKUP_CONCURRENCY = 2;
/**
 * A peer whose record was not found is not looked up again on identify for this long. A keeper often connects a
 * moment before its record is published, so a minute (the lookup rate still bounds what strangers cost).
 */
export const RECORD_LOOKUP_RETRY_AFTER_MS = 1 * minute;
/**
 * A connected peer whose record was not found is looked up again after 5 s and after 20 s more (through the same
 * rate limit) before the minute above applies: a keeper that connected just before publishing is known within
 * seconds. A stranger claiming a Lumora protocol costs at most three lookups per connection, at the fixed rate.
 */
export const RECORD_LOOKUP_RETRY_DELAYS_MS: readonly number[] = [5 * second, 20 * second];

/**
 * The directory exchange (`exchange.ts`, docs/PROTOCOL.md §4a): push-pull anti-entropy of signed records between
 * two keepers, as memberlist's push-pull state sync. A newcomer learns the whole directory from one keeper it
 * connects to, and its own record spreads epidemically through the periodic syncs, without a DHT walk or GET.
 */
export const DIRECTORY_PROTOCOL = "/lumora/directory/1.0.0";
/** Digest entries in one message: the directory's cap (a sender holds at most this many records to describe). */
export const DIRECTORY_MAX_DIGEST_ENTRIES = 4096;
/** Records in one message: 256 records of the usual ~0.5 KiB fill an eighth of a message; the rest of a large
 * directory follows in the next exchanges. A message with more is a protocol violation (§2). */
export const DIRECTORY_MAX_RECORDS_PER_MESSAGE = 256;
/** Largest message, checked from the length prefix: 4096 digest entries (~55 B each) and 256 records fit. */
export const DIRECTORY_MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * Signatures verified per received message: the rest (records newer than ours beyond it) are skipped, counted,
 * and come in a later exchange. An Ed25519 verification costs ~0.1 ms; 128 bound one message's CPU to ~15 ms.
 */
export const DIRECTORY_MAX_VERIFIED_PER_MESSAGE = 128;
/** Records of a message that fail verification harmlessly (expired, clocks apart) before the rest of the message
 * goes unverified: a pre-signed stale record repeated must not buy 128 signature checks a message for free. */
export const DIRECTORY_MAX_INVALID_PER_MESSAGE = 8;
/** Longest peer id in a digest entry (an Ed25519 peer id is 38 bytes; RSA ones up to ~40 as hashes): longer is a
 * violation, checked before any entry is used (an entry's id is base58-encoded, quadratic in its length). */
export const DIRECTORY_MAX_PEER_ID_BYTES = 64;
/** How long a responder waits for message 1 (a stream opened and left silent holds a serving slot until then). */
export const DIRECTORY_FIRST_MESSAGE_TIMEOUT_MS = 2 * second;
/** Whole exchange, both sides (three messages on loopback take a few ms; a loaded WAN keeper a second or two). */
export const DIRECTORY_EXCHANGE_TIMEOUT_MS = 10 * second;
/** Longest wait for the next message of an exchange. */
export const DIRECTORY_IDLE_TIMEOUT_MS = 5 * second;
/**
 * Records learned from third parties (relayed in an exchange) are kept up to this many in the directory; beyond
 * it relayed newcomers are dropped and counted.
 */
export const MAX_DIRECTORY_RECORDS = 4096;
/**
 * A peer's own record, handed over by itself, is taken beyond the cap of relayed records (MAX_DIRECTORY_RECORDS)
 * by up to this fraction of it more (1024 at the default): a newcomer connecting to us is still learned when
 * relayed records filled the directory, while identities that connect one after another to hand over their
 * records cannot grow it without bound.
 */
export const DIRECTORY_DIRECT_HEADROOM = 0.25;
/** How long the answer of `relayable` (a record's bond, when a registry is read) is reused for a record. */
export const DIRECTORY_RELAYABLE_CACHE_MS = 10 * second;
/** Periodic sync: one exchange with one random connected keeper this often (jittered ±25%). Push-pull doubles
 * the keepers holding a new record each round, so a newcomer is everywhere in O(log N) rounds. */
export const DIRECTORY_SYNC_INTERVAL_MS = 5 * second;
/** Exchanges served to one peer: one per this interval on average (burst 2: the identify exchange and a sync). */
export const DIRECTORY_SERVE_PER_PEER_INTERVAL_MS = 2 * second;
export const DIRECTORY_SERVE_PER_PEER_BURST = 2;
/** Peers whose serving budget is tracked at once (the idle ones forgotten first). */
export const DIRECTORY_SERVE_MAX_PEERS = 4096;
/** Exchanges served per second, whoever asks (burst the same); over it the stream is reset and counted. */
export const DIRECTORY_SERVED_PER_SECOND = 8;
/** Exchanges served at once. */
export const DIRECTORY_MAX_SERVING = 4;
/** Exchanges this keeper starts at once (identify and periodic), and identified peers waiting for one. */
export const DIRECTORY_EXCHANGE_CONCURRENCY = 2;
export const DIRECTORY_EXCHANGE_MAX_QUEUE = 256;
/** An identified peer is not exchanged with again on identify within this long (reconnects, identify-push). */
export const DIRECTORY_EXCHANGE_PEER_INTERVAL_MS = 10 * second;
/** Streams of the protocol per connection, each way (one exchange at a time, one spare). */
export const DIRECTORY_MAX_STREAMS = 2;
