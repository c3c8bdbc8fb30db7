/**
 * Discovery service: publishes this node's signed peer record (and republishes it), keeps a directory of
 * known nodes' verified records — learned from other keepers through the directory exchange (exchange.ts) and
 * found by walking the DHT — and provides/finds tasks and content objects.
 *
 * Dispatches `records` (CustomEvent<number>: how many) after a directory exchange brought new records.
 */
import { randomBytes } from "node:crypto";

import type { PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";

import type { Logger } from "../logger.ts";
import { anySignal, routingTablePeers } from "../p2p/bootstrap.ts";
import type { LumoraNode } from "../p2p/node.ts";
import type { Capability } from "../types.ts";
import {
  ADMISSION_LOOKUP_TIMEOUT_MS,
  DIRECTORY_DIRECT_HEADROOM,
  DIRECTORY_FETCH_CONCURRENCY,
  DIRECTORY_PROTOCOL,
  DIRECTORY_RELAYABLE_CACHE_MS,
  DIRECTORY_REFRESH_INTERVAL_MS,
  DIRECTORY_WALK_MAX_BACKOFF_TICKS,
  LUMORA_PROTOCOL_PREFIX,
  MAX_DIRECTORY_RECORDS,
  RECORD_FETCH_TIMEOUT_MS,
  RECORD_GET_QUORUM,
  RECORD_PUBLISH_TIMEOUT_MS,
  RECORD_TTL_MS,
  REPUBLISH_INTERVAL_MS,
} from "./constants.ts";
import { contentCid, type ContentKind } from "./content.ts";
import type { RecordCache } from "./cache.ts";
import { RecordError, RecordNotFoundError } from "./errors.ts";
import { DirectoryExchange, type DirectoryExchangeInit, type DirectoryExchangeStats } from "./exchange.ts";
import { RecordFetchQueue, type RecordFetchQueueInit } from "./fetch-queue.ts";
import { peerRecordKey, signPeerRecord, verifyPeerRecord, type PeerRecordData } from "./record.ts";

export interface DiscoveryInit {
  capabilities: readonly Capability[];
  /** Advertised bandwidth B_i, bytes per second. */
  bandwidthBps: number;
  capacity: number;
  shard: number;
  /** 0x-prefixed EVM address receiving this node's rewards. */
  rewardAddress: string;
  recordTtlMs?: number;
  republishIntervalMs?: number;
  refreshIntervalMs?: number;
  /** Rate, queue and retry limits of the record lookups made when peers are identified. */
  lookups?: RecordFetchQueueInit;
  /** The directory exchange (`/lumora/directory/1.0.0`): periodic sync interval and serving budgets. */
  exchange?: DirectoryExchangeInit;
  /** Records learned from third parties kept at most (MAX_DIRECTORY_RECORDS); peers' own records, handed over
   * directly, up to a quarter more (DIRECTORY_DIRECT_HEADROOM). */
  maxRecords?: number;
  /**
   * Whether a record may be passed on to other keepers (served in the directory exchange). The composition gives
   * "its reward account is bonded" when the keeper reads a bond registry, so that an identity that costs nothing
   * reaches only the keepers it connects to itself, never the whole network. Absent: every record is.
   */
  relayable?: (record: PeerRecordData) => boolean;
}

export interface DiscoveryComponents {
  node: LumoraNode;
  /** The node's libp2p identity key (signs the record). */
  privateKey: PrivateKey;
  logger: Logger;
  /** Tasks currently in flight here (advertised as `load`). */
  currentLoad?: () => number;
  /** Verified records kept across restarts (see cache.ts). */
  cache?: RecordCache;
  /** Called for protocol violations of the directory exchange (hostile records); the composition bans the peer. */
  penalise?: (peerId: PeerId, err: Error) => void;
}

interface Opts {
  signal?: AbortSignal;
}

export class Discovery extends EventTarget {
  private readonly log: Logger;
  private readonly directory = new Map<string, PeerRecordData>();
  /** `init.relayable`'s recent answers, per record (its peer id and seq). */
  private readonly relayableCache = new Map<string, { seq: bigint; ok: boolean; at: number }>();
  private seq = 0n;
  private timers: NodeJS.Timeout[] = [];
  private readonly controller = new AbortController();
  private refreshing: Promise<unknown> | undefined;
  /** Periodic refreshes left to run without the random walk, and the current backoff (ticks). */
  private walkSkip = 0;
  private walkBackoff = 0;
  /** Record lookups of identified peers: only Lumora peers, rate-limited, bounded. */
  readonly lookups: RecordFetchQueue;
  /** The directory exchange with other keepers (identify, periodic sync, serving). */
  readonly exchange: DirectoryExchange;

  constructor(
    private readonly components: DiscoveryComponents,
    private readonly init: DiscoveryInit,
  ) {
    super();
    this.log = components.logger.child("discovery");
    const self = components.node.peerId.toString();
    const maxRecords = init.maxRecords ?? MAX_DIRECTORY_RECORDS;
    const maxDirect = maxRecords + Math.ceil(maxRecords * DIRECTORY_DIRECT_HEADROOM);
    this.exchange = new DirectoryExchange(
      {
        node: components.node,
        logger: this.log,
        penalise: components.penalise,
        onRecords: (added) => this.dispatchEvent(new CustomEvent<number>("records", { detail: added })),
        directory: {
          self,
          seqOf: (id) => this.get(id)?.seq,
          records: () => {
            const all = this.peers().filter((r) => r.peerId === self || this.relayable(r));
            const own = all.findIndex((r) => r.peerId === self);
            if (own > 0) all.unshift(...all.splice(own, 1));
            return all;
          },
          full: () => this.directory.size >= maxRecords,
          take: (record, relayed) => this.keep(record, relayed ? maxRecords : maxDirect),
        },
      },
      init.exchange,
    );
    this.lookups = new RecordFetchQueue(
      {
        logger: this.log,
        known: (id) => this.get(id) !== undefined,
        fetch: (id, options) => this.fetchRecord(id, options),
        connected: (id) => components.node.getConnections(peerIdFromString(id)).length > 0,
      },
      init.lookups,
    );
  }

  /** Counters of the directory exchange (exchanges, records received, verified, accepted, rejected, dropped). */
  get exchangeStats(): Readonly<DirectoryExchangeStats> {
    return this.exchange.stats;
  }

  /**
   * A peer completed identify (`peer:identify`). One that speaks `/lumora/directory/1.0.0` gets a directory
   * exchange (bounded: exchange.ts), which brings its record and the ones it holds that we lack (the `records`
   * event says how many). When it does not speak it, or the exchange failed or did not bring its record, the
   * record is looked up in the DHT if the peer speaks a Lumora protocol, at a bounded rate (RecordFetchQueue).
   * Resolves with whether that lookup found a new record; never rejects.
   */
  async onPeerIdentified(peerId: PeerId | string, protocols: readonly string[]): Promise<boolean> {
    if (protocols.includes(DIRECTORY_PROTOCOL)) await this.exchange.onPeerIdentified(peerId.toString());
    // A no-op when the record is now known.
    return this.lookups.onPeerIdentified(peerId, protocols);
  }

  /** Registers the directory exchange's handler, so that peers identifying us from now on see the protocol. */
  listen(): Promise<void> {
    return this.exchange.listen();
  }

  async start(options: Opts = {}): Promise<void> {
    // With no peer yet (the first node of a network) a PUT only times out; the local copy is stored at once and
    // served to whoever asks, so only wait for the network PUT when there is someone to store it.
    const initial = this.publish(options).catch((err: unknown) => {
      this.log.warn("initial publish failed", { error: err as Error });
    });
    await this.exchange.start();
    if (this.components.node.getConnections().length > 0) {
      await initial;
      // Our fresh record to one keeper now (push-pull): it spreads from there through everyone's periodic sync.
      void this.exchange.sync().catch(() => {});
    }
    // A failed round is retried at the next tick; it is logged, not thrown (nothing awaits a timer).
    const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
      const t = setInterval(() => {
        fn().catch((err: unknown) => {
          if (!this.controller.signal.aborted)
            this.log.warn(`${what} failed; retried next round`, { error: err as Error });
        });
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.init.republishIntervalMs ?? REPUBLISH_INTERVAL_MS, "record republish", () => this.publish());
    every(this.init.refreshIntervalMs ?? DIRECTORY_REFRESH_INTERVAL_MS, "directory refresh", () =>
      this.refresh({ periodic: true }),
    );
  }

  async stop(): Promise<void> {
    this.lookups.stop();
    await this.exchange.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.controller.abort(new Error("discovery stopped"));
    await this.refreshing?.catch(() => {});
  }

  /** Signs and PUTs a fresh record (seq strictly increasing, seeded from the clock so it survives restarts). */
  async publish(options: Opts = {}): Promise<PeerRecordData> {
    const { node, privateKey } = this.components;
    const now = Date.now();
    this.seq = BigInt(now) > this.seq ? BigInt(now) : this.seq + 1n;
    const data: Omit<PeerRecordData, "peerId"> = {
      seq: this.seq,
      issuedAtMs: now,
      expiresAtMs: now + (this.init.recordTtlMs ?? RECORD_TTL_MS),
      capabilities: [...this.init.capabilities],
      bandwidthBps: this.init.bandwidthBps,
      capacity: this.init.capacity,
      load: this.components.currentLoad?.() ?? 0,
      shard: this.init.shard,
      rewardAddress: this.init.rewardAddress,
      addrs: node.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()),
    };
    const bytes = await signPeerRecord(privateKey, data);
    // Known here at once (this keeper's own record counts for routing and admission before the PUT completes).
    this.directory.set(node.peerId.toString(), { ...data, peerId: node.peerId.toString(), signed: bytes });
    const signal = anySignal(AbortSignal.timeout(RECORD_PUBLISH_TIMEOUT_MS), this.controller.signal, options.signal);
    let stored = 0;
    try {
      for await (const ev of node.services.dht.put(peerRecordKey(node.peerId), bytes, { signal })) {
        if (ev.name === "PEER_RESPONSE") stored++;
      }
    } catch (err) {
      // The local copy is stored before the network PUT, so peers asking us still get it.
      this.log.debug("record put incomplete", { error: err as Error, stored });
    }
    const self: PeerRecordData = { ...data, peerId: node.peerId.toString(), signed: bytes };
    this.directory.set(self.peerId, self);
    this.log.debug("peer record published", { seq: data.seq, stored });
    return self;
  }

  /** Fetches and verifies a peer's record through the DHT and updates the directory. */
  async fetchRecord(peerId: PeerId | string, options: Opts = {}): Promise<PeerRecordData> {
    const id = typeof peerId === "string" ? peerIdFromString(peerId) : peerId;
    const key = peerRecordKey(id);
    const signal = anySignal(AbortSignal.timeout(RECORD_FETCH_TIMEOUT_MS), this.controller.signal, options.signal);
    // Stop after RECORD_GET_QUORUM valid copies (like go-libp2p's quorum) instead of waiting for every
    // query path to end; the highest sequence number among them wins.
    let best: PeerRecordData | undefined;
    let bestBytes: Uint8Array | undefined;
    let copies = 0;
    try {
      for await (const ev of this.components.node.services.dht.get(key, { signal })) {
        const value = ev.name === "VALUE" ? ev.value : ev.name === "PEER_RESPONSE" ? ev.record?.value : undefined;
        if (value === undefined) continue;
        try {
          const r = await verifyPeerRecord(key, value);
          if (best === undefined || r.seq > best.seq) ((best = r), (bestBytes = value));
          if (++copies >= RECORD_GET_QUORUM) break;
        } catch (err) {
          this.log.debug("invalid record copy ignored", { peer: id.toString(), code: (err as RecordError).code });
        }
      }
    } catch (err) {
      if (best === undefined && options.signal?.aborted === true) throw err;
    }
    if (best === undefined) throw new RecordNotFoundError(id.toString());
    const record = best;
    const known = this.directory.get(record.peerId);
    if (known === undefined || known.seq <= record.seq) {
      this.directory.set(record.peerId, record);
      if (bestBytes !== undefined)
        this.components.cache?.save(record.peerId, bestBytes, record.seq, record.expiresAtMs);
    }
    return this.directory.get(record.peerId) ?? record;
  }

  /**
   * Loads the records a previous run verified (re-verified now; expired ones dropped) into the directory, and
   * their addresses into the peer store so they can be dialled at once. Returns how many.
   */
  async loadCached(): Promise<number> {
    const cache = this.components.cache;
    if (cache === undefined) return 0;
    let n = 0;
    for (const c of cache.load()) {
      try {
        const id = peerIdFromString(c.peerId);
        const r = await verifyPeerRecord(peerRecordKey(id), c.bytes);
        if (r.peerId === this.components.node.peerId.toString()) continue;
        const known = this.directory.get(r.peerId);
        if (known !== undefined && known.seq > r.seq) continue;
        this.directory.set(r.peerId, r);
        await this.rememberAddresses(r);
        n++;
      } catch (err) {
        this.log.debug("cached record dropped", { peer: c.peerId, error: err as Error });
      }
    }
    if (n > 0) this.log.info("peer records reloaded from the store", { peers: n });
    this.loadedAtStart = n;
    return n;
  }

  /**
   * Takes a signed record handed over directly (not through the DHT): verified like any other (signature, key,
   * expiry) and kept if newer than the one known. Throws RecordError when it does not verify.
   */
  async accept(bytes: Uint8Array): Promise<PeerRecordData> {
    // No DHT key to match: the signature, the signer = record peer and the expiry are what is checked.
    const record = await verifyPeerRecord(undefined, bytes);
    const known = this.directory.get(record.peerId);
    if (known === undefined || known.seq <= record.seq) await this.keep(record, Infinity);
    return this.directory.get(record.peerId) ?? record;
  }

  /**
   * Keeps a verified record handed over directly (accept, the directory exchange) when it is newer than the one
   * held and, for a peer not held yet, the directory holds fewer than `cap`: in the directory, the cache and its
   * addresses in the peer store (as a DHT fetch does). Whether it was kept.
   */
  private async keep(record: PeerRecordData, cap: number): Promise<boolean> {
    if (record.peerId === this.components.node.peerId.toString() || record.signed === undefined) return false;
    const known = this.get(record.peerId);
    if (known !== undefined && known.seq >= record.seq) return false;
    if (known === undefined && this.directory.size >= cap) {
      this.prune();
      if (this.directory.size >= cap) return false;
    }
    this.directory.set(record.peerId, record);
    this.components.cache?.save(record.peerId, record.signed, record.seq, record.expiresAtMs);
    await this.rememberAddresses(record);
    return true;
  }

  /**
   * A peer's verified record: the known one, else one bounded DHT lookup. Its addresses go to the peer store, so
   * the peer is dialled at the addresses it signed (never at ones a third party supplied). Undefined when none.
   */
  async verifiedRecord(peerId: string, options: Opts = {}): Promise<PeerRecordData | undefined> {
    let record = this.get(peerId);
    if (record === undefined) {
      try {
        record = await this.fetchRecord(peerId, {
          signal: anySignal(AbortSignal.timeout(ADMISSION_LOOKUP_TIMEOUT_MS), options.signal),
        });
      } catch {
        return undefined;
      }
    }
    await this.rememberAddresses(record);
    return record;
  }

  /** Puts the addresses a peer signed into the peer store, so it is dialled there (and only there) by id. */
  private async rememberAddresses(record: PeerRecordData): Promise<void> {
    const multiaddrs = record.addrs.flatMap((a) => {
      try {
        return [multiaddr(a)];
      } catch {
        return [];
      }
    });
    if (multiaddrs.length > 0)
      await this.components.node.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs }).catch(() => {});
  }

  /** How many other keepers' records were reloaded at start (what a close right after a restart waits for). */
  loadedAtStart = 0;

  /**
   * Walks the DHT for nodes (routing table, live connections, closest peers to a random key) and fetches
   * records of the ones unknown or whose record expires before the next refresh.
   */
  async refresh(options: Opts & { periodic?: boolean } = {}): Promise<number> {
    const run = this.doRefresh(options);
    this.refreshing = run;
    return run;
  }

  private async doRefresh(options: Opts & { periodic?: boolean }): Promise<number> {
    const { node } = this.components;
    const signal = anySignal(this.controller.signal, options.signal);
    const candidates = new Set<string>();
    for (const p of routingTablePeers(node)) candidates.add(p.toString());
    // Connected peers count only if identify saw a Lumora protocol: strangers do not each cost a DHT GET.
    for (const p of node.getPeers()) {
      const protocols = await node.peerStore
        .get(p)
        .then((peer) => peer.protocols)
        .catch(() => [] as string[]);
      if (protocols.some((x) => x.startsWith(LUMORA_PROTOCOL_PREFIX))) candidates.add(p.toString());
    }
    // A periodic refresh walks only when its backoff allows (DIRECTORY_WALK_MAX_BACKOFF_TICKS); asked for, always.
    const walk = options.periodic !== true || this.walkSkip === 0;
    if (!walk) this.walkSkip--;
    else {
      let news = false;
      try {
        const walkSignal = anySignal(AbortSignal.timeout(RECORD_FETCH_TIMEOUT_MS), signal);
        for await (const ev of node.services.dht.getClosestPeers(randomBytes(32), { signal: walkSignal })) {
          if (ev.name !== "FINAL_PEER") continue;
          const id = ev.peer.id.toString();
          if (!candidates.has(id) && !this.directory.has(id) && id !== node.peerId.toString()) news = true;
          candidates.add(id);
        }
      } catch {
        // A failed walk still leaves the routing table candidates.
      }
      this.walkBackoff = news ? 0 : Math.min(Math.max(1, 2 * this.walkBackoff), DIRECTORY_WALK_MAX_BACKOFF_TICKS);
      this.walkSkip = this.walkBackoff;
    }
    candidates.delete(node.peerId.toString());
    const horizon = Date.now() + (this.init.refreshIntervalMs ?? DIRECTORY_REFRESH_INTERVAL_MS);
    const todo = [...candidates].filter((p) => (this.directory.get(p)?.expiresAtMs ?? 0) <= horizon);
    let fetched = 0;
    const worker = async () => {
      for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
        if (signal.aborted) return;
        try {
          await this.fetchRecord(p, { signal });
          fetched++;
        } catch (err) {
          const code = err instanceof RecordError || err instanceof RecordNotFoundError ? err.code : undefined;
          this.log.debug("record fetch failed", { peer: p, code, error: err as Error });
        }
      }
    };
    await Promise.all(Array.from({ length: DIRECTORY_FETCH_CONCURRENCY }, worker));
    this.prune();
    return fetched;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, r] of this.directory) {
      if (r.expiresAtMs > now) continue;
      this.directory.delete(id);
      this.relayableCache.delete(id);
    }
  }

  /** Whether `peerId` counts as a keeper: its record is held and may be passed on (with bonds: it is bonded). */
  isKeeper(peerId: string): boolean {
    const record = this.get(peerId);
    return record !== undefined && this.relayable(record);
  }

  /** Whether `record` may be passed on (`init.relayable`, its answer reused for DIRECTORY_RELAYABLE_CACHE_MS). */
  relayable(record: PeerRecordData): boolean {
    const check = this.init.relayable;
    if (check === undefined) return true;
    const now = Date.now();
    const hit = this.relayableCache.get(record.peerId);
    if (hit !== undefined && hit.seq === record.seq && now - hit.at < DIRECTORY_RELAYABLE_CACHE_MS) return hit.ok;
    let ok: boolean;
    try {
      ok = check(record);
    } catch {
      ok = false;
    }
    this.relayableCache.set(record.peerId, { seq: record.seq, ok, at: now });
    return ok;
  }

  /** Verified, unexpired records of every known node (this one included). */
  peers(): PeerRecordData[] {
    this.prune();
    return [...this.directory.values()];
  }

  get(peerId: string): PeerRecordData | undefined {
    const r = this.directory.get(peerId);
    return r !== undefined && r.expiresAtMs > Date.now() ? r : undefined;
  }

  /** Announces that this node provides a task or object (kad-dht reprovides it). */
  async provide(kind: ContentKind, id: string, options: Opts = {}): Promise<void> {
    const cid = await contentCid(kind, id);
    for await (const _ of this.components.node.services.dht.provide(cid, {
      signal: anySignal(this.controller.signal, options.signal),
    })) {
      // drain
    }
  }

  /** Peer ids providing a task or object, deduplicated, up to `limit`. */
  async findProviders(kind: ContentKind, id: string, options: Opts & { limit?: number } = {}): Promise<string[]> {
    const cid = await contentCid(kind, id);
    const found = new Set<string>();
    const limit = options.limit ?? 20;
    const signal = anySignal(AbortSignal.timeout(RECORD_FETCH_TIMEOUT_MS), this.controller.signal, options.signal);
    try {
      for await (const ev of this.components.node.services.dht.findProviders(cid, { signal })) {
        if (ev.name !== "PROVIDER") continue;
        for (const p of ev.providers) found.add(p.id.toString());
        if (found.size >= limit) break;
      }
    } catch (err) {
      if (found.size === 0 && options.signal?.aborted === true) throw err;
    }
    return [...found].slice(0, limit);
  }
}

export function discovery(init: DiscoveryInit): (components: DiscoveryComponents) => Discovery {
  return (components) => new Discovery(components, init);
}
