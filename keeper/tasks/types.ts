import type { Capability } from "../types.ts";

export type TaskStatus = "queued" | "assigned" | "running" | "succeeded" | "failed" | "expired";

/** How an attempt ended; "running" while it has not. */
export type AttemptOutcome = "running" | "succeeded" | "failed" | "timeout" | "disconnected" | "interrupted";

export interface TaskRequirements {
  /** Capabilities the executor must advertise. */
  capabilities: readonly Capability[];
  /** Minimum executor bandwidth, bytes per second. */
  minBandwidth: number;
}

/** What a consumer asks for. */
export interface TaskSpec {
  id: string;
  /** Higher runs first. */
  priority: number;
  /** Bytes the task moves. */
  size: number;
  /** Consumer peer id. */
  source: string;
  /** Unix time (ms) after which the task expires. */
  deadline: number;
  requirements: TaskRequirements;
  /**
   * Peer ids of the object's providers. Routing never makes one of them the executor unless no other executor
   * is eligible; a provider that executes moves nothing, so its task records 0 bytes. Also what the manager
   * checks for liveness: a task whose providers are all gone fails at once. Empty: unknown (no such checks).
   */
  providers?: readonly string[];
}

/** A task as the manager tracks it. */
export interface Task extends TaskSpec {
  status: TaskStatus;
  /** FIFO position among equal priority and deadline (assigned at submission, kept across restarts). */
  seq: number;
  /** Executor of the current/last attempt's assignment and its backups, best first. */
  primary: string | undefined;
  backups: string[];
  /** Attempts started so far. */
  attempts: number;
  /** Executors already tried and failed (never retried for this task). */
  tried: Set<string>;
  createdAt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  executor: string | undefined;
  bytes: number | undefined;
  sha256: string | undefined;
  /** Why it failed/expired, or why a success moved nothing (a provider executed it). */
  reason: string | undefined;
  /** Provider peer ids (normalised from the spec; empty when unknown). */
  providers: readonly string[];
  /** Why the last placement found no executor (not stored: rebuilt by the next tick after a restart). */
  unplaced?: string;
}

export interface ExecutionResult {
  /** Bytes the executor moved (verified by the transfer layer). */
  bytes: number;
  /** The object id the verified data hashes to (docs/PROTOCOL.md §7), 64 lowercase hex digits. */
  sha256: string;
  /**
   * The task's TaskLog `evidence`: keccak256 of the ids of the receipts (each carrying its voucher) the executor
   * signed for the transfer (transfer/receipt.ts `receiptsEvidence`), 0x-hex; absent when it reports none.
   */
  evidence?: string;
}

export interface ExecuteOptions {
  /** Aborted on timeout, disconnect or shutdown; the attempt's result is ignored afterwards. */
  signal: AbortSignal;
  /** Call when the executor accepted the task (moves it from "assigned" to "running"). */
  onStarted?: () => void;
}

/** How this keeper sees a peer (health's view); undefined when it does not watch the peer. */
export type PeerLiveness = "alive" | "suspect" | "failed" | undefined;

/** Runs one attempt of `task` on `peerId` (the network layer provides it). */
export type ExecuteOn = (task: Readonly<Task>, peerId: string, options: ExecuteOptions) => Promise<ExecutionResult>;

/** Snapshot of a finished task, as given to listeners. */
export interface TaskOutcome {
  id: string;
  status: "succeeded" | "failed" | "expired";
  executor: string | undefined;
  attempts: number;
  reason: string | undefined;
}
