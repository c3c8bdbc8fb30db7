/**
 * Transfer requests, the coordinator's side: a request (object, size, providers) becomes a task — its payload
 * stored for the executor, its spec queued with the task manager, which routes it to an executor plus backups.
 * The caller gets the task id at once and, when it wants, the outcome once the task finished.
 */
import type { TaskManager, TaskOutcome, TaskSpec } from "../tasks/index.ts";
import { DEFAULT_TRANSFER_DEADLINE_MS, DEFAULT_TRANSFER_PRIORITY } from "./constants.ts";
import { providerPeerIds, type TaskPayloads } from "./payloads.ts";

export interface TransferRequest {
  /** The transfer object id (hex; docs/PROTOCOL.md §7). */
  objectId: string;
  size: number;
  /** Providers (multiaddrs with /p2p or peer ids). */
  providers: string[];
  priority?: number;
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Task id (default random). */
  id?: string;
}

export interface TransferRequestsComponents {
  /** This keeper's peer id: the consumer of what it requests. */
  self: string;
  tasks: Pick<TaskManager, "submit" | "on">;
  payloads: Pick<TaskPayloads, "put">;
}

export class TransferRequests {
  /** Callers waiting for a task's outcome, by task id. */
  private readonly waiters = new Map<string, (o: TaskOutcome) => void>();

  constructor(private readonly components: TransferRequestsComponents) {
    components.tasks.on("finished", (o) => {
      this.waiters.get(o.id)?.(o);
      this.waiters.delete(o.id);
    });
  }

  /** Queues the transfer task: its id, and `done` for its outcome (succeeded, failed or expired). */
  async submit(
    req: TransferRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ id: string; done: Promise<TaskOutcome> }> {
    const { self, tasks, payloads } = this.components;
    const id = req.id ?? `task-${self.slice(-8)}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    payloads.put(id, { objectId: req.objectId, size: req.size, providers: req.providers });
    const spec: TaskSpec = {
      id,
      priority: req.priority ?? DEFAULT_TRANSFER_PRIORITY,
      size: req.size,
      source: self,
      deadline: Date.now() + (req.deadlineMs ?? DEFAULT_TRANSFER_DEADLINE_MS),
      requirements: { capabilities: ["executor"], minBandwidth: 0 },
      providers: providerPeerIds(req.providers),
    };
    const done = new Promise<TaskOutcome>((resolve) => this.waiters.set(id, resolve));
    try {
      await tasks.submit(spec, options);
    } catch (err) {
      this.waiters.delete(id);
      throw err;
    }
    return { id, done };
  }
}

export function transferRequests(): (components: TransferRequestsComponents) => TransferRequests {
  return (components) => new TransferRequests(components);
}
