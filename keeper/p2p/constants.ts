/**
 * Tunables of the libp2p layer. Units are in the names; every default says why.
 */
const second = 1000;
const minute = 60 * second;

/** Upper bound on open connections: a keeper talks to its shard, its k-buckets and a few transfer peers;
 * 300 leaves headroom for a 20-bucket table (6-bit prefix × 20) plus transfers without exhausting fds. */
export const MAX_CONNECTIONS = 300;

/** Inbound connections still in the handshake at once: limits the cost of a SYN/noise flood. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 32;

/** Inbound connections accepted per second from one IP (libp2p's own default). Loopback test networks,
 * where every peer shares 127.0.0.1, raise it through `LumoraNodeInit.inboundConnectionsPerHostPerSecond`. */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 5;

/** Concurrent DHT streams one peer may open to us: a query sends at most alpha (10) requests per peer;
 * 16 tolerates overlap between concurrent queries. */
export const DHT_MAX_INBOUND_STREAMS = 32;
export const DHT_MAX_OUTBOUND_STREAMS = 64;

/**
 * kad-dht refreshes every bucket of its routing table (a closest-peers walk per common-prefix length) and walks to
 * its own id every 5 minutes by default. Keepers learn each other through the directory exchange and SWIM, so the
 * table only has to stay roughly right for provider records and the fallback record GETs: at 20 keepers those two
 * walks were 0.88 of the 1.68 streams an idle keeper opened per second (bench:scale). Both run at start and then
 * every 30 minutes (go-libp2p refreshes its table every 10 minutes).
 */
export const DHT_TABLE_REFRESH_INTERVAL_MS = 30 * minute;
export const DHT_QUERY_SELF_INTERVAL_MS = 30 * minute;

/** Ping is one tiny stream per probe; 2 allows a probe from the DHT and one from proximity at once. */
export const PING_MAX_INBOUND_STREAMS = 2;
export const PING_MAX_OUTBOUND_STREAMS = 4;

/**
 * libp2p's connection monitor pings every open connection this often (its default is 10 s) and aborts a connection
 * whose ping fails. Failure detection is SWIM's job (keeper/health: constant traffic per keeper), so the monitor
 * only has to catch half-open connections; at 10 s it cost N ping streams per 10 s per keeper (10/s sent and
 * 10/s answered at 100 keepers) and, under CPU load, aborted live connections whose ping was slow — each abort a
 * disconnect that made health check the peer out of turn, and a reconnect (Noise handshake, identify).
 */
export const CONNECTION_MONITOR_INTERVAL_MS = 5 * minute;
/** Bootstrap: how often the routing table is checked and, if small, bootstrap peers are re-dialled. */
export const BOOTSTRAP_INTERVAL_MS = 30 * second;
/** Below this many routing-table entries we keep re-dialling bootstrap peers and walking the DHT:
 * one full k-bucket (k = 20) is what a lookup needs to converge. */
export const BOOTSTRAP_MIN_ROUTING_TABLE_SIZE = 20;
/** A re-bootstrap that did not grow the routing table doubles the ticks skipped before the next, up to this many
 * (10 min at 30 s): a network smaller than BOOTSTRAP_MIN_ROUTING_TABLE_SIZE is complete, not small, and walking it
 * twice a minute (two DHT lookups each) was most of an idle keeper's DHT traffic at 10 keepers. */
export const BOOTSTRAP_MAX_BACKOFF_TICKS = 20;
/** Per-dial timeout for a bootstrap peer; loopback/LAN dials take milliseconds, WAN well under 10 s. */
export const BOOTSTRAP_DIAL_TIMEOUT_MS = 10 * second;
/** Time budget for one random-walk lookup filling the routing table. */
export const BOOTSTRAP_WALK_TIMEOUT_MS = 30 * second;

/** How long a peer banned for a protocol violation stays banned. One hour bounds the damage of a false
 * positive while making a misbehaving peer's reconnect loop pointless. */
export const BAN_DURATION_MS = 60 * minute;
/** Bans held at once: ≈ 200 bytes each, so 10 000 bans cost ≈ 2 MB. Beyond it the oldest ban is forgotten — an
 * attacker minting identities gains nothing from that, since a fresh identity is unbanned anyway. */
export const MAX_BANS = 10_000;

/** Connections one IP address may hold: a host runs one keeper, or a handful behind one NAT; 16 leaves room for
 * that and for reconnects racing old connections, and makes one attacker host take 16 slots, not all. Loopback
 * test networks, where every peer is 127.0.0.1, raise it. */
export const MAX_CONNECTIONS_PER_IP = 16;
/** Connection slots only keepers (peers with a valid signed record) may take: a shard plus its backups and the
 * closest k-bucket, so a table filled by strangers still lets the network's keepers in. */
export const RESERVED_CONNECTIONS_FOR_KEEPERS = 64;
/** A stranger's connection with no stream for this long is closed (once the table is half full): identify,
 * DHT queries and transfers all keep streams open while they work, so two minutes without one is idleness. */
export const CONNECTION_IDLE_TIMEOUT_MS = 2 * minute;

/**
 * DHT provider records (other keepers' "I serve object X" announcements, and this keeper's own) held at once by the
 * libp2p datastore (keeper/p2p/datastore.ts). libp2p keeps them in memory for 48 h (its own records for ever, to
 * re-announce them), one per object published in the network when the network is smaller than k = 20: a
 * 20-keeper soak added ~3,700 an hour to every keeper. ≈ 0.5 KiB each, so 8,192 cost ≈ 4 MiB; beyond it the
 * oldest written goes first (a re-announcement rewrites a record and makes it the newest). Transfers name their
 * providers, so a forgotten record costs a DHT lookup of an old object its answer, not a transfer.
 */
export const MAX_PROVIDER_RECORDS = 8_192;
