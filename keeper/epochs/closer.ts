/**
 * The epoch closer: everything between "the epoch is over" and "the chain holds it".
 *
 * A close (a cron tick or an operator's `close-epoch`) gathers the other keepers' evidence, freezes and
 * finalizes the open epoch (collect/collector.ts) and builds its trees. It never waits for the chain: the hand-over —
 * publication, then submission (our turn) or verification (someone else's) — runs in the closer's own settle
 * loop, which takes every closed epoch not yet handed over, oldest first, exactly once:
 *
 *   frozen ──finalize──▶ closed ──publish──▶ published ──submit / verify──▶ settled (submitted | verified | alarm)
 *
 * The loop starts with the keeper and runs again after every close and, while something is pending, every
 * `retryMs`; so an epoch left anywhere by a crash (frozen, closed, published, TaskLog sent but RewardPool not)
 * is finished at the next start without anyone asking. The chain's contracts are read before every step
 * (submit/submitter.ts), which is what makes "again" safe. A settled epoch is recorded in this module's table; epochs
 * settle in order, so "settled" is a watermark.
 *
 * An epoch that cannot be settled (RPC down, pool underfunded, a previous epoch missing on chain) is a stall:
 * counted on every failed attempt (`onAttemptFailed`), logged once as an error when it has lasted
 * `stallAlarmMs`, shown by `status()`; later epochs wait behind it (the contracts take epochs in order). A root
 * on chain that differs from ours, or a vetoed epoch, is an alarm: recorded, and the loop moves on.
 */
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";

import type { Logger } from "../logger.ts";
import type { Migration, Store } from "../store/index.ts";
import { buildEpoch } from "./build.ts";
import type { EpochCollector } from "./collect/collector.ts";
import { publishEpoch, readEpochSummary, updateEpochSummary, type EpochSummary } from "./proofs/publish.ts";
import { SETTLE_RETRY_MS, STALL_ALARM_MS } from "./constants.ts";
import { EpochReclosedError } from "./quorum/errors.ts";
import { EpochRootMismatchError, EpochVetoedError } from "./submit/errors.ts";
import type { EpochSubmitter, SubmitResult } from "./submit/submitter.ts";
import type { EpochTurns, TurnOutcome } from "./submit/turns.ts";
import type { BuiltEpoch, EpochEvidence } from "./types.ts";

export const CLOSER_NAMESPACE = "epoch-closer";

/** Settled results kept in memory for callers of `closeNow` (a handful: closes are minutes apart). */
const RESULTS_KEPT = 8;

