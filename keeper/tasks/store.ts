/**
 * The "tasks" namespace of the keeper's store: one row per task and one per attempt. Writes are queued by the
 * manager and committed together, one transaction per tick, through prepared statements — so a tick's
 * assignments cost one fsync, and nothing is acknowledged (submission resolved, execution started) before
 * its transaction committed.
 */
import type { StatementSync } from "node:sqlite";

import type { Store } from "../store/index.ts";
import type { Capability } from "../types.ts";
import type { AttemptOutcome, Task, TaskStatus } from "./types.ts";

export const TASKS_NAMESPACE = "tasks";

export const TASK_MIGRATIONS = [
  {
    version: 1,
    up: `
      CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        priority REAL NOT NULL,
        size INTEGER NOT NULL,
        consumer TEXT NOT NULL,
        deadline INTEGER NOT NULL,
        capabilities TEXT NOT NULL,
        min_bandwidth REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','assigned','running','succeeded','failed','expired')),
        executor TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        ended_at INTEGER,
        bytes INTEGER,
        sha256 TEXT,
        evidence TEXT,
        reason TEXT
      );
      CREATE INDEX tasks_ended ON tasks (ended_at) WHERE ended_at IS NOT NULL;
      CREATE TABLE task_attempts (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        attempt INTEGER NOT NULL,
        executor TEXT NOT NULL,
        backups TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT NOT NULL
          CHECK (outcome IN ('running','succeeded','failed','timeout','disconnected','interrupted')),
        reason TEXT,
        PRIMARY KEY (task_id, attempt)
      ) WITHOUT ROWID;
    `,
  },
  {
    // Provider peer ids of the task (JSON array): routing avoids them as executors, liveness checks use them.
    version: 2,
    up: "ALTER TABLE tasks ADD COLUMN providers TEXT NOT NULL DEFAULT '[]';",
  },
] as const;

export interface AttemptRow {
  task_id: string;
  attempt: number;
  executor: string;
  /** Backups chosen with this attempt's executor (JSON array of peer ids), best first. */
  backups: string;
  started_at: number;
  ended_at: number | null;
  outcome: AttemptOutcome;
  reason: string | null;
}

export interface TaskRow {
  id: string;
  seq: number;
  priority: number;
  size: number;
  consumer: string;
  deadline: number;
  capabilities: string;
  min_bandwidth: number;
  status: TaskStatus;
  executor: string | null;
  attempts: number;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  bytes: number | null;
  sha256: string | null;
  evidence: string | null;
  reason: string | null;
  /** Provider peer ids, JSON array. */
  providers: string;
}

type Op = () => void;

export class TaskStore {
  private readonly pending: Op[] = [];
  private readonly insertTask: StatementSync;
  private readonly assignTask: StatementSync;
  private readonly insertAttempt: StatementSync;
  private readonly setRunning: StatementSync;
  private readonly endAttempt: StatementSync;
  private readonly requeueTask: StatementSync;
  private readonly finishTask: StatementSync;
  private readonly setEvidence: StatementSync;
  private readonly existsTask: StatementSync;

