/**
 * Every tunable of the transfer module, once, with its unit and the reason for its default.
 */
const KiB = 1024;
const MiB = 1024 * KiB;
const second = 1000;

/** 2.0.0: the object id is the root of the part hashes (docs/PROTOCOL.md §7), no longer SHA-256 of the bytes. */
export const PROTOCOL = "/lumora/transfer/2.0.0";
/** Version carried in Hello; a provider refuses any other. */
export const PROTOCOL_VERSION = 2;

/** Default part size (bytes), chosen by `bench:transfer --sweep` (docs/transfer.md, "Yamux window and part
 * size"): 256 MiB to file from one source, 5 rounds at load 13–23, 512 KiB parts ran at 1.88× (1.06–3.07) the
 * 1 MiB ones in the same round, and both ends used ≈ 30 % less CPU per MiB (15 vs 21–23 ms); 256 KiB did as well
 * (1.7×) but doubles the per-part costs again (a voucher signature, a receipt entry, a checkpoint row per part),
 * and 4 MiB parts were slower (0.63–1.07×) with a consumer RSS of up to 287 MiB. AES-GCM and SHA-256 still run
 * on buffers far above the sizes where they slow down (8× slower at 4 KiB). Objects of more than
 * MAX_PARTS parts at this size get a larger one (defaultPartSize). */
export const DEFAULT_PART_SIZE = 512 * KiB;
/** Smallest accepted part size (bytes): below this the per-part overhead dominates. */
export const MIN_PART_SIZE = 16 * KiB;
/** Largest accepted part size (bytes): bounds the memory one in-flight part may take. */
export const MAX_PART_SIZE = 4 * MiB;
/** Most parts one object may have: bounds the manifest (34 bytes per part → ≤ 2.3 MB). 64 GiB at 1 MiB parts. */
export const MAX_PARTS = 65_536;

/** AES-GCM tag length (bytes). */
export const TAG_LENGTH = 16;
/** Slack above the largest part for protobuf field tags and lengths (bytes). */
const FRAME_OVERHEAD = 1 * KiB;
/** Largest frame either side may send or accept (bytes): a whole manifest or one sealed part. Checked on the
 * length prefix, before any of the body is buffered. */
export const MAX_FRAME_SIZE = Math.max(MAX_PART_SIZE + TAG_LENGTH, MAX_PARTS * 34 + 64) + FRAME_OVERHEAD;
/** Largest consumer frame (bytes): Hello or PartRequest are tiny; anything bigger is an attack. */
export const MAX_CONSUMER_FRAME_SIZE = 1 * KiB;
/** Longest varint length prefix (bytes): 5 covers 2^35 − 1, far above MAX_FRAME_SIZE. */
export const MAX_VARINT_LENGTH = 5;

/** Most part requests in flight to one provider session: enough to cover one round trip at loopback/LAN
 * speeds with 1 MiB parts while bounding the ciphertext buffered per provider to ≈ 4 MiB. */
export const DEFAULT_REQUESTS_PER_PROVIDER = 4;
/** Part requests kept in flight across all the providers of one fetch, when set (FetchInit.requestsInFlight):
 * by default there is no such cap, each active source has DEFAULT_REQUESTS_PER_PROVIDER, and sources are only
 * added when they raise throughput (keeper/transfer/sources.ts). Measured with the former scheduler, which gave
 * every source requests from the start (2-core machine, shared, load 10–14, 3 local providers, 128 MiB): 4 in
 * all → consumer 8.5–11 ms/MiB, 12 (4 per provider) → 24–28 ms/MiB; the bench still runs that scheduler with 4. */
export const SHARED_REQUESTS_IN_FLIGHT = 4;
/** A source is tried only while the consumer uses less than this much of a core (CPU time over wall time, libuv's
 * threads included): above it the consumer is the bottleneck, and more sources only add work and, on a machine
 * that also runs the providers, processes competing for its cores (docs/transfer.md, "Several sources"). */
export const SPREAD_BELOW_UTILIZATION = 0.8;
/** Above this utilisation with several sources active, the fetch tries one fewer. */
export const CONCENTRATE_ABOVE_UTILIZATION = 0.95;
/** A trial is kept when throughput rose (or, for one source fewer, did not fall) by this fraction: above what
 * noise gives over SOURCE_JUDGE_PARTS parts on a loaded machine (15 % still let a shared bottleneck's second source
 * be kept here at load ≈ 8), below what one more needed source adds (+50 % from 2 to 3). */
export const SOURCE_MIN_GAIN = 0.25;
/** Parts a rate is measured over (besides SOURCE_TRIAL_WINDOWS): ±1 part is ±6 %. */
export const SOURCE_JUDGE_PARTS = 16;
/** The scheduler decides once per window (ms): several parts at any useful speed, and a timer, so a stalled
 * source still ends a window. */
export const UTILIZATION_WINDOW = 50;
/** Adaptive sources open one provider at a time: the next is dialled when the one opening failed or has not
 * completed its handshake within this (ms). Loopback handshakes took 90–600 ms here at load 5–8; opening all three
 * at once delayed the first session by 130–340 ms against one (bench:transfer --sources, 19:42, load ≈ 8). */
export const SOURCE_OPEN_STAGGER = 1 * second;
/** Windows that measure the current set of sources before any decision (after one transition window). */
export const SOURCE_SETTLE_WINDOWS = 2;
/** Windows a trial is judged on (after one transition window): 150 ms, ≈ 18 parts at 125 MiB/s. */
export const SOURCE_TRIAL_WINDOWS = 3;
/** After a trial that did not pay, the next waits this many windows, doubled after each failed trial… */
export const SOURCE_BACKOFF_WINDOWS = 4;
/** …up to this many (3.2 s): a fetch whose sources cannot help spends ≤ 1 trial window in ≈ 20 at worst. */
export const SOURCE_MAX_BACKOFF_WINDOWS = 64;
/** An active source that delivered less than 1/this of the fastest active one's bytes over the trial windows is
 * slow: a spare takes its place. 4, not 2: sources of one fetch rarely deliver equal shares over 150 ms. */
