import { TASK_NO_LIVE_PROVIDER } from "../tasks/errors.ts";

/** Typed failures of task execution; `penalise` says whether the peer provably misbehaved. */
export class TaskExecutionError extends Error {
  override name = "TaskExecutionError";
  constructor(
    message: string,
    readonly code: string,
    readonly penalise: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The executor refused the task or reported that it failed. Not a protocol violation. */
export class TaskRejectedError extends TaskExecutionError {
  override name = "TaskRejectedError";
  constructor(
    readonly taskId: string,
    readonly peerId: string,
    readonly reason: string,
  ) {
    super(`executor ${peerId} failed task ${taskId}: ${reason}`, "TASK_REJECTED", false);
  }
}

/** A field of a request or result breaks the protocol's rules. */
export class TaskMessageInvalidError extends TaskExecutionError {
  override name = "TaskMessageInvalidError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`invalid task message field ${field}: ${reason}`, "TASK_MESSAGE_INVALID", true);
  }
}

/** The executor's result does not match what was asked (other task id, wrong checksum). */
export class TaskResultMismatchError extends TaskExecutionError {
  override name = "TaskResultMismatchError";
  constructor(
    readonly taskId: string,
    readonly peerId: string,
    reason: string,
  ) {
    super(`executor ${peerId} returned a bad result for ${taskId}: ${reason}`, "TASK_RESULT_MISMATCH", true);
  }
}

/** No payload is known for a task id (the coordinator must register it before submitting the task). */
export class TaskPayloadMissingError extends TaskExecutionError {
  override name = "TaskPayloadMissingError";
  constructor(readonly taskId: string) {
    super(`no payload registered for task ${taskId}`, "TASK_PAYLOAD_MISSING", false);
  }
}

/**
 * The executor reached none of the task's providers (all dead or unreachable, or none but itself listed). Sent
 * back with code NO_LIVE_PROVIDER; the coordinator rethrows it so the task manager can fail the task at once.
 * Not the executor's fault: never penalised, and the executor is not unreachable.
 */
export class TaskNoLiveProviderError extends TaskExecutionError {
  override name = "TaskNoLiveProviderError";
  constructor(
    readonly taskId: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`no live provider for task ${taskId}: ${detail}`, TASK_NO_LIVE_PROVIDER, false, options);
  }
}
