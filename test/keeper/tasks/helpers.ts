/**
 * Test components for the task manager: a real in-process executor whose peers can be told to succeed, fail,
 * hang or answer late, and a tiny network of NodeViews in a real RoutingTable.
 */
import { createHash } from "node:crypto";

import { TaskNoLiveProviderError } from "../../../keeper/execution/errors.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { RoutingTable } from "../../../keeper/routing/table.ts";
import type { ExecuteOptions, ExecutionResult, Task, TaskSpec } from "../../../keeper/tasks/types.ts";
import type { NodeView } from "../../../keeper/types.ts";

export const silent = createLogger("test", { level: "silent" });

export type Behaviour =
  | { mode: "ok"; delayMs?: number }
  | { mode: "fail"; delayMs?: number }
  | { mode: "hang" }
  /** The executor reached none of the task's providers (what execution/perform.ts reports). */
  | { mode: "no-provider" };

/** Executes a task by producing `size` deterministic bytes and hashing them — real work, controllable faults. */
export class LocalExecutor {
  readonly behaviour = new Map<string, Behaviour>();
  readonly calls: { taskId: string; peerId: string }[] = [];
  /** Calls whose signal fired, with the abort reason's name. */
  readonly aborted: { taskId: string; peerId: string; reason: string }[] = [];

  set(peerId: string, b: Behaviour): this {
    this.behaviour.set(peerId, b);
    return this;
  }

  readonly executeOn = async (
    task: Readonly<Task>,
    peerId: string,
    { signal, onStarted }: ExecuteOptions,
  ): Promise<ExecutionResult> => {
    this.calls.push({ taskId: task.id, peerId });
    signal.addEventListener(
      "abort",
      () => this.aborted.push({ taskId: task.id, peerId, reason: (signal.reason as Error)?.name ?? "?" }),
      { once: true },
    );
    const b = this.behaviour.get(peerId) ?? { mode: "ok" };
    onStarted?.();
    if (b.mode === "hang") {
      await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    }
    if ("delayMs" in b && b.delayMs !== undefined) await new Promise((r) => setTimeout(r, b.delayMs));
    signal.throwIfAborted();
    if (b.mode === "fail") throw new Error(`executor ${peerId} refused`);
    if (b.mode === "no-provider") throw new TaskNoLiveProviderError(task.id, `${peerId} reached no provider`);
    return payloadResult(task.id, task.size);
  };
}

export function payloadResult(taskId: string, size: number): ExecutionResult {
  const data = Buffer.alloc(size, taskId);
  // The executor's evidence hash (of its receipts) stands in as a hash of the task id.
  const evidence = "0x" + createHash("sha256").update(`evidence of ${taskId}`).digest("hex");
  return { bytes: size, sha256: createHash("sha256").update(data).digest("hex"), evidence };
}

export function executorNode(peerId: string, over: Partial<NodeView> = {}): NodeView {
  return {
    peerId,
    bandwidth: 10_000_000,
    capacity: 8,
    load: 0,
    proximity: 1,
    latencyMs: 10,
    shard: 0,
    flagged: false,
    capabilities: ["executor"],
    ...over,
  };
}

/** A routing table with one shard (so tests pick by score alone) holding `nodes`. */
export function table(nodes: NodeView[], backups = 2): RoutingTable {
  const t = new RoutingTable({ logger: silent }, { shards: 1, backups });
  for (const n of nodes) t.upsert(n);
  return t;
}

let counter = 0;
export function spec(over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id: `task-${++counter}`,
    priority: 0,
    size: 1024,
    source: "consumer-1",
    deadline: Date.now() + 60_000,
    requirements: { capabilities: ["executor"], minBandwidth: 0 },
    ...over,
  };
}
