/**
 * Exponential back-off for operations that hit transient RPC failures. Reverts and fatal errors pass through
 * at once; transient ones are retried until `maxElapsedMs`, then surface as `RpcUnavailableError`.
 */
import type { Logger } from "../logger.ts";
import { classifyRpcError } from "./classify.ts";
import { RETRY_FACTOR, RETRY_INITIAL_DELAY_MS, RETRY_MAX_DELAY_MS, RETRY_MAX_ELAPSED_MS } from "./constants.ts";
import { RpcUnavailableError } from "./errors.ts";

export interface RetryOptions {
  signal?: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
  maxElapsedMs?: number;
  log?: Logger;
  /** Called for every transient failure that is retried (metrics). */
  onTransientError?: (err: unknown) => void;
}

/** Sleeps `ms`, rejecting with the signal's reason when it aborts. */
export function sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Delay before retry `attempt` (1-based): initial · factor^(attempt-1), capped, ±20 % jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * RETRY_FACTOR ** (attempt - 1));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

export async function withRetry<T>(operation: string, fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const started = Date.now();
  const initial = options.initialDelayMs ?? RETRY_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? RETRY_MAX_DELAY_MS;
  const maxElapsed = options.maxElapsedMs ?? RETRY_MAX_ELAPSED_MS;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      options.signal?.throwIfAborted();
      if (classifyRpcError(err) !== "transient") throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= maxElapsed) throw new RpcUnavailableError(operation, attempt, elapsed, { cause: err });
      options.onTransientError?.(err);
      const delay = Math.min(backoffDelay(attempt, initial, max), Math.max(0, maxElapsed - elapsed));
      options.log?.warn("rpc failed, retrying", {
        operation,
        attempt,
        delayMs: delay,
        reason: (err as Error).message?.slice(0, 200),
      });
      await sleep(delay, options);
    }
  }
}
