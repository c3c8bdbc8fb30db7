/**
 * Proximity service: measures L_i (smoothed ping RTT, RFC 6298) and P_i (DHT hop count) per peer. Both
 * are measured, never configured. `view(peerId)` feeds routing's NodeView.
 */
import type { PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../logger.ts";
import { anySignal } from "../p2p/bootstrap.ts";
import { inDhtRoutingTable, type LumoraNode } from "../p2p/node.ts";
import {
  HOP_LOOKUP_TIMEOUT_MS,
  HOP_LOOKUPS_PER_ROUND,
  HOP_REMEASURE_INTERVAL_MS,
  MAX_MEASURED_PEERS,
  PING_TIMEOUT_MS,
  PROBE_CONCURRENCY,
  PROBE_INTERVAL_MS,
  PROBES_PER_ROUND,
  RTT_REFRESH_MS,
} from "./constants.ts";
import { HopCountUnavailableError, ProbeFailedError } from "./errors.ts";
import { HopTracker } from "./hops.ts";
import { RttEstimator } from "./rtt.ts";

export interface ProximityInit {
  probeIntervalMs?: number;
  pingTimeoutMs?: number;
  hopRemeasureIntervalMs?: number;
  /** Peers pinged per round (default PROBES_PER_ROUND), and hop lookups per round (HOP_LOOKUPS_PER_ROUND). */
  probesPerRound?: number;
  hopLookupsPerRound?: number;
  /** A peer with an RTT sample younger than this is not pinged (default RTT_REFRESH_MS; 0 pings every round). */
  rttRefreshMs?: number;
}

export interface ProximityComponents {
  node: LumoraNode;
  logger: Logger;
  /** Peers to probe each round; default: every connected peer that `isKeeper` accepts. */
  peersToProbe?: () => string[];
  /**
   * Whether a peer is one we route to (a valid signed record): only those are pinged and measured, so fresh
   * strangers connecting cannot crowd keepers out of a round or grow the table. Default: every peer.
   */
  isKeeper?: (peerId: string) => boolean;
}

export interface ProximityView {
  /** L_i: smoothed RTT (ms). */
  latencyMs?: number;
  /** RTTVAR (ms). */
  latencyVarMs?: number;
  /** P_i: DHT hop count, ≥ 1. */
  proximity?: number;
  samples: number;
}

interface Opts {
  signal?: AbortSignal;
}

interface Entry {
  rtt: RttEstimator;
  /** Unix ms of the last ping tried (answered or not): a round pings the peers tried longest ago first. */
  pingedAt?: number;
  /** Unix ms of the last RTT sample taken elsewhere (observeRtt): a ping is due only when both are stale. */
  observedAt?: number;
  hops?: number;
  hopsAt?: number;
}

export class Proximity {
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();
  private round: Promise<void> | undefined;

  constructor(
    private readonly components: ProximityComponents,
    private readonly init: ProximityInit = {},
  ) {
    this.log = components.logger.child("proximity");
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.round === undefined) this.round = this.probeAll().finally(() => (this.round = undefined));
    }, this.init.probeIntervalMs ?? PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.controller.abort(new Error("proximity stopped"));
    await this.round?.catch(() => {});
  }

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { rtt: new RttEstimator() };
      this.entries.set(id, e);
    }
    return e;
  }

  /** One ping; the sample is the wall time of the whole exchange on an existing connection (sub-ms clock). */
  async measureRtt(peer: PeerId | string, options: Opts = {}): Promise<number> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    const signal = anySignal(
      AbortSignal.timeout(this.init.pingTimeoutMs ?? PING_TIMEOUT_MS),
      this.controller.signal,
      options.signal,
    );
    const started = performance.now();
    try {
      await this.components.node.services.ping.ping(id, { signal });
    } catch (err) {
      throw new ProbeFailedError(id.toString(), err);
    }
    const sample = performance.now() - started;
    this.entry(id.toString()).rtt.add(sample);
    return sample;
  }

  /**
   * An RTT sample measured elsewhere — a direct health probe answered on a connection already open, the same
   * stream open + one request + one answer as a ping — counts as a ping: that peer is not pinged for
   * `rttRefreshMs`. Only peers a round could choose (keepers) are recorded, so the table stays bounded.
   */
  observeRtt(peerId: string, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    if (!this.entries.has(peerId) && !(this.components.isKeeper?.(peerId) ?? true)) return;
    if (!this.entries.has(peerId) && this.entries.size >= MAX_MEASURED_PEERS) return;
    const e = this.entry(peerId);
    e.rtt.add(ms);
    e.observedAt = Date.now();
  }

  /** Hop count to `peer` from a getClosestPeers lookup of its id (see hops.ts for the definition). */
  async measureHops(peer: PeerId | string, options: Opts = {}): Promise<number> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    let hops: number | undefined;
    // A lookup of a peer's own id queries the closest peers of our routing table first, and the peer itself is
    // the closest: one in our table answers at hop 1 (hops.ts). That needs no walk; at 20 keepers the walks were
    // half the streams an idle keeper opened.
    if (await inDhtRoutingTable(this.components.node, id)) hops = 1;
    else {
      const tracker = new HopTracker(id.toString());
      const signal = anySignal(AbortSignal.timeout(HOP_LOOKUP_TIMEOUT_MS), this.controller.signal, options.signal);
      try {
        for await (const ev of this.components.node.services.dht.getClosestPeers(id.toMultihash().bytes, { signal })) {
          tracker.observe(ev);
          // Its answer fixes the count (the shortest referral chain that reached it): the rest of the walk is moot.
          if (tracker.answeredAt !== undefined) break;
        }
      } catch (err) {
        if (options.signal?.aborted === true) throw err;
      }
      hops = tracker.hopCount;
    }
    if (hops === undefined) throw new HopCountUnavailableError(id.toString());
    const e = this.entry(id.toString());
    e.hops = hops;
    e.hopsAt = Date.now();
    return hops;
  }

  /**
   * One round: pings at most `probesPerRound` of the peers whose last RTT sample is older than `rttRefreshMs`
   * (pinged longest ago first, never pinged first) and looks up the hop count of at most `hopLookupsPerRound` peers
   * (never measured first, then those older than the remeasure interval). The cost of a round is constant in the
   * number of peers. Failures are logged, not thrown.
   */
  async probeAll(options: Opts = {}): Promise<void> {
    const peers = this.candidates();
    this.prune(new Set(peers));
    const stale = this.init.hopRemeasureIntervalMs ?? HOP_REMEASURE_INTERVAL_MS;
    const refresh = this.init.rttRefreshMs ?? RTT_REFRESH_MS;
    const now = Date.now();
    const at = (p: string) => this.entries.get(p)?.pingedAt ?? -1;
    const sampledAt = (p: string) => {
      const e = this.entries.get(p);
      return Math.max(e?.pingedAt ?? -1, e?.observedAt ?? -1);
    };
    const pings = new Set(
      peers
        .filter((p) => sampledAt(p) < 0 || now - sampledAt(p) >= refresh)
        .sort((a, b) => at(a) - at(b))
        .slice(0, this.init.probesPerRound ?? PROBES_PER_ROUND),
    );
    const hopsAt = (p: string) => this.entries.get(p)?.hopsAt ?? -1;
    const hopLookups = new Set(
      peers
        .filter((p) => hopsAt(p) < 0 || now - hopsAt(p) > stale)
        .sort((a, b) => hopsAt(a) - hopsAt(b) || (pings.has(b) ? 1 : 0) - (pings.has(a) ? 1 : 0))
        .slice(0, this.init.hopLookupsPerRound ?? HOP_LOOKUPS_PER_ROUND),
    );
    const queue = [...new Set([...pings, ...hopLookups])];
    const worker = async () => {
      for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
        try {
          if (pings.has(p)) {
            this.entry(p).pingedAt = Date.now();
            await this.measureRtt(p, options);
          }
          if (hopLookups.has(p)) await this.measureHops(p, options);
        } catch (err) {
          this.log.debug("probe failed", { peer: p, code: (err as { code?: string }).code });
        }
      }
    };
    await Promise.all(Array.from({ length: PROBE_CONCURRENCY }, worker));
  }

  /** The peers a round chooses from, at most MAX_MEASURED_PEERS. */
  private candidates(): string[] {
    const isKeeper = this.components.isKeeper ?? (() => true);
    const peers =
      this.components.peersToProbe?.() ??
      this.components.node
        .getPeers()
        .map((p) => p.toString())
        .filter(isKeeper);
    return peers.slice(0, MAX_MEASURED_PEERS);
  }

  /** Measurements of peers no longer candidates (disconnected, record gone) leave: the table stays bounded. */
  private prune(keep: ReadonlySet<string>): void {
    for (const id of this.entries.keys()) if (!keep.has(id)) this.entries.delete(id);
  }

  /** Peers with a measurement held (bounded by MAX_MEASURED_PEERS after every round). */
  get measured(): number {
    return this.entries.size;
  }

  view(peerId: string): ProximityView {
    const e = this.entries.get(peerId);
    return {
      latencyMs: e?.rtt.srttMs,
      latencyVarMs: e?.rtt.rttvarMs,
      proximity: e?.hops,
      samples: e?.rtt.samples ?? 0,
    };
  }

  forget(peerId: string): void {
    this.entries.delete(peerId);
  }
}

export function proximity(init: ProximityInit = {}): (components: ProximityComponents) => Proximity {
  return (components) => new Proximity(components, init);
}
