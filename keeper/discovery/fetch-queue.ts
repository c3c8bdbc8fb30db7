/**
 * Which newly identified peers get their record looked up, and how fast. A DHT GET is a network-wide query,
 * so it must never be work an arbitrary stranger can trigger at will: a peer is looked up only if identify
 * says it speaks a Lumora protocol (every keeper runs `/lumora/kad/1.0.0`), only once per `retryAfterMs` if its
 * record was not found, from a bounded queue (newcomers beyond it are dropped, and found later by the periodic
 * refresh if they matter) drained by a token bucket at `ratePerSecond`. A keeper often connects a moment before
 * its record is published: a peer not found is looked up again after each of `retryDelaysMs` while it stays
 * connected (through the same queue and bucket), so a new keeper is known in seconds, not at the next refresh.
 */
import type { PeerId } from "@libp2p/interface";

import type { Logger } from "../logger.ts";
import {
  LUMORA_PROTOCOL_PREFIX,
  RECORD_LOOKUP_BURST,
  RECORD_LOOKUP_CONCURRENCY,
  RECORD_LOOKUP_MAX_QUEUE,
  RECORD_LOOKUP_RATE_PER_SECOND,
  RECORD_LOOKUP_RETRY_AFTER_MS,
  RECORD_LOOKUP_RETRY_DELAYS_MS,
} from "./constants.ts";

export interface RecordFetchQueueInit {
  /** Lookups started per second, sustained (RECORD_LOOKUP_RATE_PER_SECOND). */
  ratePerSecond?: number;
  /** Lookups that may start at once after a quiet period (RECORD_LOOKUP_BURST). */
  burst?: number;
  /** Peers waiting for a lookup (RECORD_LOOKUP_MAX_QUEUE); beyond it newcomers are dropped. */
  maxQueue?: number;
  /** Lookups running at once (RECORD_LOOKUP_CONCURRENCY). */
  concurrency?: number;
  /** How long a peer whose record was not found is not looked up again, ms (RECORD_LOOKUP_RETRY_AFTER_MS). */
  retryAfterMs?: number;
  /** Delays of the lookups again of a connected peer not found (RECORD_LOOKUP_RETRY_DELAYS_MS); [] for none. */
  retryDelaysMs?: readonly number[];
}

export interface RecordFetchQueueComponents {
  logger: Logger;
  /** Whether the peer's record is already known (no lookup needed). */
  known(peerId: string): boolean;
  /** Looks the record up; rejects when it is not found. */
  fetch(peerId: string, options: { signal: AbortSignal }): Promise<unknown>;
  /** Whether we are connected to the peer now (only connected peers are looked up again); default: never. */
  connected?(peerId: string): boolean;
}

export interface RecordFetchStats {
  /** Identified peers ignored: no Lumora protocol, already known, already queued or recently not found. */
  ignored: number;
  /** Peers dropped because the queue was full (the cap was hit). */
  dropped: number;
  /** Lookups started, found and not found. */
  started: number;
  found: number;
  notFound: number;
  /** Lookups again of a connected peer not found (each also counted in `started`). */
  retried: number;
  /** Peers waiting now. */
  queued: number;
}

