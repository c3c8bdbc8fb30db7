/**
 * linkSignals (keeper/signals.ts): a signal following a long-lived one leaves nothing behind on it once cleared —
 * Node 22's AbortSignal.any kept ~0.2 KiB per call on a long-lived source for the source's life (issue 13, §7).
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { linkSignals } from "../../keeper/signals.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe("linkSignals", () => {
  it("aborts with the reason of the source that aborted", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, undefined, b.signal]);
    const reason = new Error("stopping");
    b.abort(reason);
    assert.equal(linked.signal.aborted, true);
    assert.equal(linked.signal.reason, reason);
    assert.equal(getEventListeners(a.signal, "abort").length, 0, "no listener left on the other source");
  });

  it("starts aborted when a source is", () => {
    const reason = new Error("gone");
    const linked = linkSignals([new AbortController().signal, AbortSignal.abort(reason)]);
    assert.equal(linked.signal.reason, reason);
  });

  it("aborts with a TimeoutError after timeoutMs", async () => {
    const long = new AbortController();
    const linked = linkSignals([long.signal], 20);
    // The timer is unref'd (as AbortSignal.timeout's is): something else must keep the test's event loop alive.
    const alive = setTimeout(() => {}, 30_000);
    await new Promise((resolve) => linked.signal.addEventListener("abort", resolve, { once: true }));
    clearTimeout(alive);
    assert.equal((linked.signal.reason as DOMException).name, "TimeoutError");
    assert.equal(getEventListeners(long.signal, "abort").length, 0);
  });

  it("once cleared, follows nothing and leaves nothing on a long-lived source", () => {
    const long = new AbortController();
    const linked = linkSignals([long.signal], 60_000);
    assert.equal(getEventListeners(long.signal, "abort").length, 1);
    linked.clear();
    assert.equal(getEventListeners(long.signal, "abort").length, 0);
    long.abort();
    assert.equal(linked.signal.aborted, false);
  });

  it("keeps no memory per operation on a long-lived source (AbortSignal.any kept ~0.2 KiB per call)", () => {
    const long = new AbortController();
    const cycle = () => {
      const short = new AbortController();
      const linked = linkSignals([long.signal, short.signal], 60_000);
      short.abort();
      linked.clear();
    };
    const N = 50_000;
    const keptPerCall = () => {
      const before = heapAfterGc();
      for (let i = 0; i < N; i++) cycle();
      return (heapAfterGc() - before) / N;
    };
    keptPerCall(); // warm-up: code, inline caches, the heap's own bookkeeping
    // AbortSignal.any([long.signal, short.signal]) here: ~450 bytes per call, for ever.
    const perCall = Math.min(keptPerCall(), keptPerCall());
    assert.ok(perCall < 64, `${perCall.toFixed(1)} bytes kept per linked operation`);
  });
});
