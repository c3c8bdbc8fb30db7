/**
 * Bootstrap: dial the configured multiaddrs on start and, while the routing table is small, re-dial them
 * and walk the DHT (a lookup of our own id, then of a random key) to fill the k-buckets. Everything else is
 * found through the DHT.
 */
import { randomBytes } from "node:crypto";

import type { PeerId } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";

import type { Logger } from "../logger.ts";
import {
  BOOTSTRAP_DIAL_TIMEOUT_MS,
  BOOTSTRAP_INTERVAL_MS,
  BOOTSTRAP_MAX_BACKOFF_TICKS,
  BOOTSTRAP_MIN_ROUTING_TABLE_SIZE,
  BOOTSTRAP_WALK_TIMEOUT_MS,
} from "./constants.ts";
import { BootstrapError } from "./errors.ts";
import type { LumoraNode } from "./node.ts";

export interface BootstrapInit {
  /** Multiaddrs with a `/p2p/<peer id>` suffix. */
  peers: readonly string[];
  intervalMs?: number;
  minRoutingTableSize?: number;
  dialTimeoutMs?: number;
  walkTimeoutMs?: number;
}

export interface BootstrapComponents {
  node: LumoraNode;
  logger: Logger;
}

/** Size of the DHT routing table; `routingTable` is not on the public KadDHT type. */
export function routingTableSize(node: LumoraNode): number {
  return (node.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0;
}

export class Bootstrapper {
  private readonly log: Logger;
  private readonly init: Required<BootstrapInit>;
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private busy = false;
  /** Ticks to skip before the next re-bootstrap, and the current backoff (doubled by one that found nothing). */
  private skip = 0;
  private backoff = 0;
  /** Maintenance ticks, and the re-bootstraps they ran (the tests). */
  ticks = 0;
  rebootstraps = 0;

  constructor(
    private readonly components: BootstrapComponents,
    init: BootstrapInit,
  ) {
    this.log = components.logger.child("bootstrap");
    this.init = {
      peers: init.peers,
      intervalMs: init.intervalMs ?? BOOTSTRAP_INTERVAL_MS,
      minRoutingTableSize: init.minRoutingTableSize ?? BOOTSTRAP_MIN_ROUTING_TABLE_SIZE,
      dialTimeoutMs: init.dialTimeoutMs ?? BOOTSTRAP_DIAL_TIMEOUT_MS,
      walkTimeoutMs: init.walkTimeoutMs ?? BOOTSTRAP_WALK_TIMEOUT_MS,
    };
    for (const p of init.peers) {
      if (!p.includes("/p2p/")) throw new BootstrapError(`bootstrap address ${p} lacks a /p2p/<peer id> suffix`);
    }
  }

  /** Dials the bootstrap peers (failures are logged, not thrown) and schedules the maintenance loop. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.controller = new AbortController();
    await this.dialBootstrapPeers({ signal: anySignal(this.controller.signal, options.signal) });
    this.running = this.track(this.walk({ signal: this.controller.signal }));
    this.timer = setInterval(() => void this.tick(), this.init.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.controller?.abort(new BootstrapError("bootstrapper stopped"));
    await this.running;
  }

  /**
   * While the routing table is small: re-dial the bootstrap peers and walk. A re-bootstrap after which the table
   * did not grow doubles the ticks skipped before the next (up to BOOTSTRAP_MAX_BACKOFF_TICKS); growth resets it.
   */
  private async tick(): Promise<void> {
    this.ticks++;
    if (this.busy) return;
    const size = routingTableSize(this.components.node);
    if (size >= this.init.minRoutingTableSize) {
      this.backoff = 0;
      return;
    }
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    this.log.debug("routing table small, re-bootstrapping", { size });
    this.rebootstraps++;
    const signal = this.controller?.signal;
    this.running = this.track(
      this.dialBootstrapPeers({ signal })
        .then(() => this.walk({ signal }))
        .finally(() => {
          const grew = routingTableSize(this.components.node) > size;
          this.backoff = grew ? 0 : Math.min(Math.max(1, 2 * this.backoff), BOOTSTRAP_MAX_BACKOFF_TICKS);
          this.skip = this.backoff;
        }),
    );
  }

  private track(work: Promise<unknown>): Promise<void> {
    this.busy = true;
    return work.then(
      () => void (this.busy = false),
      () => void (this.busy = false),
    );
  }

  /** Returns the number of bootstrap peers now connected. */
  async dialBootstrapPeers(options: { signal?: AbortSignal } = {}): Promise<number> {
    const self = this.components.node.peerId.toString();
    const targets = this.init.peers.filter((p) => !p.endsWith(`/p2p/${self}`));
    const results = await Promise.allSettled(
      targets.map((addr) =>
        this.components.node.dial(multiaddr(addr), {
          signal: anySignal(AbortSignal.timeout(this.init.dialTimeoutMs), options.signal),
        }),
      ),
    );
    let connected = 0;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") connected++;
      else this.log.warn("bootstrap dial failed", { addr: targets[i], error: r.reason as Error });
    });
    if (targets.length > 0 && connected === 0) this.log.warn("no bootstrap peer reachable", { tried: targets.length });
    return connected;
  }

  /** One random walk: closest peers to our own id (fills the buckets near us), then to a random key. */
  async walk(options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = anySignal(AbortSignal.timeout(this.init.walkTimeoutMs), options.signal);
    const dht = this.components.node.services.dht;
    let found = 0;
    // kad-dht parks queries until the table has a peer; walking an empty table would only burn the budget.
    if (routingTableSize(this.components.node) === 0 && this.components.node.getPeers().length === 0) return 0;
    for (const key of [this.components.node.peerId.toMultihash().bytes, randomBytes(32)]) {
      try {
        for await (const ev of dht.getClosestPeers(key, { signal })) if (ev.name === "FINAL_PEER") found++;
      } catch (err) {
        if (signal.aborted) break;
        this.log.debug("random walk failed", { error: err as Error });
      }
    }
    this.log.debug("random walk done", { found, routingTable: routingTableSize(this.components.node) });
    return found;
  }
}

export function bootstrap(init: BootstrapInit): (components: BootstrapComponents) => Bootstrapper {
  return (components) => new Bootstrapper(components, init);
}

export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}

/** Peer ids in the DHT routing table (reached through a cast: not on the public type). */
export function routingTablePeers(node: LumoraNode): PeerId[] {
  const rt = (
    node.services.dht as unknown as { routingTable?: { kb?: { toIterable(): Iterable<{ peerId: PeerId }> } } }
  ).routingTable;
  const out: PeerId[] = [];
  try {
    for (const c of rt?.kb?.toIterable() ?? []) out.push(c.peerId);
  } catch {
    // Internal layout changed: fall back to connected peers at the call site.
  }
  return out;
}
