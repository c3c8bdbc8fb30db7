/**
 * The routing feed: keeps the routing table in step with what the keeper knows of its peers. Every refresh
 * turns each verified peer record into a NodeView (its advertised bandwidth capped by what audits measured
 * (bandwidth.ts), capacity and load, the RTT and hops proximity measured, Reputation's flag) and upserts it;
 * peers health declared failed or suspects, executors that just failed at the connection level (for
 * UNREACHABLE_BACKOFF_MS), and — when the keeper reads a bond registry — peers whose reward account is not bonded
 * are left out (removed from the table). Bonds are read here, in the background refresh, never on the selection
 * path. No libp2p here: the feed sees
 * its sources through the narrow components below.
 */
import type { PeerRecordData } from "../discovery/record.ts";
import type { Logger } from "../logger.ts";
import type { ProximityView } from "../proximity/proximity.ts";
import { toNodeView } from "../proximity/view.ts";
import type { NodeView } from "../types.ts";
import { effectiveBandwidth } from "./bandwidth.ts";
import { DEFAULT_ROUTING_REFRESH_MS, UNREACHABLE_BACKOFF_MS } from "./constants.ts";

export interface RoutingFeedInit {
  /** Milliseconds between refreshes (default DEFAULT_ROUTING_REFRESH_MS). */
  refreshMs?: number;
  /** Milliseconds an unreachable executor stays out of routing (default UNREACHABLE_BACKOFF_MS). */
  unreachableBackoffMs?: number;
}

export interface RoutingFeedComponents {
  logger: Logger;
  /** This keeper's peer id: never routed to itself. */
  self: string;
  /** The verified peer records (discovery). */
  records: () => PeerRecordData[];
  /** Re-reads the directory (discovery's DHT walk) before a refresh that asks for it. */
  refreshDirectory?: (options: { signal?: AbortSignal }) => Promise<unknown>;
  health: { status(peerId: string): string | undefined; watch(peerId: string): void };
  proximity: { view(peerId: string): ProximityView };
  /** A node's bandwidth as audits measured it (bytes per second), undefined when never measured. */
  measuredBandwidth?: (peerId: string) => number | undefined;
  /** Reputation's flag of a reward address (lower case). */
  isFlagged: (account: string) => boolean;
  table: { upsert(view: NodeView): void; remove(peerId: string): unknown };
  /**
   * The bond registry's cached view (keeper/chain/bonds.ts), when the deployment has one: `refresh` reads the
   * accounts' bonds (cached answers stay until stale), `isBonded` fails closed. Absent: no bond gating.
   */
  bonds?: {
    refresh(accounts: readonly string[], options: { signal?: AbortSignal }): Promise<void>;
    isBonded(account: string): boolean;
  };
  /** Called after every refresh (the task manager retries what waited for executors). */
  onRefreshed?: () => void;
  /** Clock in Unix ms (tests may pin it). */
  now?: () => number;
}

export class RoutingFeed {
  private readonly log: Logger;
  private readonly refreshMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;
  /** Peers that just failed at the connection level, kept out of routing until the time given. */
  private readonly unreachableUntil = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private bondReadFailing = false;

  constructor(
    private readonly components: RoutingFeedComponents,
    init: RoutingFeedInit = {},
  ) {
    this.log = components.logger.child("routing-feed");
    this.refreshMs = init.refreshMs ?? DEFAULT_ROUTING_REFRESH_MS;
    this.backoffMs = init.unreachableBackoffMs ?? UNREACHABLE_BACKOFF_MS;
    this.now = components.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.refreshMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Upserts every routable peer; returns how many. */
  async refresh(options: { signal?: AbortSignal; refreshDirectory?: boolean } = {}): Promise<number> {
    const c = this.components;
    if (options.refreshDirectory && c.refreshDirectory !== undefined) {
      await c
        .refreshDirectory(options)
        .catch((err: unknown) =>
          this.log.debug("directory refresh failed; feeding what is known", { error: err as Error }),
        );
    }
    const records = c.records();
    if (c.bonds !== undefined) {
      try {
        await c.bonds.refresh(
          records.map((r) => r.rewardAddress),
          options,
        );
        if (this.bondReadFailing) this.log.info("bond reads recovered");
        this.bondReadFailing = false;
      } catch (err) {
        // Logged once per outage (a refresh runs every few seconds); answers go stale and fail closed meanwhile.
        if (!this.bondReadFailing)
          this.log.warn("bond read failed; routing by the bonds known until they go stale", { error: err as Error });
        this.bondReadFailing = true;
      }
    }
    let n = 0;
    for (const record of records) {
      if (record.peerId === c.self) continue;
      if (c.bonds !== undefined && !this.bonded(record.rewardAddress)) {
        c.table.remove(record.peerId);
        continue;
      }
      // Failed, or suspected (most likely dead): out of routing until health hears from it again.
      const status = c.health.status(record.peerId);
      if (status === "failed" || status === "suspect") {
        c.table.remove(record.peerId);
        continue;
      }
      const until = this.unreachableUntil.get(record.peerId);
      if (until !== undefined) {
        if (until > this.now()) continue;
        this.unreachableUntil.delete(record.peerId);
      }
      c.health.watch(record.peerId);
      try {
        const flagged = c.isFlagged(record.rewardAddress.toLowerCase());
        const view = toNodeView(record, c.proximity.view(record.peerId), flagged);
        view.bandwidth = effectiveBandwidth(view.bandwidth, c.measuredBandwidth?.(record.peerId));
        c.table.upsert(view);
        n++;
      } catch (err) {
        this.log.warn("peer record not routable", { peer: record.peerId, error: err as Error });
      }
    }
    c.onRefreshed?.();
    return n;
  }

  /** Whether the bond view counts `account` as bonded (a malformed address is not). */
  private bonded(account: string): boolean {
    try {
      return this.components.bonds!.isBonded(account);
    } catch {
      return false;
    }
  }

  /** An executor failed at the connection level: out of routing until the back-off passed (health re-admits it). */
  markUnreachable(peerId: string): void {
    this.unreachableUntil.set(peerId, this.now() + this.backoffMs);
    this.components.table.remove(peerId);
    this.log.info("executor unreachable; out of routing for a while", { peer: peerId, ms: this.backoffMs });
  }
}

export function routingFeed(init: RoutingFeedInit = {}): (components: RoutingFeedComponents) => RoutingFeed {
  return (components) => new RoutingFeed(components, init);
}
