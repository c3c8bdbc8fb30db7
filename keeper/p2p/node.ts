/**
 * The keeper's libp2p node: TCP, noise, yamux, identify, ping and kad-dht in server mode under Lumora's
 * private protocol prefix — it never joins the public IPFS DHT.
 *
 * This is the stable entry point other modules build on (`createLumoraNode`); DHT validators/selectors for
 * Lumora's record namespaces are passed in by the discovery module.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux, type YamuxMuxerInit } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify, type Identify } from "@libp2p/identify";
import type { ConnectionGater, PeerId, PrivateKey } from "@libp2p/interface";
import {
  kadDHT,
  passthroughMapper,
  removePrivateAddressesMapper,
  type KadDHT,
  type SelectFn,
  type ValidateFn,
} from "@libp2p/kad-dht";
import { ping, type Ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p, type Libp2p } from "libp2p";

import {
  CONNECTION_MONITOR_INTERVAL_MS,
  DHT_QUERY_SELF_INTERVAL_MS,
  DHT_TABLE_REFRESH_INTERVAL_MS,
  DHT_MAX_INBOUND_STREAMS,
  DHT_MAX_OUTBOUND_STREAMS,
  INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
  MAX_INCOMING_PENDING_CONNECTIONS,
  PING_MAX_INBOUND_STREAMS,
  PING_MAX_OUTBOUND_STREAMS,
} from "./constants.ts";
import { KeeperDatastore } from "./datastore.ts";
import { BanList, createConnectionGater, type AddressPolicy } from "./gater.ts";
import { ConnectionLimits, type ConnectionLimitsInit } from "./limits.ts";
import type { Logger } from "../logger.ts";

export const DHT_PROTOCOL = "/lumora/kad/1.0.0";

export type LumoraServices = { identify: Identify; ping: Ping; dht: KadDHT };
export type LumoraNode = Libp2p<LumoraServices>;

export interface LumoraNodeInit {
  /** DHT provider records held at once (KeeperDatastore). Default MAX_PROVIDER_RECORDS. */
  maxProviderRecords?: number;
  /** The node's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey;
  /** Listen multiaddrs. Default: one TCP port on 127.0.0.1 chosen by the OS. */
  listen?: string[];
  /** Addresses to advertise instead of the observed ones (a keeper behind NAT with a forwarded port). */
  announce?: string[];
  /** Keep loopback/private addresses in DHT peer info (needed on 127.0.0.1 networks; off on public nets). */
  allowPrivateAddresses?: boolean;
  /** DHT record validators/selectors keyed by namespace (the first path segment of the key). */
  validators?: Record<string, ValidateFn>;
  selectors?: Record<string, SelectFn>;
  /** Connection limits. */
  maxConnections?: number;
  /** Per-IP cap, slots reserved for keepers, idle reaping (limits.ts); `maxConnections` above wins if both set. */
  limits?: ConnectionLimitsInit;
  /** Whether a peer is a keeper (a valid signed record in discovery): keepers may use the reserved slots and are
   * never reaped as idle. Default: nobody is, so strangers simply never get the reserved slots. */
  isKeeper?: (peerId: string) => boolean;
  /** Where refusals and bans are logged (rate-limited). */
  logger?: Logger;
  /** Inbound connection rate limit per remote IP; raise it on loopback networks where all peers share one IP. */
  inboundConnectionsPerHostPerSecond?: number;
  /** Peers banned for protocol violations: refused by the gater and hung up on when banned. */
  bans?: BanList;
  /** CIDR ranges to deny / exclusively allow (dials and inbound connections). */
  addressPolicy?: AddressPolicy;
  /** Replaces the gater built from `bans` and `addressPolicy` entirely. */
  connectionGater?: ConnectionGater;
  /** Yamux settings (stream windows); the library's defaults when omitted. The transfer bench sweeps them. */
  yamux?: YamuxMuxerInit;
  /** DHT self-query cadence (ms); tests shorten it so small networks converge quickly. */
  dhtQuerySelfIntervalMs?: number;
  dhtInitialQuerySelfIntervalMs?: number;
  /** kad-dht's routing-table refresh cadence (ms; DHT_TABLE_REFRESH_INTERVAL_MS). */
  dhtTableRefreshIntervalMs?: number;
}

