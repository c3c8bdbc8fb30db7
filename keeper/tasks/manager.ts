/**
 * The task manager: one per keeper (any keeper coordinates the tasks it receives; there is no central node).
 *
 * Work happens in ticks (setImmediate after any event, plus a slow sweep): a tick ends the attempts that
 * settled, decides retries, assigns queued tasks (priority → deadline → FIFO) to the executor routing chooses,
 * commits every resulting write in ONE store transaction, and only then acknowledges: submissions resolve and
 * executions start. A crash therefore loses only unacknowledged work; `start()` re-queues what was in flight.
 *
 * Reassignment: a failed, timed-out or disconnected attempt ends with its outcome recorded; the executor is
 * never retried for that task; the next attempt goes to the task's first backup that is still available,
 * else to a fresh routing selection that excludes the executors tried. After `maxAttempts` failed attempts the
 * task fails; once its deadline passes it expires. Attempts interrupted by a keeper restart are recorded
 * ("interrupted") but do not count against `maxAttempts` — the executor was not at fault.
 *
 * Providers (docs/routing.md, "Providers and executors"): routing never makes one of a task's providers its
 * executor while another executor is eligible; when only a provider is, it is used, the choice is logged and
 * the task records 0 bytes moved with the reason. A task none of whose providers is alive fails at once
 * ("no live provider") instead of waiting for its deadline; a task that expires queued says what it lacked.
 */
import { EventEmitter } from "node:events";

import type { Logger } from "../logger.ts";
import type { NodeSelector } from "../routing/table.ts";
import type { Store } from "../store/index.ts";
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_MAX_ASSIGN_PER_TICK,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SWEEP_INTERVAL_MS,
  MAX_TASK_SIZE,
  MAX_UNPLACED_PER_TICK,
} from "./constants.ts";
import {
  TaskAttemptTimeoutError,
  TaskDuplicateError,
  TaskInvalidError,
  TaskManagerStoppedError,
  TaskPeerDisconnectedError,
  TaskResultInvalidError,
  isNoLiveProvider,
} from "./errors.ts";
import { TaskQueue } from "./queue.ts";
import { TaskStore, taskFromRow } from "./store.ts";
import type { AttemptOutcome, ExecuteOn, ExecutionResult, PeerLiveness, Task, TaskOutcome, TaskSpec } from "./types.ts";

export interface TaskManagerInit {
  /** Failed attempts (failure, timeout, disconnect) after which a task fails. */
  maxAttempts?: number;
  /** Longest one attempt may run, ms (also capped by the task's deadline). */
  attemptTimeoutMs?: number;
  /** Most assignments per tick / store transaction. */
  maxAssignPerTick?: number;
  /** Period of the queue sweep, ms. */
  sweepIntervalMs?: number;
}

export interface TaskManagerComponents {
  logger: Logger;
  store: Store;
  /** Routing: chooses executors and tracks the capacity this keeper uses. */
  selector: NodeSelector;
  /** Runs one attempt on an executor (the network layer). */
  executeOn: ExecuteOn;
  /** This keeper's view of a peer's liveness (health); without it providers are never judged gone. */
  providerStatus?: (peerId: string) => PeerLiveness;
  /** Clock in Unix ms (tests may pin it). */
  now?: () => number;
}

export interface TaskManagerEvents {
  /** A task ended (after its end was committed). */
  finished: [TaskOutcome];
  /** A tick committed; counts of what it did. */
  tick: [{ assigned: number; finished: number; writes: number }];
  /** The store refused a tick's writes; the manager stopped. */
  error: [Error];
}

interface Attempt {
  task: Task;
  peerId: string;
  attempt: number;
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

interface Settled {
  attempt: Attempt;
  result: ExecutionResult | undefined;
  error: Error | undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A TaskLog evidence hash: 0x and 32 bytes of hex. */
const EVIDENCE_HEX = /^0x[0-9a-f]{64}$/;

export class TaskManager extends EventEmitter<TaskManagerEvents> {
  readonly maxAttempts: number;
  readonly attemptTimeoutMs: number;
  private readonly maxAssignPerTick: number;
  private readonly sweepIntervalMs: number;
  private readonly log: Logger;
  private readonly db: TaskStore;
  private readonly selector: NodeSelector;
  private readonly executeOn: ExecuteOn;
  private readonly providerStatus: (peerId: string) => PeerLiveness;
  private readonly now: () => number;

