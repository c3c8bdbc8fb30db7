/**
 * The audit service: at random times (schedule.ts) it picks a random provider among the audit targets
 * (targets.ts), reads a random amount from a random offset of one of its objects as an ordinary consumer reading a
 * range does (fetch.ts), judges the
 * measurement (judge.ts), signs the outcome with the keeper's identity (outcome.ts), stores it (store.ts),
 * folds the throughput into the measured bandwidth (bandwidth.ts) and reports it (`onOutcome`: health's
 * counters in the composition).
 *
 * Two generators come from one seed — one for the gaps, one for the choices — so the schedule is the same
 * for a seed whatever targets exist. Without a seed the OS supplies one (random.ts): providers cannot predict it.
 *
 * Composition: `auditor(init)(components)`, then `start()`/`stop()`.
 */
import type { PrivateKey } from "@libp2p/interface";

import { providerPeerIds } from "../execution/payloads.ts";
import type { Logger } from "../logger.ts";
import type { Store } from "../store/index.ts";
import { MeasuredBandwidth } from "./bandwidth.ts";
import {
  DEFAULT_AUDIT_MAX_BYTES,
  DEFAULT_AUDIT_MIN_BYTES,
  DEFAULT_AUDIT_RATE_PER_HOUR,
  DEFAULT_AUDIT_TIMEOUT_MS,
  DEFAULT_BANDWIDTH_EWMA_WEIGHT,
  DEFAULT_MIN_THROUGHPUT_RATIO,
  MAX_AUDIT_OUTCOMES,
  MAX_AUDIT_TARGETS,
} from "./constants.ts";
import { AuditConfigError } from "./errors.ts";
import { auditFetch, type FetchStream } from "./fetch.ts";
import { AUDIT_OUTCOMES, judge, throughputOf, type AuditOutcomeKind } from "./judge.ts";
import { auditOutcomeHash, signAuditOutcome } from "./outcome.ts";
import { randomInt, secretSeed, seededRandom, type Random } from "./random.ts";
import { checkRate, nextGapMs } from "./schedule.ts";
import { AuditStore, type StoredAuditOutcome } from "./store.ts";
import { AuditTargets, type AuditTarget } from "./targets.ts";

/** Mixed into the seed of the choices' generator, so it differs from the gaps' generator. */
const CHOICE_STREAM = 0x5bd1e995;

export interface AuditorInit {
  /** Mean audits per hour (0: no audits). */
  ratePerHour?: number;
  /** Seed of the schedule and choices (tests); default: a secret one from the OS. */
  seed?: number;
  timeoutMs?: number;
  minBytes?: number;
  maxBytes?: number;
  minThroughputRatio?: number;
  ewmaWeight?: number;
  maxOutcomes?: number;
  maxTargets?: number;
}

export interface AuditorComponents {
  /** This keeper's peer id: the auditor, never audited by itself. */
  self: string;
  /** The keeper's identity key: signs outcomes. */
  privateKey: PrivateKey;
  store: Store;
  logger: Logger;
  /** The transfer module's public streaming fetch (what a customer's fetch calls). */
  fetchStream: FetchStream;
  /** The provider's announced B_i (its signed peer record), undefined when unknown. */
  announcedBandwidth: (peerId: string) => number | undefined;
  /** The open epoch (stamped on outcomes). */
  currentEpoch: () => number;
  /** Every stored outcome, once (health counts it in the composition). */
  onOutcome?: (outcome: StoredAuditOutcome) => void;
  now?: () => number;
}

/** Dispatched (CustomEvent) when the next audit is scheduled (`detail`: the gap in ms) and when one ended. */
export const AUDIT_SCHEDULED = "audit:scheduled";
export const AUDIT_DONE = "audit:done";

export class Auditor extends EventTarget {
  private readonly log: Logger;
  private readonly audits: AuditStore;
  readonly targets: AuditTargets;
  private readonly bandwidth: MeasuredBandwidth;
  private readonly gaps: Random;
  private readonly choices: Random;
  private readonly rate: number;
  private readonly rule: { minThroughputRatio: number };
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly counts = Object.fromEntries(AUDIT_OUTCOMES.map((o) => [o, 0])) as Record<AuditOutcomeKind, number>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private controller = new AbortController();
  private started = false;

  constructor(
    private readonly components: AuditorComponents,
    init: AuditorInit = {},
  ) {
    super();
    this.log = components.logger.child("audit");
    this.rate = checkRate(init.ratePerHour ?? DEFAULT_AUDIT_RATE_PER_HOUR);
    const seed = init.seed ?? secretSeed();
    this.gaps = seededRandom(seed);
    this.choices = seededRandom(seed ^ CHOICE_STREAM);
    this.minBytes = init.minBytes ?? DEFAULT_AUDIT_MIN_BYTES;
    this.maxBytes = init.maxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
    if (!(this.minBytes >= 1 && this.maxBytes >= this.minBytes))
      throw new AuditConfigError("minBytes", "must be ≥ 1 and ≤ maxBytes");
    this.timeoutMs = init.timeoutMs ?? DEFAULT_AUDIT_TIMEOUT_MS;
    this.rule = { minThroughputRatio: init.minThroughputRatio ?? DEFAULT_MIN_THROUGHPUT_RATIO };
    if (!(this.rule.minThroughputRatio >= 0)) throw new AuditConfigError("minThroughputRatio", "must be ≥ 0");
    this.audits = new AuditStore(components.store, init.maxOutcomes ?? MAX_AUDIT_OUTCOMES);
    this.targets = new AuditTargets(init.maxTargets ?? MAX_AUDIT_TARGETS);
    this.bandwidth = new MeasuredBandwidth(init.ewmaWeight ?? DEFAULT_BANDWIDTH_EWMA_WEIGHT);
    this.now = components.now ?? Date.now;
  }

