/**
 * Which of a fetch's open sources get part requests (docs/transfer.md, "Several sources"). Pure: the fetcher
 * reports sources opened, dropped and the bytes each delivered, and once per window the window's length and the
 * process's CPU time; this answers with the active sources. No clock, no I/O, so every rule is a unit test.
 *
 * One source serves first. Another is added only when that measurably raises the verified throughput:
 *  - a source is tried (one more active) only while the consumer has time to spare — CPU time over wall time below
 *    `spreadBelow` over the last `settleWindows` windows: a consumer that saturates a core can only lose by
 *    taking on more sources, and on a machine that also runs the providers more of them compete for its cores;
 *  - a trial is judged on at least `trialWindows` windows and `judgeParts` parts after a transition window (the
 *    new source's first round trip), against the same span just before it: kept when throughput rose by at least `minGain`, reverted otherwise (the source goes behind the other
 *    spares, so the next trial tries another), and the next trial then waits a backoff that doubles from
 *    `backoffWindows` up to `maxBackoffWindows` (a success resets it);
 *  - above `concentrateAbove` with more than one source active, one is dropped, as a trial too: it stays dropped
 *    unless throughput fell by more than `minGain`;
 *  - when nothing was verified over the settle windows (every active source stalled), a source is tried whatever
 *    the backoff;
 *  - an active source that delivered less than `1/slowRatio` of the fastest active one's bytes over the last
 *    `trialWindows` windows goes behind the spares: the next spare takes its place (its parts in flight still
 *    complete, or time out and go back to the queue); with no spare, the fetch tries doing without it, as above.
 * Sources keep the order they opened in, so the first to answer serves first. A fetch may open its sources only when
 * a trial needs one (`setUnopened`, the "needs a source" step): on a machine whose cores the consumer shares with its
 * providers, every handshake it does not need is CPU taken from the one source it uses.
 *
 * Utilisation leaves out the time the consumer's main thread waited for a core (`WindowSample.waitMs`): a consumer
 * starved by other processes, running whenever it can, has no time to spare either, and more sources only add
 * processes. A kept
 * addition is re-checked at once by a trial of one fewer (kept unless throughput falls by `minGain`), so one noisy
 * measurement does not keep a useless source for the rest of the fetch.
 */

export interface SourcePlanInit {
  spreadBelow: number;
  concentrateAbove: number;
  minGain: number;
  settleWindows: number;
  trialWindows: number;
  /** Parts a measurement must span, besides its windows: a rate from a handful of parts is mostly noise. */
  judgeParts: number;
  backoffWindows: number;
  maxBackoffWindows: number;
  slowRatio: number;
}

/** One window of the fetch: how long it lasted, the CPU time the process used in it, and how long its main thread
 * waited, runnable, for a core (the run queue; 0 where unknown) — all ms. Utilisation is CPU time over the time the
 * thread could run (length less wait): a consumer that runs whenever it gets a core lacks CPU, which more sources
 * cannot give, however little of the wall clock it got. */
export interface WindowSample {
  elapsedMs: number;
  cpuMs: number;
  waitMs?: number;
  /** Parts of the fetch still to arrive: not requested yet or in flight (undefined: unknown, taken as many). None:
   * nothing changes (at the end of a fetch to a file the consumer waits for its last fdatasync, which would otherwise
   * read as time to spare, or as every source stalled). Fewer than twice `judgeParts`: no source is tried, added or
   * opened unless every active source stalled — the parts would run out before the trial is judged, and a source
   * opened then pays its handshake for nothing. */
  remainingParts?: number;
}

/** What the planner did at the end of a window (for logs and tests). */
export type PlanStep =
  | "settling"
  | "steady"
  | "trying a source"
  | "trying one fewer"
  | "kept"
  | "reverted"
  | "demoted a slow source"
  /** The plan would try a source but none is open: the fetcher opens the next candidate (`unopened`). */
  | "needs a source";