  private running = false;
  private seq = 0;
  private readonly queue = new TaskQueue<Task>();
  private readonly open = new Map<string, Task>();
  private readonly inflight = new Map<string, Attempt>();
  private settled: Settled[] = [];
  private waiters: Waiter[] = [];
  private toLaunch: Attempt[] = [];
  private outcomes: TaskOutcome[] = [];
  private tickHandle: NodeJS.Immediate | undefined;
  private sweepHandle: NodeJS.Timeout | undefined;
  private assignedTotal = 0;

  constructor(components: TaskManagerComponents, init: TaskManagerInit = {}) {
    super();
    this.log = components.logger.child("tasks");
    this.db = new TaskStore(components.store);
    this.selector = components.selector;
    this.executeOn = components.executeOn;
    this.providerStatus = components.providerStatus ?? (() => undefined);
    this.now = components.now ?? Date.now;
    this.maxAttempts = init.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.attemptTimeoutMs = init.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    this.maxAssignPerTick = init.maxAssignPerTick ?? DEFAULT_MAX_ASSIGN_PER_TICK;
    this.sweepIntervalMs = init.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    for (const [k, v] of Object.entries({ maxAttempts: this.maxAttempts, maxAssignPerTick: this.maxAssignPerTick })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`tasks ${k} must be an integer ≥ 1, got ${v}`);
    }
    if (!(this.attemptTimeoutMs > 0)) throw new RangeError(`tasks attemptTimeoutMs must be > 0`);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The task store (for records and inspection). */
  get taskStore(): TaskStore {
    return this.db;
  }

  /** Counters for status and metrics. */
  stats(): { queued: number; inflight: number; open: number; assignedTotal: number } {
    return {
      queued: this.queue.size,
      inflight: this.inflight.size,
      open: this.open.size,
      assignedTotal: this.assignedTotal,
    };
  }