  /** Rebuilds the measured bandwidth from the stored outcomes and schedules the first audit. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.controller = new AbortController();
    for (const o of this.audits.list()) this.bandwidth.add(o.provider, o.outcome, o.throughputBps);
    this.scheduleNext();
    this.log.info("audits started", { ratePerHour: this.rate, targets: this.targets.size });
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort(new Error("audits stopping"));
    await this.running?.catch(() => undefined);
  }

  private scheduleNext(): void {
    const gap = nextGapMs(this.gaps, this.rate);
    if (gap === undefined || !this.started) return;
    this.dispatchEvent(new CustomEvent(AUDIT_SCHEDULED, { detail: gap }));
    this.timer = setTimeout(() => {
      this.running = this.auditOnce({ signal: this.controller.signal })
        .catch((err: unknown) => {
          if (!this.controller.signal.aborted) this.log.warn("audit failed to run", { error: err as Error });
        })
        .finally(() => {
          this.running = undefined;
          this.scheduleNext();
        });
    }, gap);
    this.timer.unref();
  }

  /** Learns the providers a transfer request names for its object (what can be audited). */
  learnRequest(request: { objectId: string; size: number; providers: readonly string[] }): void {
    for (const peerId of providerPeerIds(request.providers))
      if (peerId !== this.components.self) this.targets.learn(peerId, request.objectId, request.size);
  }

  /** Audits one random target now; undefined when there is none. */
  async auditOnce(options: { signal?: AbortSignal } = {}): Promise<StoredAuditOutcome | undefined> {
    const target = this.targets.pick(this.choices, this.components.self);
    if (target === undefined) {
      this.log.debug("no audit target known");
      return undefined;
    }
    return this.audit(target, options);
  }

  /**
   * Audits `target`: reads a random number of bytes from a random offset — any part of the object, not only its
   * start, so a provider that keeps only the beginning of what it announced fails — then judges, signs, stores and
   * reports the outcome.
   */
  async audit(target: AuditTarget, options: { signal?: AbortSignal } = {}): Promise<StoredAuditOutcome> {
    const { components } = this;
    const budgetBytes = randomInt(
      this.choices,
      Math.min(this.minBytes, target.size),
      Math.min(this.maxBytes, target.size),
    );
    const offsetBytes = randomInt(this.choices, 0, target.size - budgetBytes);
    const startedAtMs = this.now();
    const m = await auditFetch(components.fetchStream, {
      provider: target.provider,
      objectId: target.objectId,
      offsetBytes,
      budgetBytes,
      timeoutMs: this.timeoutMs,
      signal: options.signal,
      now: this.now,
    });
    const announced = components.announcedBandwidth(target.provider);
    const outcome = judge(m, announced, this.rule);
    const throughputBps = throughputOf(m);
    const epoch = components.currentEpoch();
    const signed = await signAuditOutcome(components.privateKey, {
      auditor: components.self,
      provider: target.provider,
      objectId: target.objectId,
      epoch,
      startedAtMs,
      bytes: m.bytes,
      elapsedMs: m.elapsedMs,
      firstByteMs: m.firstByteMs ?? -1,
      throughputBps,
      announcedBps: Math.floor(announced ?? 0),
      outcome,
      code: m.errorCode ?? "",
    });
    const stored: StoredAuditOutcome = {
      ...signed,
      hash: auditOutcomeHash(signed.body),
      atMs: this.now(),
      epoch,
      provider: target.provider,
      outcome,
      throughputBps,
    };
    this.audits.save(stored);
    this.counts[outcome]++;
    this.bandwidth.add(target.provider, outcome, throughputBps);
    (outcome === "pass" ? this.log.debug : this.log.info)("provider audited", {
      provider: target.provider,
      objectId: target.objectId,
      outcome,
      offsetBytes,
      bytes: m.bytes,
      throughputBps,
      announcedBps: announced,
      code: m.errorCode,
    });
    try {
      components.onOutcome?.(stored);
    } catch (err) {
      this.log.error("audit outcome callback threw", { error: err as Error });
    }
    this.dispatchEvent(new CustomEvent(AUDIT_DONE, { detail: stored }));
    return stored;
  }

  /** The provider's measured bandwidth (EWMA of its audits, bytes per second); undefined when never measured. */
  measuredBandwidth(peerId: string): number | undefined {
    return this.bandwidth.get(peerId);
  }

  /** Audits since start, by outcome (what /metrics exports as lumora_audits_total{outcome}). */
  stats(): Record<AuditOutcomeKind, number> {
    return { ...this.counts };
  }

  /** Stored outcomes of a window (what an epoch close freezes). */
  between(fromMs: number, toMs: number): StoredAuditOutcome[] {
    return this.audits.between(fromMs, toMs);
  }

  /** Stored outcomes signed while `epoch` was open. */
  outcomes(epoch: number): StoredAuditOutcome[] {
    return this.audits.inEpoch(epoch);
  }
}

/** Factory in the keeper's composition style: `auditor(init)(components)`. */
export function auditor(init: AuditorInit = {}): (components: AuditorComponents) => Auditor {
  return (components) => new Auditor(components, init);
}