export class RecordFetchQueue {
  readonly stats: RecordFetchStats = {
    ignored: 0,
    dropped: 0,
    started: 0,
    found: 0,
    notFound: 0,
    retried: 0,
    queued: 0,
  };
  private readonly log: Logger;
  private readonly waiting = new Map<string, Array<(found: boolean) => void>>();
  private readonly running = new Set<string>();
  /** Peers whose record was not found, until when they are not looked up again (insertion order = time). */
  private readonly notFoundUntil = new Map<string, number>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private readonly retryAfterMs: number;
  private readonly retryDelaysMs: readonly number[];
  /** Peers not found, waiting to be looked up again: their timer, waiters and the attempt that failed last. */
  private readonly retrying = new Map<
    string,
    { timer: NodeJS.Timeout; waiters: Array<(found: boolean) => void>; attempt: number }
  >();
  /** The attempt of each queued or running lookup again (absent: the first). */
  private readonly attempts = new Map<string, number>();
  private tokens: number;
  private refilledAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly components: RecordFetchQueueComponents,
    init: RecordFetchQueueInit = {},
  ) {
    this.log = components.logger.child("record-lookups");
    this.rate = init.ratePerSecond ?? RECORD_LOOKUP_RATE_PER_SECOND;
    this.burst = init.burst ?? RECORD_LOOKUP_BURST;
    this.maxQueue = init.maxQueue ?? RECORD_LOOKUP_MAX_QUEUE;
    this.concurrency = init.concurrency ?? RECORD_LOOKUP_CONCURRENCY;
    this.retryAfterMs = init.retryAfterMs ?? RECORD_LOOKUP_RETRY_AFTER_MS;
    this.retryDelaysMs = init.retryDelaysMs ?? RECORD_LOOKUP_RETRY_DELAYS_MS;
    this.tokens = this.burst;
  }

  /**
   * A peer completed identify: queue a lookup of its record if it speaks a Lumora protocol and is not known.
   * Resolves with whether a record was found (false at once when no lookup is made); never rejects.
   */
  onPeerIdentified(peerId: PeerId | string, protocols: readonly string[]): Promise<boolean> {
    const id = peerId.toString();
    if (this.controller.signal.aborted || !protocols.some((p) => p.startsWith(LUMORA_PROTOCOL_PREFIX))) {
      this.stats.ignored++;
      return Promise.resolve(false);
    }
    const until = this.notFoundUntil.get(id);
    if (until !== undefined && until > Date.now()) {
      this.stats.ignored++;
      return Promise.resolve(false);
    }
    if (this.components.known(id) || this.running.has(id) || this.retrying.has(id)) {
      this.stats.ignored++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const waiters = this.waiting.get(id);
      if (waiters !== undefined) {
        this.stats.ignored++;
        waiters.push(resolve);
        return;
      }
      if (this.waiting.size >= this.maxQueue) {
        this.stats.dropped++;
        this.log.throttled("queue full", "info", "record lookup queue full; identified peer dropped", {
          peer: id,
          maxQueue: this.maxQueue,
        });
        resolve(false);
        return;
      }
      this.waiting.set(id, [resolve]);
      this.stats.queued = this.waiting.size;
      this.pump();
    });
  }

  stop(): void {
    this.controller.abort(new Error("record lookups stopped"));
    clearTimeout(this.timer);
    for (const waiters of this.waiting.values()) for (const w of waiters) w(false);
    this.waiting.clear();
    for (const r of this.retrying.values()) {
      clearTimeout(r.timer);
      for (const w of r.waiters) w(false);
    }
    this.retrying.clear();
    this.attempts.clear();
    this.stats.queued = 0;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
  }

  private pump(): void {
    if (this.controller.signal.aborted) return;
    this.refill();
    while (this.waiting.size > 0 && this.running.size < this.concurrency && this.tokens >= 1) {
      const [id, waiters] = this.waiting.entries().next().value as [string, Array<(found: boolean) => void>];
      this.waiting.delete(id);
      this.stats.queued = this.waiting.size;
      this.tokens -= 1;
      void this.run(id, waiters);
    }
    if (this.waiting.size > 0 && this.running.size < this.concurrency && this.timer === undefined) {
      const ms = Math.ceil(((1 - this.tokens) / this.rate) * 1000);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, ms);
      this.timer.unref();
    }
  }

  private async run(id: string, waiters: Array<(found: boolean) => void>): Promise<void> {
    this.running.add(id);
    this.stats.started++;
    let found = false;
    try {
      if (!this.components.known(id)) await this.components.fetch(id, { signal: this.controller.signal });
      found = true;
      this.stats.found++;
    } catch (err) {
      this.stats.notFound++;
      if (this.retryLater(id, waiters)) {
        this.running.delete(id);
        this.pump();
        return;
      }
      this.notFoundUntil.delete(id);
      this.notFoundUntil.set(id, Date.now() + this.retryAfterMs);
      this.forgetOld();
      this.log.debug("record of an identified peer not found", { peer: id, error: err as Error });
    } finally {
      this.running.delete(id);
    }
    this.attempts.delete(id);
    for (const w of waiters) w(found);
    this.pump();
  }

  /** Schedules a lookup again of `id` (not found) if it is connected and has attempts left; whether it did. */
  private retryLater(id: string, waiters: Array<(found: boolean) => void>): boolean {
    const attempt = this.attempts.get(id) ?? 0;
    const delay = this.retryDelaysMs[attempt];
    if (delay === undefined || this.retrying.size >= this.maxQueue || this.controller.signal.aborted) return false;
    if (!(this.components.connected?.(id) ?? false)) return false;
    this.attempts.delete(id);
    const timer = setTimeout(() => {
      this.retrying.delete(id);
      if (this.controller.signal.aborted) return;
      if (this.components.known(id)) {
        for (const w of waiters) w(true);
      } else if (!(this.components.connected?.(id) ?? false) || this.waiting.size >= this.maxQueue) {
        this.notFoundUntil.set(id, Date.now() + this.retryAfterMs);
        for (const w of waiters) w(false);
      } else {
        this.stats.retried++;
        this.attempts.set(id, attempt + 1);
        this.waiting.set(id, waiters);
        this.stats.queued = this.waiting.size;
        this.pump();
      }
    }, delay);
    timer.unref();
    this.retrying.set(id, { timer, waiters, attempt });
    return true;
  }

  /** Keeps the not-found memory bounded: expired entries and, beyond the queue's size × 16, the oldest. */
  private forgetOld(): void {
    const now = Date.now();
    for (const [id, until] of this.notFoundUntil) {
      if (until > now && this.notFoundUntil.size <= this.maxQueue * 16) break;
      this.notFoundUntil.delete(id);
    }
  }
}
