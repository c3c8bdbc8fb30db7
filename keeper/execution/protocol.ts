/**
 * `/lumora/task/1.0.0`: a coordinator hands one task to an executor and waits for its result.
 *
 * Coordinator → executor: TaskRequest. Executor → coordinator: TaskAccepted when it starts (the task manager
 * then marks the attempt running), then TaskResult. An executor that cannot take the task answers TaskResult
 * with `ok = false` straight away. A dead executor shows up as a reset or timed-out stream: the attempt fails
 * and the task manager reassigns it to a backup.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../logger.ts";
import type { LumoraNode } from "../p2p/node.ts";
import { linkSignals } from "../signals.ts";
import type { ExecuteOptions, ExecutionResult, Task } from "../tasks/types.ts";
import { readMessage, writeMessage } from "../wire/framing.ts";
import { WireError } from "../wire/errors.ts";
import {
  ACCEPT_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_TASKS,
  MAX_CODE_BYTES,
  MAX_ERROR_BYTES,
  MAX_PROVIDER_BYTES,
  MAX_PROVIDERS,
  MAX_TASK_ID_BYTES,
  MAX_TASK_MESSAGE_BYTES,
  NO_LIVE_PROVIDER_CODE,
  TASK_PROTOCOL,
} from "./constants.ts";
import {
  TaskExecutionError,
  TaskMessageInvalidError,
  TaskNoLiveProviderError,
  TaskRejectedError,
  TaskResultMismatchError,
} from "./errors.ts";
import { isRefusal, type Admission, type Admitted } from "./admission.ts";
import type { TaskPayloads } from "./payloads.ts";
import { TaskAccepted, TaskRequest, TaskResult } from "./pb/execution.ts";

const encoder = new TextEncoder();
const byteLength = (s: string) => encoder.encode(s).byteLength;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Checks every field of a request; throws TaskMessageInvalidError naming the first bad one. */
export function validateRequest(req: TaskRequest, now = Date.now()): void {
  const idBytes = byteLength(req.taskId);
  if (idBytes === 0 || idBytes > MAX_TASK_ID_BYTES)
    throw new TaskMessageInvalidError("task_id", `must be 1..${MAX_TASK_ID_BYTES} bytes`);
  if (req.objectId.byteLength !== 32) throw new TaskMessageInvalidError("object_id", "must be 32 bytes");
  if (req.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new TaskMessageInvalidError("size", "too large");
  if (req.providers.length === 0 || req.providers.length > MAX_PROVIDERS) {
    throw new TaskMessageInvalidError("providers", `must have 1..${MAX_PROVIDERS} entries`);
  }
  for (const p of req.providers) {
    if (p.length === 0 || byteLength(p) > MAX_PROVIDER_BYTES)
      throw new TaskMessageInvalidError("providers", "entry empty or too long");
  }
  if (req.deadlineMs <= BigInt(now)) throw new TaskMessageInvalidError("deadline_ms", "already passed");
}

function validateResult(res: TaskResult, taskId: string, peerId: string): void {
  if (res.taskId !== taskId) throw new TaskResultMismatchError(taskId, peerId, `result is for task ${res.taskId}`);
  if (byteLength(res.error) > MAX_ERROR_BYTES) throw new TaskMessageInvalidError("error", "too long");
  if (byteLength(res.code) > MAX_CODE_BYTES) throw new TaskMessageInvalidError("code", "too long");
  if (res.ok && res.sha256.byteLength !== 32) throw new TaskMessageInvalidError("sha256", "must be 32 bytes");
  if (res.evidence.byteLength !== 0 && res.evidence.byteLength !== 32)
    throw new TaskMessageInvalidError("evidence", "must be 32 bytes or empty");
}

export interface TaskWork {
  taskId: string;
  objectId: string;
  size: number;
  providers: string[];
  deadlineMs: number;
  coordinator: string;
}

export interface TaskExecutionComponents {
  node: LumoraNode;
  logger: Logger;
  /** Payloads of the tasks this keeper coordinates. */
  payloads: TaskPayloads;
  /** Does the work of a task this keeper executes (fetch and verify the object); resolves to its result. */
  perform(work: TaskWork, options: { signal: AbortSignal }): Promise<ExecutionResult>;
  /** Called for provable protocol violations by a peer. */
  penalise?(peerId: PeerId, err: Error): void;
  /** Who may ask and how much (admission.ts); without it every well-formed request is taken. */
  admission?: Admission;
}

export interface TaskExecutionInit {
  /** Tasks run at once here; more are refused (the coordinator picks a backup). */
  maxConcurrent?: number;
}

export class TaskExecutionService {
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private running = 0;
  private started = false;

  constructor(
    private readonly components: TaskExecutionComponents,
    private readonly init: TaskExecutionInit = {},
  ) {
    this.log = components.logger.child("execution");
  }

  /** Requests refused by admission, per code. */
  refusals(): Record<string, number> {
    return this.components.admission?.refusals() ?? {};
  }

  /** Tasks executing here now. */
  get load(): number {
    return this.running;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.components.node.handle(TASK_PROTOCOL, (stream, connection) => this.onStream(stream, connection), {
      maxInboundStreams: (this.init.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_TASKS) * 2,
    });
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.controller.abort(new Error("execution service stopping"));
    await this.components.node.unhandle(TASK_PROTOCOL).catch(() => {});
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const coordinator = connection.remotePeer.toString();
    let req: TaskRequest;
    try {
      req = await readMessage<TaskRequest>(stream, TaskRequest, MAX_TASK_MESSAGE_BYTES, {
        signal: AbortSignal.timeout(ACCEPT_TIMEOUT_MS),
      });
      validateRequest(req);
    } catch (err) {
      const e = err as Error;
      this.log.throttled("task request rejected", "warn", "task request rejected", {
        coordinator,
        code: (err as { code?: string }).code,
        reason: e.message,
      });
      stream.abort(e);
      if ((err instanceof WireError || err instanceof TaskExecutionError) && err.penalise) {
        this.components.penalise?.(connection.remotePeer, e);
      }
      return;
    }
    const reply = (r: Omit<TaskResult, "taskId" | "evidence"> & { evidence?: Uint8Array<ArrayBuffer> }) =>
      writeMessage(
        stream,
        TaskResult,
        { taskId: req.taskId, evidence: new Uint8Array(0), ...r },
        MAX_TASK_MESSAGE_BYTES,
      );
    const max = this.init.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_TASKS;
    if (this.running >= max) {
      await reply({
        ok: false,
        bytes: 0n,
        sha256: new Uint8Array(),
        error: `at capacity (${max} tasks)`,
        code: "",
      }).catch(() => {});
      await stream.close().catch(() => {});
      return;
    }
    // The slot is taken before admission awaits its lookups: concurrent requests cannot all pass the capacity
    // check while their admissions are pending.
    this.running++;
    const deadlineMs = Number(req.deadlineMs);
    let admitted: Admitted | undefined;
    if (this.components.admission !== undefined) {
      let verdict: Awaited<ReturnType<Admission["admit"]>>;
      try {
        verdict = await this.components.admission.admit(coordinator, {
          size: Number(req.size),
          deadlineMs,
          providers: req.providers,
        });
      } catch (err) {
        this.running--;
        stream.abort(err as Error);
        return;
      }
      if (isRefusal(verdict)) {
        this.running--;
        this.log.debug("task request refused", { coordinator, code: verdict.code, reason: verdict.reason });
        await reply({
          ok: false,
          bytes: 0n,
          sha256: new Uint8Array(),
          error: verdict.reason,
          code: verdict.code,
        }).catch(() => {});
        await stream.close().catch(() => {});
        return;
      }
      admitted = verdict;
    }
    // Linked for this task only: AbortSignal.any on the long-lived stop signal kept memory per task (signals.ts).
    const link = linkSignals([this.controller.signal], Math.max(1, deadlineMs - Date.now()));
    const signal = link.signal;
    try {
      await writeMessage(stream, TaskAccepted, { taskId: req.taskId }, MAX_TASK_MESSAGE_BYTES, { signal });
      const work: TaskWork = {
        taskId: req.taskId,
        objectId: hex(req.objectId),
        size: Number(req.size),
        // Admitted: peer ids whose addresses come from their signed records, never from the request.
        providers: admitted?.providers ?? req.providers,
        deadlineMs,
        coordinator,
      };
      let result: ExecutionResult;
      try {
        result = await this.components.perform(work, { signal });
      } catch (err) {
        // Shutting down: this node is going away, which the coordinator must see as an outage (reset stream),
        // not as an answer about the task.
        if (this.controller.signal.aborted) throw err;
        const noProvider = err instanceof TaskNoLiveProviderError;
        const reason = (noProvider ? err.detail : ((err as Error).message ?? String(err))).slice(0, MAX_ERROR_BYTES);
        this.log.warn("task failed here", { taskId: req.taskId, reason });
        const code = noProvider ? NO_LIVE_PROVIDER_CODE : "";
        await reply({ ok: false, bytes: 0n, sha256: new Uint8Array(), error: reason, code });
        await stream.close().catch(() => {});
        return;
      }
      await reply({
        ok: true,
        bytes: BigInt(result.bytes),
        sha256: Buffer.from(result.sha256, "hex"),
        error: "",
        code: "",
        ...(result.evidence !== undefined && { evidence: Buffer.from(result.evidence.slice(2), "hex") }),
      });
      await stream.close().catch(() => {});
      this.log.debug("task done here", { taskId: req.taskId, bytes: result.bytes });
    } catch (err) {
      stream.abort(err as Error);
    } finally {
      link.clear();
      this.running--;
      admitted?.release();
    }
  }

  /**
   * The task manager's `executeOn`: sends `task` (with its registered payload) to `peerId` and resolves to the
   * executor's verified result. Rejects on refusal, failure, protocol violation, disconnect or abort.
   */
  async executeOn(task: Readonly<Task>, peerId: string, options: ExecuteOptions): Promise<ExecutionResult> {
    // Linked for this call only: AbortSignal.any on the long-lived stop signal kept memory per task (signals.ts).
    const link = linkSignals([options.signal, this.controller.signal]);
    try {
      return await this.executeOnUnder(task, peerId, options, link.signal);
    } finally {
      link.clear();
    }
  }

  private async executeOnUnder(
    task: Readonly<Task>,
    peerId: string,
    options: ExecuteOptions,
    signal: AbortSignal,
  ): Promise<ExecutionResult> {
    const payload = this.components.payloads.get(task.id);
    const remote = peerIdFromString(peerId);
    const stream = await this.components.node.dialProtocol(remote, TASK_PROTOCOL, { signal });
    try {
      await writeMessage(
        stream,
        TaskRequest,
        {
          taskId: task.id,
          objectId: Buffer.from(payload.objectId, "hex"),
          size: BigInt(payload.size),
          providers: payload.providers,
          deadlineMs: BigInt(task.deadline),
        },
        MAX_TASK_MESSAGE_BYTES,
        { signal },
      );
      const accept = linkSignals([signal], ACCEPT_TIMEOUT_MS);
      // The first answer is TaskAccepted, or a TaskResult refusing the task. Both carry task_id as field 1;
      // a refusal also has ok/error set, which TaskAccepted's decoder would drop, so decode as TaskResult.
      const first = await readMessage<TaskResult>(stream, TaskResult, MAX_TASK_MESSAGE_BYTES, {
        signal: accept.signal,
      }).finally(() => accept.clear());
      if (first.taskId !== task.id) throw new TaskResultMismatchError(task.id, peerId, `answer is for ${first.taskId}`);
      if (first.error !== "") throw new TaskRejectedError(task.id, peerId, first.error);
      options.onStarted?.();
      const result = await readMessage<TaskResult>(stream, TaskResult, MAX_TASK_MESSAGE_BYTES, { signal });
      validateResult(result, task.id, peerId);
      if (!result.ok && result.code === NO_LIVE_PROVIDER_CODE)
        throw new TaskNoLiveProviderError(task.id, result.error || "no provider reached");
      if (!result.ok) throw new TaskRejectedError(task.id, peerId, result.error || "failed");
      const sha256 = hex(result.sha256);
      if (sha256 !== payload.objectId)
        throw new TaskResultMismatchError(task.id, peerId, "checksum differs from the object id");
      await stream.close().catch(() => {});
      return {
        bytes: Number(result.bytes),
        sha256,
        ...(result.evidence.byteLength === 32 && { evidence: "0x" + hex(result.evidence) }),
      };
    } catch (err) {
      stream.abort(err as Error);
      if (err instanceof TaskExecutionError && err.penalise) this.components.penalise?.(remote, err);
      throw err;
    }
  }
}

export function taskExecution(
  init: TaskExecutionInit = {},
): (components: TaskExecutionComponents) => TaskExecutionService {
  return (components) => new TaskExecutionService(components, init);
}