export async function createLumoraNode(init: LumoraNodeInit = {}): Promise<LumoraNode> {
  const privateKey = init.privateKey ?? (await generateKeyPair("Ed25519"));
  const bans = init.bans ?? new BanList();
  const limits = new ConnectionLimits({
    ...init.limits,
    ...(init.maxConnections !== undefined && { maxConnections: init.maxConnections }),
    isKeeper: init.isKeeper,
    log: init.logger?.child("connections"),
  });
  const node = await createLibp2p({
    privateKey,
    // Values copied out of Node's Buffer pool, provider records bounded (datastore.ts).
    datastore: new KeeperDatastore(init.maxProviderRecords),
    addresses: {
      listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"],
      ...(init.announce?.length ? { announce: init.announce } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(init.yamux)],
    connectionManager: {
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: init.inboundConnectionsPerHostPerSecond ?? INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
    },
    connectionGater: init.connectionGater ?? createConnectionGater({ bans, limits, ...init.addressPolicy }),
    connectionMonitor: { pingInterval: CONNECTION_MONITOR_INTERVAL_MS },
    services: {
      identify: identify(),
      ping: ping({ maxInboundStreams: PING_MAX_INBOUND_STREAMS, maxOutboundStreams: PING_MAX_OUTBOUND_STREAMS }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        maxInboundStreams: DHT_MAX_INBOUND_STREAMS,
        maxOutboundStreams: DHT_MAX_OUTBOUND_STREAMS,
        querySelfInterval: init.dhtQuerySelfIntervalMs ?? DHT_QUERY_SELF_INTERVAL_MS,
        ...(init.dhtInitialQuerySelfIntervalMs !== undefined && {
          initialQuerySelfInterval: init.dhtInitialQuerySelfIntervalMs,
        }),
        peerInfoMapper: init.allowPrivateAddresses === false ? removePrivateAddressesMapper : passthroughMapper,
        validators: init.validators ?? {},
        selectors: init.selectors ?? {},
      }),
    },
  });
  // A ban takes effect at once: drop live connections, the gater refuses new ones.
  const offBan = bans.onBan((id) => {
    const conns = node.getConnections().filter((c) => c.remotePeer.toString() === id);
    for (const c of conns) void c.close().catch(() => c.abort(new Error("peer banned")));
  });
  setTableRefreshInterval(node, init.dhtTableRefreshIntervalMs ?? DHT_TABLE_REFRESH_INTERVAL_MS);
  limits.attach(node);
  node.addEventListener(
    "stop",
    () => {
      offBan();
      limits.detach();
    },
    { once: true },
  );
  nodeLimits.set(node, limits);
  return node;
}

/**
 * kad-dht 16 takes no option for its routing-table refresh (5 minutes, hard-coded): it reads the interval from
 * `routingTableRefresh.refreshInterval` each time it schedules the next refresh, so setting that field before
 * start is the whole change. Throws if a kad-dht upgrade moved it (node.test.ts checks the refresh is scheduled
 * at the interval set), rather than silently refreshing every 5 minutes again.
 */
function setTableRefreshInterval(node: LumoraNode, ms: number): void {
  const refresh = (node.services.dht as unknown as { routingTableRefresh?: { refreshInterval?: unknown } })
    .routingTableRefresh;
  if (refresh === undefined || typeof refresh.refreshInterval !== "number")
    throw new Error("kad-dht has no routingTableRefresh.refreshInterval: check the DHT refresh cadence");
  refresh.refreshInterval = ms;
}

/**
 * Whether `peer` is in the node's kad-dht routing table (`KadDHT.routingTable`, public on kad-dht's class though
 * not on its service interface). False when the DHT exposes no routing table.
 */
export async function inDhtRoutingTable(node: LumoraNode, peer: PeerId): Promise<boolean> {
  const table = (node.services.dht as unknown as { routingTable?: { find(p: PeerId): Promise<PeerId | undefined> } })
    .routingTable;
  if (table === undefined) return false;
  return (await table.find(peer)) !== undefined;
}

const nodeLimits = new WeakMap<object, ConnectionLimits>();

/** The connection limits of a node made by createLumoraNode (their counters feed the API's metrics). */
export function connectionLimits(node: object): ConnectionLimits | undefined {
  return nodeLimits.get(node);
}