  constructor(readonly store: Store) {
    store.migrate(TASKS_NAMESPACE, TASK_MIGRATIONS);
    const db = store.db;
    this.insertTask = db.prepare(
      "INSERT INTO tasks (id, seq, priority, size, consumer, deadline, capabilities, min_bandwidth, status, " +
        "created_at, providers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
    );
    // Only fixed-size columns change on assignment: growing a row in a full page costs a page rebalance, which
    // dominated the assignment cost. The executor and backups go in the (append-only) attempt row.
    this.assignTask = db.prepare(
      "UPDATE tasks SET status = 'assigned', attempts = ?, started_at = COALESCE(started_at, ?) WHERE seq = ?",
    );
    this.insertAttempt = db.prepare(
      "INSERT INTO task_attempts (task_id, attempt, executor, backups, started_at, outcome) " +
        "VALUES (?, ?, ?, ?, ?, 'running')",
    );
    this.setRunning = db.prepare("UPDATE tasks SET status = 'running' WHERE seq = ? AND status = 'assigned'");
    this.endAttempt = db.prepare(
      "UPDATE task_attempts SET ended_at = ?, outcome = ?, reason = ? WHERE task_id = ? AND attempt = ?",
    );
    this.requeueTask = db.prepare("UPDATE tasks SET status = 'queued' WHERE seq = ?");
    this.finishTask = db.prepare(
      "UPDATE tasks SET status = ?, executor = ?, ended_at = ?, bytes = ?, sha256 = ?, reason = ? WHERE seq = ?",
    );
    this.setEvidence = db.prepare("UPDATE tasks SET evidence = ? WHERE id = ?");
    this.existsTask = db.prepare("SELECT 1 FROM tasks WHERE id = ?");
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  exists(id: string): boolean {
    return this.existsTask.get(id) !== undefined;
  }

  queueInsert(t: Task): void {
    this.pending.push(() =>
      this.insertTask.run(
        t.id,
        t.seq,
        t.priority,
        t.size,
        t.source,
        t.deadline,
        JSON.stringify(t.requirements.capabilities),
        t.requirements.minBandwidth,
        t.createdAt,
        JSON.stringify(t.providers),
      ),
    );
  }

  queueAssign(t: Task, executor: string, at: number): void {
    const attempt = t.attempts;
    const backups = JSON.stringify(t.backups);
    const primary = t.primary ?? null;
    this.pending.push(() => {
      this.assignTask.run(attempt, at, t.seq);
      this.insertAttempt.run(t.id, attempt, executor, backups, at);
    });
  }

  queueRunning(t: Task): void {
    const seq = t.seq;
    this.pending.push(() => this.setRunning.run(seq));
  }

  queueAttemptEnd(id: string, attempt: number, at: number, outcome: AttemptOutcome, reason: string | null): void {
    this.pending.push(() => this.endAttempt.run(at, outcome, reason, id, attempt));
  }

  queueRequeue(t: Task): void {
    const seq = t.seq;
    this.pending.push(() => this.requeueTask.run(seq));
  }

  queueFinish(t: Task): void {
    const row = [t.status, t.executor ?? null, t.endedAt ?? null, t.bytes ?? null, t.sha256 ?? null, t.reason ?? null];
    this.pending.push(() => this.finishTask.run(...(row as [string]), t.seq));
  }

  /** Records the hash of the signed receipts backing a task (its TaskLog `evidence`). Immediate. */
  recordEvidence(id: string, evidence: string): void {
    this.setEvidence.run(evidence, id);
  }

  /** The same, with the tick's other writes (after the task's insert, whatever the order it was queued in). */
  queueEvidence(t: Task, evidence: string): void {
    const id = t.id;
    this.pending.push(() => this.setEvidence.run(evidence, id));
  }

  /** Commits every queued write in one transaction. Throws (and keeps nothing) when the transaction fails. */
  flush(): number {
    const n = this.pending.length;
    if (n === 0) return 0;
    const ops = this.pending.splice(0, n);
    this.store.transaction(() => {
      for (let i = 0; i < ops.length; i++) ops[i]!();
    });
    return n;
  }

  /** Tasks not finished yet, in queue order. */
  openTasks(): TaskRow[] {
    return this.store.db
      .prepare("SELECT * FROM tasks WHERE status IN ('queued','assigned','running') ORDER BY seq")
      .all() as unknown as TaskRow[];
  }

  attemptsOf(id: string): AttemptRow[] {
    return this.store.db
      .prepare("SELECT * FROM task_attempts WHERE task_id = ? ORDER BY attempt")
      .all(id) as unknown as AttemptRow[];
  }

  task(id: string): TaskRow | undefined {
    return this.store.db.prepare("SELECT * FROM tasks WHERE id = ?").get(id) as unknown as TaskRow | undefined;
  }

  maxSeq(): number {
    return (this.store.db.prepare("SELECT COALESCE(MAX(seq), 0) AS m FROM tasks").get() as { m: number }).m;
  }

  /** Finished tasks with `fromMs ≤ ended_at < toMs`, in end order. */
  finishedBetween(fromMs: number, toMs: number): TaskRow[] {
    return this.store.db
      .prepare(
        "SELECT * FROM tasks WHERE ended_at >= ? AND ended_at < ? AND status IN ('succeeded','failed','expired') " +
          "ORDER BY ended_at, id",
      )
      .all(fromMs, toMs) as unknown as TaskRow[];
  }

  /** How many tasks are in each state (states without tasks are absent). */
  countByState(): Partial<Record<TaskStatus, number>> {
    const rows = this.store.db.prepare("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status").all() as Array<{
      status: TaskStatus;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Tasks that needed more than one attempt, and the attempts after the first over all tasks. */
  reassignments(): { tasks: number; attempts: number } {
    const db = this.store.db;
    const tasks = (db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE attempts > 1").get() as { n: number }).n;
    const attempts = (db.prepare("SELECT COUNT(*) AS n FROM task_attempts WHERE attempt > 1").get() as { n: number }).n;
    return { tasks, attempts };
  }

  /** The latest tasks, newest first; `executor` falls back to the last attempt's while none finished it. */
  recent(limit: number): TaskRow[] {
    return this.store.db
      .prepare(
        "SELECT t.id, t.seq, t.priority, t.size, t.consumer, t.deadline, t.capabilities, t.min_bandwidth, " +
          "t.status, t.attempts, t.created_at, t.started_at, t.ended_at, t.bytes, t.sha256, t.evidence, t.reason, " +
          "t.providers, COALESCE(t.executor, (SELECT a.executor FROM task_attempts a WHERE a.task_id = t.id " +
          "ORDER BY a.attempt DESC LIMIT 1)) AS executor FROM tasks t ORDER BY t.seq DESC LIMIT ?",
      )
      .all(limit) as unknown as TaskRow[];
  }
}

/** Rebuilds the in-memory task from its row (and attempts, for the executors already tried). */
export function taskFromRow(row: TaskRow, attempts: readonly AttemptRow[]): Task {
  const tried = new Set<string>();
  for (const a of attempts)
    if (a.outcome === "failed" || a.outcome === "timeout" || a.outcome === "disconnected") tried.add(a.executor);
  const last = attempts[attempts.length - 1];
  return {
    id: row.id,
    priority: row.priority,
    size: row.size,
    source: row.consumer,
    deadline: row.deadline,
    requirements: { capabilities: JSON.parse(row.capabilities) as Capability[], minBandwidth: row.min_bandwidth },
    status: row.status,
    seq: row.seq,
    primary: last?.executor,
    backups: last !== undefined ? (JSON.parse(last.backups) as string[]) : [],
    attempts: row.attempts,
    tried,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    endedAt: row.ended_at ?? undefined,
    executor: row.executor ?? undefined,
    bytes: row.bytes ?? undefined,
    sha256: row.sha256 ?? undefined,
    reason: row.reason ?? undefined,
    providers: JSON.parse(row.providers) as string[],
  };
}