  /** Reloads unfinished tasks; in-flight attempts of a previous run are recorded as interrupted and re-queued. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (this.running) return;
    const now = this.now();
    this.seq = this.db.maxSeq();
    let interrupted = 0;
    for (const row of this.db.openTasks()) {
      const attempts = this.db.attemptsOf(row.id);
      const task = taskFromRow(row, attempts);
      if (task.status !== "queued") {
        for (const a of attempts) {
          if (a.outcome !== "running") continue;
          this.db.queueAttemptEnd(task.id, a.attempt, now, "interrupted", "keeper restarted during the attempt");
          interrupted++;
        }
        // The interrupted executor was not at fault and may hold partial work: it is tried first again.
        if (task.primary !== undefined && !task.tried.has(task.primary)) task.backups.unshift(task.primary);
        task.status = "queued";
        this.db.queueRequeue(task);
      }
      this.open.set(task.id, task);
      this.queue.push(task);
    }
    this.db.flush();
    this.running = true;
    // Kept referenced: a running manager owes its queued tasks an expiry even when nothing else happens.
    this.sweepHandle = setInterval(() => this.schedule(), this.sweepIntervalMs);
    this.log.info("task manager started", { reloaded: this.open.size, interrupted });
    if (this.queue.size > 0) this.schedule();
  }

  /**
   * Stops: commits what already settled, abandons running attempts without recording an outcome (the store
   * still shows them in flight, so the next start() re-queues them as interrupted).
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sweepHandle !== undefined) clearInterval(this.sweepHandle);
    if (this.tickHandle !== undefined) clearImmediate(this.tickHandle);
    this.tickHandle = undefined;
    try {
      this.tick(false);
    } catch {
      // already reported by tick()
    }
    const stopped = new TaskManagerStoppedError();
    for (const a of this.inflight.values()) {
      a.settled = true;
      if (a.timer !== undefined) clearTimeout(a.timer);
      this.selector.release(a.peerId);
      a.controller.abort(stopped);
    }
    for (const a of this.toLaunch) this.selector.release(a.peerId);
    this.inflight.clear();
    this.toLaunch = [];
    this.open.clear();
    this.queue.removeWhere(() => true);
    for (const w of this.waiters) w.reject(stopped);
    this.waiters = [];
    this.log.info("task manager stopped");
  }

  /**
   * Queues a task. Resolves once the task is durably stored (the acknowledgement); routing and execution
   * follow asynchronously.
   */
  submit(spec: TaskSpec, options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      options.signal?.throwIfAborted();
      if (!this.running) throw new TaskManagerStoppedError();
      validateSpec(spec);
      if (this.open.has(spec.id) || this.db.exists(spec.id)) throw new TaskDuplicateError(spec.id);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const task: Task = {
      id: spec.id,
      priority: spec.priority,
      size: spec.size,
      source: spec.source,
      deadline: spec.deadline,
      requirements: {
        capabilities: [...spec.requirements.capabilities],
        minBandwidth: spec.requirements.minBandwidth,
      },
      status: "queued",
      seq: ++this.seq,
      primary: undefined,
      backups: [],
      attempts: 0,
      tried: new Set(),
      createdAt: this.now(),
      startedAt: undefined,
      endedAt: undefined,
      executor: undefined,
      bytes: undefined,
      sha256: undefined,
      reason: undefined,
      providers: [...new Set(spec.providers ?? [])],
    };
    this.open.set(task.id, task);
    this.db.queueInsert(task);
    this.queue.push(task);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  /** The executor went away: its running attempts end as "disconnected" and their tasks are reassigned. */
  peerDisconnected(peerId: string): number {
    let n = 0;
    for (const a of this.inflight.values()) {
      if (a.peerId !== peerId || a.settled) continue;
      this.abortAttempt(a, new TaskPeerDisconnectedError(a.task.id, peerId));
      n++;
    }
    return n;
  }

  /** Asks for a tick soon (e.g. after routing learnt new nodes or capacity). */
  wake(): void {
    this.schedule();
  }

  private schedule(): void {
    if (!this.running || this.tickHandle !== undefined) return;
    this.tickHandle = setImmediate(() => {
      this.tickHandle = undefined;
      try {
        this.tick(true);
      } catch {
        // reported in tick()
      }
    });
  }

  private tick(assign: boolean): void {
    const now = this.now();
    let finished = 0;
    const settled = this.settled;
    this.settled = [];
    for (const s of settled) finished += this.endAttempt(s, now);
    let assigned = 0;
    if (assign) {
      const r = this.assignQueued(now);
      assigned = r.assigned;
      finished += r.finished;
    }
    let writes: number;
    try {
      writes = this.db.flush();
    } catch (err) {
      const error = err as Error;
      this.log.error("task store write failed; stopping", { error });
      for (const w of this.waiters) w.reject(error);
      this.waiters = [];
      this.emit("error", error);
      void this.stop();
      throw error;
    }
    // Committed: acknowledge.
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
    const launch = this.toLaunch;
    this.toLaunch = [];
    if (this.running) for (const a of launch) this.launch(a, now);
    const outcomes = this.outcomes;
    this.outcomes = [];
    for (const o of outcomes) this.emit("finished", o);
    if (writes > 0 || assigned > 0) this.emit("tick", { assigned, finished, writes });
    if (assign && this.queue.size > 0 && assigned === this.maxAssignPerTick) this.schedule();
  }

  private assignQueued(now: number): { assigned: number; finished: number } {
    let assigned = 0;
    let finished = 0;
    let unplaced = 0;
    const deferred: Task[] = [];
    while (assigned < this.maxAssignPerTick && unplaced < MAX_UNPLACED_PER_TICK) {
      const task = this.queue.pop();
      if (task === undefined) break;
      if (task.deadline <= now) {
        const why = task.unplaced ?? (task.attempts === 0 ? "it was never examined before its deadline" : undefined);
        this.finish(task, "expired", now, `deadline passed while queued${why !== undefined ? `: ${why}` : ""}`);
        finished++;
        continue;
      }
      const gone = this.goneProviders(task);
      if (gone !== undefined) {
        this.finish(task, "failed", now, `no live provider: ${gone}`);
        finished++;
        continue;
      }
      const peerId = this.pickExecutor(task);
      if (peerId === undefined) {
        task.unplaced = this.unplacedReason(task);
        deferred.push(task);
        unplaced++;
        continue;
      }
      unplaced = 0;
      this.assign(task, peerId, now);
      assigned++;
    }
    for (const t of deferred) this.queue.push(t);
    this.assignedTotal += assigned;
    return { assigned, finished };
  }

  /**
   * Why the task cannot run at all: every provider is known failed (health gave up on each). Undefined while
   * any provider may be alive, and for tasks whose providers are unknown.
   */
  private goneProviders(task: Task): string | undefined {
    if (task.providers.length === 0) return undefined;
    if (!task.providers.every((p) => this.providerStatus(p) === "failed")) return undefined;
    return `every provider failed its health checks (${task.providers.join(", ")})`;
  }

  /**
   * The task's next executor: a surviving backup on reassignment, else a fresh routing selection that avoids
   * the task's providers, else (only when no other executor is eligible) a provider, said so in the log.
   */
  private pickExecutor(task: Task): string | undefined {
    if (task.attempts > 0) {
      while (task.backups.length > 0) {
        const b = task.backups.shift()!;
        if (!task.tried.has(b) && this.selector.isAvailable(b)) {
          task.primary = b;
          return b;
        }
      }
    }
    const route = {
      taskId: task.id,
      capabilities: task.requirements.capabilities,
      minBandwidth: task.requirements.minBandwidth,
      exclude: task.tried,
    };
    let selection =
      task.providers.length === 0
        ? this.selector.select(route)
        : this.selector.select({ ...route, exclude: new Set([...task.tried, ...task.providers]) });
    if (selection === undefined && task.providers.length > 0) {
      selection = this.selector.select(route);
      if (selection !== undefined) {
        this.log.warn("only a provider of the object can execute the task; it moves nothing (0 bytes recorded)", {
          taskId: task.id,
          executor: selection.primary.peerId,
        });
      }
    }
    if (selection === undefined) return undefined;
    task.primary = selection.primary.peerId;
    task.backups = selection.backups.map((n) => n.peerId);
    return task.primary;
  }

  /** What no executor offered, for the record of a task that expires queued. */
  private unplacedReason(task: Task): string {
    const r = task.requirements;
    const caps = r.capabilities.length > 0 ? r.capabilities.join(", ") : "none";
    const tried =
      task.tried.size > 0 ? `; ${task.tried.size} excluded after failing (${[...task.tried].join(", ")})` : "";
    return `no available executor met the requirements (capabilities: ${caps}; bandwidth ≥ ${r.minBandwidth} B/s; below capacity, not flagged${tried})`;
  }

  private assign(task: Task, peerId: string, now: number): void {
    task.attempts++;
    task.status = "assigned";
    task.startedAt ??= now;
    task.unplaced = undefined;
    this.selector.acquire(peerId);
    this.db.queueAssign(task, peerId, now);
    const a: Attempt = {
      task,
      peerId,
      attempt: task.attempts,
      controller: new AbortController(),
      timer: undefined,
      settled: false,
    };
    this.inflight.set(task.id, a);
    this.toLaunch.push(a);
  }

  private launch(a: Attempt, now: number): void {
    const timeoutMs = Math.min(this.attemptTimeoutMs, a.task.deadline - now);
    if (timeoutMs <= 0) {
      this.abortAttempt(a, new TaskAttemptTimeoutError(a.task.id, a.peerId, 0));
      return;
    }
    a.timer = setTimeout(
      () => this.abortAttempt(a, new TaskAttemptTimeoutError(a.task.id, a.peerId, timeoutMs)),
      timeoutMs,
    );
    const onStarted = () => {
      if (a.settled || a.task.status !== "assigned") return;
      a.task.status = "running";
      this.db.queueRunning(a.task);
      this.schedule();
    };
    let pending: Promise<ExecutionResult>;
    try {
      pending = this.executeOn(a.task, a.peerId, { signal: a.controller.signal, onStarted });
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (result) => this.settle(a, result, undefined),
      (err: unknown) => this.settle(a, undefined, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private abortAttempt(a: Attempt, reason: Error): void {
    if (a.settled) return;
    this.settle(a, undefined, reason);
    a.controller.abort(reason);
  }

  private settle(a: Attempt, result: ExecutionResult | undefined, error: Error | undefined): void {
    if (a.settled || !this.running) return;
    a.settled = true;
    if (a.timer !== undefined) clearTimeout(a.timer);
    this.settled.push({ attempt: a, result, error });
    this.schedule();
  }

  /** Records how an attempt ended and what happens to its task; returns 1 when the task finished. */
  private endAttempt(s: Settled, now: number): number {
    const { attempt: a } = s;
    const task = a.task;
    this.inflight.delete(task.id);
    this.selector.release(a.peerId);
    let error = s.error;
    if (error === undefined) {
      const r = s.result!;
      if (!(Number.isSafeInteger(r.bytes) && r.bytes >= 0))
        error = new TaskResultInvalidError(task.id, a.peerId, "bytes must be a safe integer ≥ 0");
      else if (typeof r.sha256 !== "string" || !SHA256_HEX.test(r.sha256))
        error = new TaskResultInvalidError(task.id, a.peerId, "sha256 must be 64 lowercase hex digits");
    }
    if (error === undefined) {
      const r = s.result!;
      // A provider that executes serves the object to itself: whatever it claims, nothing crossed the network.
      const selfServed = task.providers.includes(a.peerId);
      const reason = selfServed
        ? `executor ${a.peerId} is a provider of the object and no other executor was available: nothing moved (0 bytes recorded)`
        : undefined;
      this.db.queueAttemptEnd(task.id, a.attempt, now, "succeeded", reason ?? null);
      task.executor = a.peerId;
      task.bytes = selfServed ? 0 : r.bytes;
      task.sha256 = r.sha256;
      if (typeof r.evidence === "string" && EVIDENCE_HEX.test(r.evidence)) this.db.queueEvidence(task, r.evidence);
      if (selfServed) this.log.warn("task executed by one of its providers; 0 bytes recorded", { taskId: task.id });
      this.finish(task, "succeeded", now, reason);
      return 1;
    }
    const outcome: AttemptOutcome =
      error instanceof TaskAttemptTimeoutError
        ? "timeout"
        : error instanceof TaskPeerDisconnectedError
          ? "disconnected"
          : "failed";
    this.db.queueAttemptEnd(task.id, a.attempt, now, outcome, error.message);
    task.tried.add(a.peerId);
    this.log.debug("attempt ended", { taskId: task.id, peerId: a.peerId, attempt: a.attempt, outcome });
    if (task.deadline <= now) {
      this.finish(task, "expired", now, `deadline passed (last attempt: ${outcome}: ${error.message})`);
      return 1;
    }
    // The executor reached no provider and this keeper sees none alive either: nothing can run the task.
    if (isNoLiveProvider(error) && !task.providers.some((p) => this.providerStatus(p) === "alive")) {
      this.finish(
        task,
        "failed",
        now,
        `no live provider: executor ${a.peerId} reached none and none is alive here (${error.message})`,
      );
      return 1;
    }
    if (task.tried.size >= this.maxAttempts) {
      this.finish(task, "failed", now, `attempts exhausted (${task.tried.size}); last: ${error.message}`);
      return 1;
    }
    task.status = "queued";
    this.db.queueRequeue(task);
    this.queue.push(task);
    return 0;
  }

  private finish(
    task: Task,
    status: "succeeded" | "failed" | "expired",
    now: number,
    reason: string | undefined,
  ): void {
    task.status = status;
    task.endedAt = now;
    task.reason = reason;
    this.db.queueFinish(task);
    this.open.delete(task.id);
    this.outcomes.push({ id: task.id, status, executor: task.executor, attempts: task.attempts, reason });
    if (status !== "succeeded")
      this.log.info("task ended", { taskId: task.id, status, attempts: task.attempts, reason });
  }
}

function validateSpec(spec: TaskSpec): void {
  const id = typeof spec.id === "string" ? spec.id : String(spec.id);
  if (typeof spec.id !== "string" || spec.id.length === 0)
    throw new TaskInvalidError(id, "id", "must be a non-empty string");
  if (!Number.isFinite(spec.priority)) throw new TaskInvalidError(id, "priority", "must be a finite number");
  if (!Number.isSafeInteger(spec.size) || spec.size < 0 || spec.size > MAX_TASK_SIZE) {
    throw new TaskInvalidError(id, "size", "must be an integer number of bytes ≥ 0");
  }
  if (typeof spec.source !== "string" || spec.source.length === 0)
    throw new TaskInvalidError(id, "source", "must be a peer id");
  if (!Number.isFinite(spec.deadline)) throw new TaskInvalidError(id, "deadline", "must be a Unix time in ms");
  const req = spec.requirements;
  if (req === undefined || !Array.isArray(req.capabilities))
    throw new TaskInvalidError(id, "requirements.capabilities", "must be an array");
  if (!(req.minBandwidth >= 0 && req.minBandwidth < Infinity)) {
    throw new TaskInvalidError(id, "requirements.minBandwidth", "must be a finite number ≥ 0");
  }
  const providers = spec.providers;
  if (
    providers !== undefined &&
    (!Array.isArray(providers) || providers.some((p) => typeof p !== "string" || p === ""))
  )
    throw new TaskInvalidError(id, "providers", "must be an array of peer ids");
}

/** Factory in the keeper's composition style: `taskManager(init)(components)`. */
export function taskManager(init: TaskManagerInit = {}): (components: TaskManagerComponents) => TaskManager {
  return (components) => new TaskManager(components, init);
}
