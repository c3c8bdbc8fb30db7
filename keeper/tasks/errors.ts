/**
 * Task manager errors. Attempt-ending errors carry `penalise`: whether the executor is to blame (counts as a
 * failure towards its Reputation) or not (the keeper stopped or restarted).
 */

/** A submitted task is malformed. */
export class TaskInvalidError extends Error {
  override readonly name = "TaskInvalidError";
  readonly code = "TASK_INVALID";
  constructor(
    readonly taskId: string,
    readonly field: string,
    reason: string,
  ) {
    super(`task ${taskId}: ${field} ${reason}`);
  }
}

/** A task with this id was already submitted to this keeper. */
export class TaskDuplicateError extends Error {
  override readonly name = "TaskDuplicateError";
  readonly code = "TASK_DUPLICATE";
  constructor(readonly taskId: string) {
    super(`task ${taskId} already exists`);
  }
}

/** The manager is not running. */
export class TaskManagerStoppedError extends Error {
  override readonly name = "TaskManagerStoppedError";
  readonly code = "TASK_MANAGER_STOPPED";
  readonly penalise = false;
  constructor() {
    super("task manager is not running");
  }
}

/** An attempt ran past its timeout (or the task's deadline). */
export class TaskAttemptTimeoutError extends Error {
  override readonly name = "TaskAttemptTimeoutError";
  readonly code = "TASK_ATTEMPT_TIMEOUT";
  readonly penalise = true;
  constructor(
    readonly taskId: string,
    readonly peerId: string,
    readonly timeoutMs: number,
  ) {
    super(`task ${taskId} on ${peerId} timed out after ${timeoutMs} ms`);
  }
}

/** The executor disconnected during an attempt. */
export class TaskPeerDisconnectedError extends Error {
  override readonly name = "TaskPeerDisconnectedError";
  readonly code = "TASK_PEER_DISCONNECTED";
  readonly penalise = true;
  constructor(
    readonly taskId: string,
    readonly peerId: string,
  ) {
    super(`executor ${peerId} of task ${taskId} disconnected`);
  }
}

/** An executor returned a result that cannot be right (bad checksum format, negative bytes). */
export class TaskResultInvalidError extends Error {
  override readonly name = "TaskResultInvalidError";
  readonly code = "TASK_RESULT_INVALID";
  readonly penalise = true;
  constructor(
    readonly taskId: string,
    readonly peerId: string,
    reason: string,
  ) {
    super(`task ${taskId} on ${peerId}: ${reason}`);
  }
}

/**
 * Code of the error an `ExecuteOn` rejects with when the executor reached none of the task's providers (dead,
 * unreachable, or none but itself). The executor is not to blame; when this keeper sees no provider alive
 * either, the task fails at once. The network layer defines the error class (execution/errors.ts).
 */
export const TASK_NO_LIVE_PROVIDER = "TASK_NO_LIVE_PROVIDER";

/** Whether an attempt's error says the executor reached no provider. */
export function isNoLiveProvider(err: Error): boolean {
  return (err as { code?: unknown }).code === TASK_NO_LIVE_PROVIDER;
}
