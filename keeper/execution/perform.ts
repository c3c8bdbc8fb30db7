/**
 * The executor's side of a transfer task: what `/lumora/task/1.0.0` runs when this keeper is chosen
 * (docs/PROTOCOL.md §8). The rules, each with its reason:
 *
 * - This keeper is one of the request's providers and holds the object: nothing has to move. It answers
 *   success with 0 bytes (the coordinator records 0 too) and says so in the log.
 * - It holds the object but is not a provider of the request (it fetched it for an earlier task): it must still
 *   prove that a provider of this request is alive and serves the object — one part fetched from a provider and
 *   compared with its own copy (transfer/probe.ts). The bytes reported are that part's, what crossed the network.
 *   No provider passing means the attempt fails: success with no provider alive is impossible.
 * - Otherwise it fetches the whole object from the providers other than itself, verified, into
 *   `<dataDir>/objects/<objectId>`, and serves it from then on.
 *
 * When no provider could be reached (or none but itself is listed) the attempt fails with
 * TaskNoLiveProviderError, which the coordinator's task manager turns into an immediate "no live provider".
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import type { Logger } from "../logger.ts";
import type { ExecutionResult } from "../tasks/types.ts";
import { NoProvidersError, receiptsEvidence, type FetchResult, type ProbeResult } from "../transfer/index.ts";
import { TaskNoLiveProviderError } from "./errors.ts";
import { providerPeerId } from "./payloads.ts";
import type { TaskWork } from "./protocol.ts";

export interface PerformInit {
  /** Folder of the keeper's data; fetched objects go to `<dataDir>/objects`. */
  dataDir: string;
  /** Delay (ms) added before working: demo/test knob to make an executor slow. */
  executionDelayMs?: number;
}

/** The slice of the transfer service an executor uses. */
export interface PerformTransfer {
  held(objectId: string): number | undefined;
  probe(objectId: string, options: { providers: readonly string[]; signal?: AbortSignal }): Promise<ProbeResult>;
  fetch(
    objectId: string,
    options: { providers: readonly string[]; to: string; signal?: AbortSignal },
  ): Promise<FetchResult>;
  publish(path: string, options: { announce?: boolean; partSize?: number; signal?: AbortSignal }): Promise<unknown>;
}

export interface PerformComponents {
  transfer: PerformTransfer;
  /** This keeper's peer id. */
  selfPeerId: string;
  logger: Logger;
}

export type Perform = (work: TaskWork, options: { signal: AbortSignal }) => Promise<ExecutionResult>;

/** Factory in the keeper's composition style: `transferPerformer(init)(components)` is the `perform` callback. */
export function transferPerformer(init: PerformInit): (components: PerformComponents) => Perform {
  return ({ transfer, selfPeerId, logger }) => {
    const log = logger.child("perform");
    // One task per object at a time: a second task for an object another is fetching would write the same partial
    // file (the second rename failed with ENOENT); it waits, then finds the object held and proves a provider lives.
    const running = new Map<string, Promise<unknown>>();
    const perform: Perform = async (work, { signal }) => {
      for (let other = running.get(work.objectId); other !== undefined; other = running.get(work.objectId))
        await untilSettledOrAborted(other, signal);
      const p = performOne(work, signal);
      running.set(work.objectId, p);
      try {
        return await p;
      } finally {
        if (running.get(work.objectId) === p) running.delete(work.objectId);
      }
    };
    const performOne = async (work: TaskWork, signal: AbortSignal): Promise<ExecutionResult> => {
      if (init.executionDelayMs) await delay(init.executionDelayMs, signal);
      const self = (p: string) => providerPeerId(p) === selfPeerId;
      const others = work.providers.filter((p) => !self(p));
      const isProvider = others.length < work.providers.length;
      const noneLive = (err: unknown, what: string): unknown =>
        err instanceof NoProvidersError
          ? new TaskNoLiveProviderError(work.taskId, `${what}: ${err.message}`, { cause: err })
          : err;

      if (transfer.held(work.objectId) !== undefined) {
        if (isProvider) {
          log.warn("executing a task as one of its providers: nothing moves, 0 bytes reported", {
            taskId: work.taskId,
            objectId: work.objectId,
          });
          return { bytes: 0, sha256: work.objectId };
        }
        try {
          const proof = await transfer.probe(work.objectId, { providers: others, signal });
          log.info("object held here; a provider proved it serves it", {
            taskId: work.taskId,
            provider: proof.provider,
            bytes: proof.bytes,
          });
          return { bytes: proof.bytes, sha256: work.objectId };
        } catch (err) {
          throw noneLive(err, "the object is held here but no provider of the request proved it serves it");
        }
      }
      if (others.length === 0)
        throw new TaskNoLiveProviderError(
          work.taskId,
          "the only provider listed is this executor, which lacks the object",
        );
      const dir = join(init.dataDir, "objects");
      mkdirSync(dir, { recursive: true });
      const to = join(dir, work.objectId);
      let result: FetchResult;
      try {
        result = await transfer.fetch(work.objectId, { providers: others, to, signal });
      } catch (err) {
        throw noneLive(err, "no provider could serve the object");
      }
      // The executor now holds a verified copy: it serves it from here on (the consumer fetches it from us),
      // in the same parts, since the part size is part of the object id.
      await transfer.publish(to, { announce: false, partSize: result.partSize, signal });
      const evidence = receiptsEvidence(result.receipts);
      return { bytes: result.size, sha256: result.objectId, ...(evidence !== undefined && { evidence }) };
    };
    return perform;
  };
}

/** Resolves once `p` settled (whichever way), rejects when `signal` aborts first. */
function untilSettledOrAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      () => (signal.removeEventListener("abort", onAbort), resolve()),
      () => (signal.removeEventListener("abort", onAbort), resolve()),
    );
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}