interface Window {
  elapsedMs: number;
  cpuMs: number;
  waitMs: number;
  bytes: number;
  parts: number;
  /** Bytes per active source (the set is the same through every window since the last change). */
  perSource: Map<unknown, number>;
}

export class SourcePlan<S> {
  /** Sources in rotation order: the first `count` are active, the others spares. */
  private readonly order: S[] = [];
  private count = 1;
  private readonly delivered = new Map<S, number>();
  private deliveries = 0;
  /** Windows since the last change of the active set. */
  private windows: Window[] = [];
  private trial: { change: 1 | -1; baseline: number; recheck: boolean } | undefined;
  private wait = 0;
  private backoff: number;
  private started = false;
  /** Candidates the fetcher has not opened (yet): a trial opens one first. */
  private unopened = 0;
  /** The last trial added a source and kept it: the next decision re-checks it by trying one fewer. */
  private recheck = false;

  constructor(private readonly init: SourcePlanInit) {
    this.backoff = init.backoffWindows;
  }

  /** The sources that get requests now, in rotation order. */
  get active(): readonly S[] {
    return this.order.slice(0, this.count);
  }

  add(source: S): void {
    if (!this.order.includes(source)) this.order.push(source);
  }

  /** How many more sources the fetcher could open on request ("needs a source"). */
  setUnopened(n: number): void {
    this.unopened = n;
  }

  /** A source failed or closed: the next spare takes its place, and a trial in progress is void. */
  remove(source: S): void {
    const i = this.order.indexOf(source);
    if (i < 0) return;
    this.order.splice(i, 1);
    this.delivered.delete(source);
    if (i < this.count) this.changed();
  }

  /** `bytes` verified from `source`. */
  deliver(source: S, bytes: number): void {
    this.delivered.set(source, (this.delivered.get(source) ?? 0) + bytes);
    this.deliveries++;
  }

  /** Ends a window; returns what the plan did. */
  step(sample: WindowSample): PlanStep {
    this.count = Math.max(1, Math.min(this.count, this.order.length));
    const active = this.active;
    let bytes = 0;
    const perSource = new Map<unknown, number>();
    for (const [s, b] of this.delivered) {
      bytes += b;
      if (active.includes(s)) perSource.set(s, b);
    }
    this.delivered.clear();
    const parts = this.deliveries;
    this.deliveries = 0;
    // Nothing is judged before the first bytes: handshakes and the first round trip measure nothing.
    if (!this.started) {
      if (bytes === 0) return "settling";
      this.started = true;
    }
    this.windows.push({ ...sample, waitMs: sample.waitMs ?? 0, bytes, parts, perSource });
    if (this.wait > 0) this.wait--;

    if (this.trial !== undefined) {
      // The first window after a change is a transition (the new set's first round trip); the next ones judge.
      const judged = this.windows.slice(1);
      if (judged.length < this.init.trialWindows || partsOf(judged) < this.init.judgeParts) {
        return this.trial.change > 0 ? "trying a source" : "trying one fewer";
      }
      const rate = rateOf(judged);
      const { change, baseline, recheck } = this.trial;
      const keep = change > 0 ? rate >= baseline * (1 + this.init.minGain) : rate >= baseline * (1 - this.init.minGain);
      this.trial = undefined;
      this.windows = [];
      if (keep && change > 0) {
        // One measurement can be noise: the next decision tries doing without it again (a source that helps
        // survives that too, since its removal costs more than `minGain`).
        this.backoff = this.init.backoffWindows;
        this.recheck = true;
        return "kept";
      }
      if (!keep) {
        this.count -= change;
        // A source that did not help goes behind the other spares: the next trial tries another.
        if (change > 0) this.order.push(...this.order.splice(this.count, 1));
      }
      // A re-check that confirmed the source: the next decision may add another at once.
      if (recheck && !keep) return "reverted";
      // A failed addition, a source that proved needed, or one fewer that did as well: nothing to change for a while.
      this.wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.init.maxBackoffWindows);
      return keep ? "kept" : "reverted";
    }