export const SOURCE_SLOW_RATIO = 4;
/** A paying consumer signs a voucher once this many bytes of parts went unpaid on a session (and for the rest at the
 * end of the fetch), not after every part: a signature costs ≈ 3 ms here (docs/transfer.md, "Paying as data
 * arrives"), i.e. ≈ 6 ms per MiB at one per 512 KiB part, more than decrypting and hashing it. Capped at a quarter of
 * the allowance the provider's Welcome states (less the parts in flight), so a paying consumer is never cut off; at
 * the default allowance (16 MiB) the cap is above this. */
export const VOUCHER_EVERY_BYTES = 4 * MiB;
/** Parts allowed ahead of the in-order cursor of a stream fetch (whose reader takes the parts in order): bounds its
 * reorder buffer to this many parts (16 MiB at 512 KiB) whatever the number of providers. A fetch to a file writes
 * each verified part at its offset at once and holds none, so it has no such bound: there a source holding the part
 * the cursor waits for stopped every other source this many parts later, until that part arrived or timed out. */
export const DEFAULT_REORDER_WINDOW = 32;
/** Part writes to disk allowed in flight: when the disk is slower than the network, requests stop until
 * writes catch up, instead of verified parts piling up in memory (≈ 8 MiB at 1 MiB parts). */
export const DEFAULT_MAX_PENDING_WRITES = 8;
/** How long one part may take before its provider is dropped for the transfer (ms). */
export const DEFAULT_PART_TIMEOUT = 30 * second;
/** How long the Hello/Welcome handshake may take (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10 * second;
/** Verified progress is made durable (fdatasync + one store transaction) at least this often (bytes). An
 * fdatasync stalls the writes behind it (measured here: 32 MiB batches cut file throughput ≈ 40 %, 128 MiB
 * batches cost little), and a crash loses at most this much verified work, which is simply fetched again. */
export const DEFAULT_CHECKPOINT_BYTES = 128 * MiB;
/** …and at least this often (ms), so a slow transfer still checkpoints. */
export const DEFAULT_CHECKPOINT_INTERVAL = 5 * second;

/** Part requests a provider queues per session before refusing more: a well-behaved consumer keeps
 * DEFAULT_REQUESTS_PER_PROVIDER in flight; the cap bounds what a flooding consumer can make us buffer. */
export const MAX_PIPELINED_REQUESTS = 16;
/** Concurrent inbound transfer sessions a provider serves, over all connections. A session holds up to two
 * parts of memory (the read buffer and one sealed part waiting in the stream's send buffer): 64 × 2 × 1 MiB
 * bounds a full provider at ≈ 128 MiB whoever connects. Beyond it a Hello is answered BUSY. */
export const DEFAULT_MAX_INBOUND_SESSIONS = 64;
/** Concurrent inbound sessions per connection: a consumer opens one session per object it fetches from us,
 * so 8 covers parallel fetches while one connection cannot take the whole provider. */
export const DEFAULT_MAX_SESSIONS_PER_CONNECTION = 8;
/** How long one frame may wait for the consumer to read it (ms). A 1 MiB part at 1 Mbit/s takes ≈ 8 s; a
 * consumer drops a provider whose part takes DEFAULT_PART_TIMEOUT anyway, so waiting longer only lets a
 * consumer that stopped reading pin the session's memory and fd. */
export const DEFAULT_WRITE_TIMEOUT = 30 * second;
/** How long a session may sit with no part request queued (ms): a fetching consumer keeps requests in flight;
 * one that stops asking (or only sent a Hello) frees its slot after this. */
export const DEFAULT_IDLE_TIMEOUT = 30 * second;
/** How long DHT announcement of a published object may take before publish gives up on it (ms). */
export const DEFAULT_PROVIDE_TIMEOUT = 30 * second;

/** zstd level: level 1 compresses text at ≈ 350 MiB/s on one core here, well above the transfer budget. */
export const ZSTD_LEVEL = 1;
/** Bytes of a part compressed first to decide whether compressing the part pays. */
export const COMPRESSION_SAMPLE = 16 * KiB;
/** A part is compressed only if the sample shrinks below this ratio… */
export const COMPRESSION_SAMPLE_MAX_RATIO = 0.9;
/** …and sent compressed only if the whole part shrinks below this ratio (else the consumer's decompression
 * costs more than the bytes saved). */
export const COMPRESSION_MAX_RATIO = 0.95;

/** HKDF info prefix: separates transfer keys from any other use of the same X25519 secret. */
export const KEY_INFO = "lumora/transfer/2.0.0/key";
/** Domain separator signed in front of every receipt, versioned on its own (receipt format 2). Format 2 credits
 * the bytes a provider sent (`bytes` = ciphertext after compression), where format 1 ("lumora/transfer/1.0.0/
 * receipt") credited plaintext; a format-1 receipt no longer verifies, so no plaintext claim is ever credited. */
export const RECEIPT_DOMAIN = "lumora/transfer/receipt/2";
/**
 * Published objects held decoded in memory (most recently used); the rest are read from the store when asked for.
 * A manifest is ~1.8 KiB in memory, so the cache stays under ~2 MiB whatever a keeper serves.
 */
export const MAX_CACHED_OBJECTS = 1_024;