const CLOSER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE epoch_settled (
        epoch INTEGER PRIMARY KEY,
        outcome TEXT NOT NULL CHECK (outcome IN ('published', 'submitted', 'verified', 'adopted', 'alarm')),
        detail TEXT,
        settled_at INTEGER NOT NULL
      );
    `,
  },
];

/** How an epoch left the closer's hands. */
export type SettleOutcome = "published" | "submitted" | "verified" | "adopted" | "alarm";

/** One step of an epoch close, for progress (`receipts:gathered`, `trees:built`, `published`, `tasklog:sent`…). */
export interface EpochStepDetail {
  epoch: number;
  step: string;
  at: number;
  info?: Record<string, string | number>;
}

/** What one epoch's close and hand-over produced. */
export interface EpochCloseResult {
  built: BuiltEpoch;
  summary: EpochSummary;
  outcome: SettleOutcome;
  submit?: SubmitResult;
  turn?: TurnOutcome;
}

/** An epoch the settle loop cannot finish yet. */
export interface EpochStall {
  epoch: number;
  /** When the first failed attempt happened (Unix ms). */
  since: number;
  attempts: number;
  reason: string;
  /** Whether it has lasted `stallAlarmMs` (logged as an error once). */
  alarm: boolean;
}

export interface EpochCloserStatus {
  /** Last epoch closed here (0 when none). */
  lastClosed: number;
  /** Last epoch settled here. */
  lastSettled: number;
  /** Closed epochs waiting for their hand-over, oldest first. */
  pending: number[];
  stall: EpochStall | undefined;
  /** Epochs whose chain roots differ from ours or that were vetoed. */
  alarms: number[];
  /** When this keeper last saw one of its epochs settle on chain (Unix ms), undefined when never. */
  lastSettledAt: number | undefined;
}

export interface EpochCloserInit {
  /** Where epochs are published. */
  publishDir: string;
  /** Retry cadence of a stalled hand-over. Default SETTLE_RETRY_MS. */
  retryMs?: number;
  /** How long a stall lasts before it is an alarm. Default STALL_ALARM_MS. */
  stallAlarmMs?: number;
  /** URI committed to TaskLog for an epoch's records. */
  uriFor?: (epoch: number) => string;
}

export interface EpochCloserComponents {
  collector: EpochCollector;
  store: Store;
  logger: Logger;
  /**
   * Resolves when closes and hand-overs may proceed (the chain's epoch numbering is known); awaited before every
   * close and settle pass. Rejects only when `signal` aborts.
   */
  ready?: (options: { signal: AbortSignal }) => Promise<void>;
  /** The lowest number the next epoch may take (the chain's open epoch); undefined when unknown. */
  minEpoch?: () => number | undefined;
  /**
   * When the chain holds another keeper's view of an epoch we closed: take it over ours (EvidenceAdopter.adopt).
   * Throws when the committed evidence cannot be had (the epoch then settles as an alarm).
   */
  adopt?: (epoch: number, options: { signal: AbortSignal }) => Promise<{ reopened: number[] }>;
  /** Before a freeze, after the gather: e.g. mirror chain epochs this keeper never closed. Errors are logged. */
  beforeFreeze?: (options: { signal: AbortSignal }) => Promise<void>;
  /**
   * Between the freeze and the finalize of an epoch: sign this keeper's health observations of it and gather the
   * other keepers' (observe/observer.ts), so its reports are merged ones. Errors are logged, the close goes on.
   */
  observe?: (epoch: number, options: { signal: AbortSignal }) => Promise<void>;
  /** What the epoch's evidence publishes beside the collector's (the observations its reports were merged from). */
  evidenceOf?: (epoch: number) => Partial<EpochEvidence>;
  /** Pulls the other keepers' evidence into the store before a freeze; errors are logged, the close goes on. */
  gather?: (epoch: number, options: { signal: AbortSignal }) => Promise<void>;
  /** Submission (with a chain key); without it epochs are only published. */
  submitter?: EpochSubmitter;
  /** Rotation among the network's keepers; without it this keeper submits every epoch itself. */
  turns?: EpochTurns;
  onStep?: (detail: EpochStepDetail) => void;
  /** Every failed hand-over attempt (the operator's failure metric). */
  onAttemptFailed?: (epoch: number, err: Error) => void;
  /** Every epoch settled on chain by this keeper's submission (the operator's submission metric). */
  onSubmitted?: (epoch: number) => void;
}

interface Waiter {
  epoch: number;
  resolve: (r: EpochCloseResult) => void;
  reject: (err: Error) => void;
}

export class EpochCloser {
  private readonly log: Logger;
  private controller = new AbortController();
  private closing: Promise<number> | undefined;
  /** Results of the epochs settled by this process, for a `closeNow` whose epoch settled before it asked. */
  private readonly results = new Map<number, EpochCloseResult>();
  private settling: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stall: EpochStall | undefined;
  private readonly built = new Map<number, BuiltEpoch>();
  private readonly waiters: Waiter[] = [];
  private lastSettledAt: number | undefined;
  private started = false;

  constructor(
    private readonly components: EpochCloserComponents,
    private readonly init: EpochCloserInit,
  ) {
    this.log = components.logger.child("epochs:closer");
    components.store.migrate(CLOSER_NAMESPACE, CLOSER_MIGRATIONS);
  }

  /** Finalizes what a crash left frozen, then settles every epoch left behind (in the background). */
  async start(): Promise<void> {
    this.controller = new AbortController();
    this.started = true;
    const { collector } = this.components;
    // Hand-overs of closed epochs first: a frozen epoch's paid credit waits for the previous epoch's commitment
    // (docs/epochs.md "Paid demand"), which the settle loop may be the one to send.
    void this.wake();
    for (const epoch of collector.unfinalizedEpochs()) {
      this.log.info("finalizing an epoch a restart left frozen", { epoch });
      await this.observe(epoch);
      await collector.finalize(epoch, { signal: this.controller.signal });
    }
    const pending = this.pendingEpochs();
    if (pending.length > 0) this.log.info("resuming the hand-over of closed epochs", { epochs: pending });
    this.wake();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.controller.abort(new Error("epoch closer stopped"));
    await this.closing?.catch(() => {});
    await this.settling?.catch(() => {});
    for (const w of this.waiters.splice(0)) w.reject(new Error("epoch closer stopped"));
  }

  /**
   * Closes the open epoch and waits for its hand-over (and that of every epoch before it): resolves with what
   * it produced, or throws why it could not be settled now (the epoch stays closed and is retried).
   */
  async closeNow(): Promise<EpochCloseResult> {
    const epoch = await this.closeOnly();
    return this.settled(epoch);
  }

  /**
   * Closes the open epoch (gather, freeze, finalize, build) and queues its hand-over; returns its number. A
   * call during a close joins it (a tick and an operator's close do not make two epochs).
   */
  closeOnly(): Promise<number> {
    this.closing ??= this.doClose().finally(() => (this.closing = undefined));
    return this.closing;
  }

  /**
   * Forgets the hand-over state of an earlier era (see EpochCollector.startNewEra): the settled watermark, and
   * the publication folder, which moves to `<publishDir>.era-<era>` so the new era's epoch 1 never mixes with
   * the old one. Call before `start()`.
   */
  startNewEra(era: number): void {
    this.components.store.db.prepare("DELETE FROM epoch_settled").run();
    this.results.clear();
    this.built.clear();
    const dir = this.init.publishDir;
    if (existsSync(dir)) renameSync(dir, `${dir}.era-${era}`);
    this.log.warn("earlier epochs' publication moved aside", { to: `${dir}.era-${era}` });
  }

  /** Whether a close (gather → build) is running now. */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  status(): EpochCloserStatus {
    const alarms = (
      this.components.store.db
        .prepare("SELECT epoch FROM epoch_settled WHERE outcome = 'alarm' ORDER BY epoch DESC LIMIT 20")
        .all() as { epoch: number }[]
    ).map((r) => r.epoch);
    return {
      lastClosed: this.components.collector.lastClosedEpoch(),
      lastSettled: this.lastSettledEpoch(),
      pending: this.pendingEpochs(),
      stall: this.stall === undefined ? undefined : { ...this.stall },
      alarms,
      lastSettledAt: this.lastSettledAt,
    };
  }

  /** Runs the settle loop now (also what a retry does). Resolves when the pass is over. */
  wake(): Promise<void> {
    if (!this.started) return Promise.resolve();
    if (this.settling !== undefined) {
      this.again = true;
      return this.settling;
    }
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const run = (async () => {
      do {
        this.again = false;
        await this.settlePending();
      } while (this.again && this.started);
    })().finally(() => (this.settling = undefined));
    this.settling = run;
    return run;
  }

  // ─────────────────────────────────────────── close ───────────────────────────────────────────

  private async doClose(): Promise<number> {
    const { collector, gather } = this.components;
    const signal = this.controller.signal;
    await this.components.ready?.({ signal });
    const open = collector.currentEpoch();
    if (gather !== undefined) {
      try {
        await gather(open, { signal });
      } catch (err) {
        signal.throwIfAborted();
        this.log.warn("gathering records before the close failed; closing with ours", { error: err as Error });
      }
    }
    if (this.components.beforeFreeze !== undefined) {
      try {
        await this.components.beforeFreeze({ signal });
      } catch (err) {
        signal.throwIfAborted();
        this.log.warn("preparing the freeze failed; closing anyway", { error: err as Error });
      }
    }
    const bundle = await collector.close({
      signal,
      minEpoch: this.components.minEpoch?.(),
      beforeFinalize: (epoch) => this.observe(epoch),
    });
    const built = await buildEpoch(bundle, { signal });
    this.built.set(bundle.epoch, built);
    this.step(bundle.epoch, "trees:built", { accounts: bundle.contributions.length, tasks: bundle.tasks.length });
    void this.wake();
    return bundle.epoch;
  }

  /** The observation step of a close (see `observe` in the components); never fails the close. */
  private async observe(epoch: number): Promise<void> {
    const signal = this.controller.signal;
    try {
      await this.components.observe?.(epoch, { signal });
    } catch (err) {
      signal.throwIfAborted();
      this.log.warn("gathering health observations failed; reports merged from what is held", {
        epoch,
        error: err as Error,
      });
    }
  }

  private settled(epoch: number): Promise<EpochCloseResult> {
    const done = this.results.get(epoch);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise<EpochCloseResult>((resolve, reject) => {
      this.waiters.push({ epoch, resolve, reject });
      void this.wake();
    });
  }

  // ─────────────────────────────────────────── settle ──────────────────────────────────────────

  private lastSettledEpoch(): number {
    const row = this.components.store.db.prepare("SELECT COALESCE(MAX(epoch), 0) AS e FROM epoch_settled").get() as {
      e: number;
    };
    return row.e;
  }

  /** Closed epochs after the settled watermark, oldest first. */
  private pendingEpochs(): number[] {
    return this.components.collector.closedEpochsAfter(this.lastSettledEpoch());
  }

  private async settlePending(): Promise<void> {
    try {
      await this.components.ready?.({ signal: this.controller.signal });
    } catch {
      return; // stopped
    }
    for (const epoch of this.pendingEpochs()) {
      if (!this.started) return;
      let result: EpochCloseResult;
      try {
        result = await this.settleOne(epoch);
      } catch (err) {
        if (!this.started) return;
        this.stalled(epoch, err as Error);
        return;
      }
      this.markSettled(epoch, result);
    }
    this.stall = undefined;
  }

  private markSettled(epoch: number, result: EpochCloseResult): void {
    this.components.store.db
      .prepare("INSERT OR REPLACE INTO epoch_settled (epoch, outcome, detail, settled_at) VALUES (?, ?, ?, ?)")
      .run(epoch, result.outcome, null, Date.now());
    this.built.delete(epoch);
    this.results.set(epoch, result);
    for (const e of this.results.keys()) if (e <= epoch - RESULTS_KEPT) this.results.delete(e);
    if (this.stall?.epoch === epoch) {
      this.log.info("stalled epoch settled", { epoch, attempts: this.stall.attempts, outcome: result.outcome });
      this.stall = undefined;
    }
    if (result.outcome === "submitted" || result.outcome === "verified") this.lastSettledAt = Date.now();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.epoch === epoch) (this.waiters.splice(i, 1), w.resolve(result));
    }
  }

  private stalled(epoch: number, err: Error): void {
    const now = Date.now();
    const reason = err.message;
    const s = this.stall?.epoch === epoch ? this.stall : { epoch, since: now, attempts: 0, reason, alarm: false };
    s.attempts++;
    s.reason = reason;
    this.stall = s;
    this.components.onAttemptFailed?.(epoch, err);
    this.step(epoch, "failed", { error: reason });
    const alarmAfter = this.init.stallAlarmMs ?? STALL_ALARM_MS;
    if (!s.alarm && now - s.since >= alarmAfter) {
      s.alarm = true;
      this.log.error("epoch hand-over stalled", { epoch, attempts: s.attempts, sinceMs: now - s.since, reason });
    } else {
      this.log.warn("epoch hand-over failed; will retry", { epoch, attempts: s.attempts, reason });
    }
    // Whoever waits for this epoch or a later one learns why now; the loop retries on its own.
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.epoch >= epoch) {
        this.waiters.splice(i, 1);
        w.reject(new Error(`epoch ${epoch} not settled: ${reason}`));
      }
    }
    if (this.started) {
      this.retryTimer = setTimeout(() => void this.wake(), this.init.retryMs ?? SETTLE_RETRY_MS);
      this.retryTimer.unref?.();
    }
  }

  /** Publishes the epoch (unless it already is) and sees it onto the chain. */
  private async settleOne(epoch: number, reclosed = false): Promise<EpochCloseResult> {
    const signal = this.controller.signal;
    const { collector, submitter, turns } = this.components;
    const { publishDir } = this.init;
    const built = this.built.get(epoch) ?? (await buildEpoch(collector.bundle(epoch), { signal }));
    this.built.set(epoch, built);
    let summary = await this.published(epoch);
    // A publication whose roots are not this build's (the epoch was re-finalized after adopting the chain's view,
    // possibly with a crash in between) is written again: what is served must match what is submitted.
    const stale =
      summary !== undefined &&
      (summary.rewards?.root !== built.rewardTree?.root || summary.tasks?.root !== built.taskTree?.root);
    if (summary === undefined || stale || reclosed) {
      const uri = this.init.uriFor?.(epoch) ?? `lumora:epoch/${epoch}`;
      const evidence = { ...collector.evidence(epoch), ...this.components.evidenceOf?.(epoch) };
      summary = await publishEpoch(built, publishDir, { uri, signal, evidence });
      this.step(epoch, "published", { uri });
    }
    if (submitter === undefined) return { built, summary, outcome: "published" };

    const result: EpochCloseResult = { built, summary, outcome: "submitted" };
    try {
      if (turns !== undefined) {
        result.turn = await turns.handle(built, {
          signal,
          onRetry: (err) => this.components.onAttemptFailed?.(epoch, err),
        });
        result.submit = result.turn.submit;
        const v = result.turn.verify;
        if (v.rewardPool === "vetoed") result.outcome = "alarm";
        else if (v.taskLog === "mismatch" || v.rewardPool === "mismatch")
          result.outcome = await this.adoptOrAlarm(
            epoch,
            `roots differ (TaskLog ${v.taskLog}, RewardPool ${v.rewardPool})`,
          );
        else result.outcome = result.turn.role === "submitted" ? "submitted" : "verified";
      } else {
        result.submit = await submitter.submit(built, { signal });
      }
    } catch (err) {
      if (err instanceof EpochRootMismatchError) {
        return { built, summary, outcome: await this.adoptOrAlarm(epoch, err.message) };
      }
      if (err instanceof EpochReclosedError) {
        // A union round joined observations and re-finalized the epoch: build, publish and submit that (the
        // submitter bounds the rounds per epoch).
        this.built.delete(epoch);
        return this.settleOne(epoch, true);
      }
      if (err instanceof EpochVetoedError) {
        this.components.onAttemptFailed?.(epoch, err);
        this.log.error("epoch settled with an alarm", { epoch, reason: err.message });
        return { built, summary, outcome: "alarm" };
      }
      throw err;
    }
    if (result.submit !== undefined) {
      this.components.onSubmitted?.(epoch);
      const s = result.submit;
      const transactions = {
        ...(s.txHashes.taskLog !== undefined && { taskLog: s.txHashes.taskLog }),
        ...(s.txHashes.rewardPool !== undefined && { rewardPool: s.txHashes.rewardPool }),
        ...(s.txHashes.reputation.length > 0 && { reputation: s.txHashes.reputation }),
      };
      if (Object.keys(transactions).length > 0)
        result.summary = await updateEpochSummary(publishDir, epoch, { transactions });
    }
    return result;
  }

  /**
   * Another keeper's view of the epoch is on chain: take it over ours (no receipt credited twice or never), or,
   * when its evidence cannot be had, settle the epoch as an alarm.
   */
  private async adoptOrAlarm(epoch: number, why: string): Promise<SettleOutcome> {
    if (this.components.adopt !== undefined) {
      try {
        const { reopened } = await this.components.adopt(epoch, { signal: this.controller.signal });
        // Later epochs that counted what the chain counted here were re-finalized: build them anew (their stale
        // publication is replaced when they settle, see settleOne).
        for (const e of reopened) this.built.delete(e);
        this.log.info("the chain's view of the epoch adopted over ours", { epoch, why });
        return "adopted";
      } catch (err) {
        this.controller.signal.throwIfAborted();
        // The keeper that committed it may be restarting: retry (a stall) until the stall is an alarm.
        if (!(this.stall?.epoch === epoch && this.stall.alarm))
          throw new Error(`the chain's view of epoch ${epoch} cannot be adopted yet: ${(err as Error).message}`);
        this.log.error("epoch settled with an alarm: the chain's view could not be adopted", {
          epoch,
          why,
          error: err as Error,
        });
      }
    } else this.log.error("epoch settled with an alarm", { epoch, reason: why });
    this.components.onAttemptFailed?.(epoch, new Error(why));
    return "alarm";
  }

  private async published(epoch: number): Promise<EpochSummary | undefined> {
    try {
      return await readEpochSummary(this.init.publishDir, epoch);
    } catch {
      return undefined;
    }
  }

  private step(epoch: number, step: string, info?: EpochStepDetail["info"]): void {
    this.components.onStep?.({ epoch, step, at: Date.now(), ...(info !== undefined && { info }) });
  }
}

/** Factory in the keeper's component style: `epochCloser(init)(components)`. */
export function epochCloser(init: EpochCloserInit): (components: EpochCloserComponents) => EpochCloser {
  return (components) => new EpochCloser(components, init);
}

/** Default publication folder of a keeper. */
export function defaultPublishDir(dataDir: string): string {
  return join(dataDir, "epochs");
}
