/**
 * Abort signals linked to a long-lived one without leaking (issue 13, point 7).
 *
 * `AbortSignal.any([service.signal, …])` in Node 22 leaves, for every call, a FinalizationRegistry cell with two
 * WeakRefs on each source signal until that source is collected (nodejs/node#55351, #64476) — for a service's
 * shutdown signal, the keeper's life. And a composite with an `AbortSignal.timeout` source that times out stays
 * in Node's set of signals kept alive for as long as its long-lived source lives, with its reason and that
 * reason's stack. A soak keeper gained ~9,000 WeakRefs and ~350 timed-out signals in ten minutes.
 *
 * `linkSignals` is the disposable alternative: an AbortController that listens to its sources and, optionally, a
 * timer; `clear()` removes the listeners and the timer, after which nothing of it is left on the sources. Call it
 * when the operation the signal guards is over (in a `finally`).
 */
export interface LinkedSignal {
  /** Aborts when any source aborts (with that source's reason) or the timeout passes (a TimeoutError). */
  readonly signal: AbortSignal;
  /** Detaches from the sources and stops the timer. Idempotent; the signal keeps its state. */
  clear(): void;
}

export function linkSignals(sources: readonly (AbortSignal | undefined)[], timeoutMs?: number): LinkedSignal {
  const controller = new AbortController();
  const attached: [AbortSignal, () => void][] = [];
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    for (const [s, listener] of attached.splice(0)) s.removeEventListener("abort", listener);
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const abort = (reason: unknown) => {
    clear();
    controller.abort(reason);
  };
  for (const s of sources) {
    if (s === undefined) continue;
    if (s.aborted) {
      abort(s.reason);
      return { signal: controller.signal, clear };
    }
    const listener = () => abort(s.reason);
    s.addEventListener("abort", listener, { once: true });
    attached.push([s, listener]);
  }
  if (timeoutMs !== undefined) {
    timer = setTimeout(
      () => abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
      timeoutMs,
    );
    timer.unref();
  }
  return { signal: controller.signal, clear };
}