    if (this.windows.length < 1 + this.init.settleWindows) return "settling";
    const settled = this.windows.slice(-this.init.settleWindows);
    // Of the time the consumer could run (the windows' length less its wait for a core), the share it used.
    const utilization = cpuOf(settled) / Math.max(elapsedOf(settled) - waitOf(settled), 1);
    // Every active source stalled: a spare is tried whatever the backoff (any progress beats none).
    const stalled = settled.every((w) => w.bytes === 0);
    // The baseline: the latest windows of this set that span `trialWindows` windows and `judgeParts` parts.
    const recent = this.recent();
    if (recent === undefined && !stalled) return "settling";
    // The last parts: the set stays as it is, unless every active source stalled with parts still owed.
    const remaining = sample.remainingParts ?? Number.POSITIVE_INFINITY;
    if (remaining === 0 || (!stalled && remaining < 2 * this.init.judgeParts)) return "steady";
    const demoted = recent === undefined ? undefined : this.demoteSlow(recent);
    if (demoted !== undefined) return demoted;
    if (
      recent !== undefined &&
      this.wait === 0 &&
      this.count > 1 &&
      (this.recheck || utilization > this.init.concentrateAbove)
    ) {
      const recheck = this.recheck;
      this.recheck = false;
      return this.startTrial(-1, rateOf(recent), recheck);
    }
    if ((this.wait === 0 || stalled) && utilization < this.init.spreadBelow) {
      if (this.count < this.order.length) return this.startTrial(1, recent === undefined ? 0 : rateOf(recent));
      if (this.unopened > 0) return "needs a source";
    }
    return "steady";
  }

  /** The latest windows since the last change (its transition window excluded) spanning `trialWindows` windows and
   * `judgeParts` parts, or undefined while there are not enough. */
  private recent(): Window[] | undefined {
    let parts = 0;
    for (let i = this.windows.length - 1; i >= 1; i--) {
      parts += this.windows[i].parts;
      if (this.windows.length - i >= this.init.trialWindows && parts >= this.init.judgeParts) {
        return this.windows.slice(i);
      }
    }
    return undefined;
  }

  private startTrial(change: 1 | -1, baseline: number, recheck = false): PlanStep {
    this.trial = { change, baseline, recheck };
    this.count += change;
    this.windows = [];
    return change > 0 ? "trying a source" : "trying one fewer";
  }

  /** Moves a slow active source behind the spares; with no spare, tries doing without it. */
  private demoteSlow(recent: Window[]): PlanStep | undefined {
    if (this.count < 2) return undefined;
    const totals = this.active.map((s) => recent.reduce((n, w) => n + (w.perSource.get(s) ?? 0), 0));
    const fastest = Math.max(...totals);
    const slow = totals.findIndex((t) => t * this.init.slowRatio < fastest);
    if (slow < 0) return undefined;
    // No spare open but candidates left: open one first; the next decision moves the slow one behind it.
    if (this.count === this.order.length && this.unopened > 0) return "needs a source";
    const [source] = this.order.splice(slow, 1);
    this.order.push(source);
    if (this.count === this.order.length) return this.startTrial(-1, rateOf(recent));
    this.changed();
    return "demoted a slow source";
  }

  private changed(): void {
    this.count = Math.max(1, Math.min(this.count, this.order.length));
    this.trial = undefined;
    this.recheck = false;
    this.windows = [];
  }
}

function elapsedOf(ws: Window[]): number {
  return ws.reduce((n, w) => n + w.elapsedMs, 0);
}

function partsOf(ws: Window[]): number {
  return ws.reduce((n, w) => n + w.parts, 0);
}

function waitOf(ws: Window[]): number {
  return ws.reduce((n, w) => n + w.waitMs, 0);
}

function cpuOf(ws: Window[]): number {
  return ws.reduce((n, w) => n + w.cpuMs, 0);
}

/** Bytes per ms over the windows. */
function rateOf(ws: Window[]): number {
  const ms = elapsedOf(ws);
  return ms > 0 ? ws.reduce((n, w) => n + w.bytes, 0) / ms : 0;
}
