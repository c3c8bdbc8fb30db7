import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SourcePlan, type PlanStep, type SourcePlanInit } from "../../../keeper/transfer/sources.ts";

const INIT: SourcePlanInit = {
  spreadBelow: 0.8,
  concentrateAbove: 0.95,
  minGain: 0.25,
  settleWindows: 2,
  trialWindows: 3,
  judgeParts: 4,
  backoffWindows: 4,
  maxBackoffWindows: 16,
  slowRatio: 4,
};
const WINDOW = 50;

/**
 * Drives a plan through `windows` windows of a simulated fetch: `rateOf(active)` gives the bytes per window
 * each active source delivers, `cpu(active)` the consumer's utilisation in that window.
 */
function simulate(
  plan: SourcePlan<string>,
  windows: number,
  rateOf: (source: string, active: readonly string[]) => number,
  cpu: (active: readonly string[]) => number,
  wait: (active: readonly string[]) => number = () => 0,
  remaining?: (window: number) => number,
): { steps: PlanStep[]; actives: number[] } {
  const steps: PlanStep[] = [];
  const actives: number[] = [];
  for (let w = 0; w < windows; w++) {
    const active = plan.active;
    for (const s of active) {
      const bytes = rateOf(s, active);
      if (bytes > 0) plan.deliver(s, bytes);
    }
    steps.push(
      plan.step({
        elapsedMs: WINDOW,
        cpuMs: cpu(active) * WINDOW,
        waitMs: wait(active) * WINDOW,
        remainingParts: remaining?.(w),
      }),
    );
    actives.push(plan.active.length);
  }
  return { steps, actives };
}

function planOf(...sources: string[]): SourcePlan<string> {
  const plan = new SourcePlan<string>(INIT);
  for (const s of sources) plan.add(s);
  return plan;
}

describe("source plan", () => {
  it("starts from the first source opened and judges nothing before the first bytes", () => {
    const plan = planOf("a", "b", "c");
    assert.deepEqual(plan.active, ["a"]);
    for (let w = 0; w < 10; w++) assert.equal(plan.step({ elapsedMs: WINDOW, cpuMs: 0 }), "settling", `window ${w}`);
    assert.deepEqual(plan.active, ["a"]);
  });

  it("adds sources one at a time while each raises throughput (sources limit the fetch)", () => {
    const plan = planOf("a", "b", "c");
    // each source delivers 1 MiB per window, the consumer idles
    const { steps, actives } = simulate(
      plan,
      60,
      () => 1 << 20,
      (a) => 0.2 * a.length,
    );
    assert.deepEqual(plan.active, ["a", "b", "c"]);
    assert.equal(steps.filter((s) => s === "kept").length, 2, steps.join(", "));
    assert.ok(
      actives.every((n, i) => i === 0 || n - actives[i - 1] <= 1),
      `one at a time: ${actives.join(",")}`,
    );
  });

  it("never tries a source while the consumer saturates a core", () => {
    const plan = planOf("a", "b", "c");
    const { steps } = simulate(
      plan,
      200,
      () => 6 << 20,
      () => 0.9,
    );
    assert.deepEqual(plan.active, ["a"]);
    assert.ok(!steps.includes("trying a source"), steps.join(", "));
  });

  it("counts time waiting for a core as busy: a consumer starved by other processes tries no source", () => {
    const plan = planOf("a", "b", "c");
    // the consumer runs 45 % of the time and waits, runnable, another 50 %: it ran 90 % of the time it could
    const { steps } = simulate(
      plan,
      200,
      () => 1 << 20,
      () => 0.45,
      () => 0.5,
    );
    assert.deepEqual(plan.active, ["a"]);
    assert.ok(!steps.includes("trying a source"), steps.join(", "));
  });

  it("tries sources when the consumer, however often it waits for a core, uses little of the time it runs", () => {
    const plan = planOf("a", "b");
    // woken often on a loaded machine: 75 % of the wall clock waiting for a core, 15 % running (60 % of what it could)
    const { steps } = simulate(
      plan,
      30,
      () => 1 << 20,
      () => 0.15,
      () => 0.75,
    );
    assert.ok(steps.includes("kept"), steps.join(", "));
    assert.deepEqual(plan.active, ["a", "b"]);
  });

  it("asks for a source to be opened only when it would try one and none is open", () => {
    const plan = planOf("a");
    plan.setUnopened(2);
    // saturated: no source wanted, none asked for
    const busy = simulate(
      plan,
      20,
      () => 1 << 20,
      () => 0.9,
    );
    assert.ok(!busy.steps.includes("needs a source"), busy.steps.join(", "));
    // time to spare: one is asked for, and tried once it is open
    const idle = simulate(
      plan,
      5,
      () => 1 << 20,
      () => 0.3,
    );
    assert.ok(idle.steps.includes("needs a source"), idle.steps.join(", "));
    plan.add("b");
    plan.setUnopened(1);
    const next = simulate(
      plan,
      1,
      () => 1 << 20,
      () => 0.3,
    );
    assert.deepEqual(next.steps, ["trying a source"]);
    assert.deepEqual(plan.active, ["a", "b"]);
  });

  it("changes nothing over the last parts: a consumer waiting for its final fdatasync opens no source", () => {
    const plan = planOf("a");
    plan.setUnopened(2);
    // saturated while many parts remain: no source wanted…
    const busy = simulate(
      plan,
      20,
      () => 1 << 20,
      () => 0.9,
      () => 0,
      (w) => 200 - 8 * w,
    );
    assert.ok(!busy.steps.includes("needs a source"), busy.steps.join(", "));
    // …then 7 parts left, the consumer idle (decrypting the last parts, its disk syncing): no source tried or opened
    const few = simulate(
      plan,
      10,
      () => 1 << 20,
      () => 0.2,
      () => 0,
      () => 7,
    );
    assert.deepEqual(new Set(few.steps), new Set(["steady"]), few.steps.join(", "));
    // every part arrived, nothing more comes (not a stall): still nothing
    const done = simulate(
      plan,
      10,
      () => 0,
      () => 0.05,
      () => 0,
      () => 0,
    );
    assert.deepEqual(new Set(done.steps), new Set(["steady"]), done.steps.join(", "));
    assert.deepEqual(plan.active, ["a"]);
  });

  it("still tries a spare over the last parts when every active source stalls with parts owed", () => {
    const plan = planOf("a", "b");
    simulate(
      plan,
      10,
      () => 1 << 20,
      () => 0.9,
    );
    const { steps } = simulate(
      plan,
      4,
      () => 0,
      () => 0.05,
      () => 0,
      () => 3,
    );
    assert.ok(steps.includes("trying a source"), steps.join(", "));
    assert.deepEqual(plan.active, ["a", "b"]);
  });

  it("re-checks a source it kept: one kept on a burst of noise is dropped again", () => {
    const plan = planOf("a", "b");
    // a shared bottleneck of 2 MiB per window, but the windows that judge b's first trial happen to run at twice that
    let calls = 0;
    const { steps } = simulate(
      plan,
      40,
      (_s, a) => {
        // 2 calls per window with both active: the trial's transition window and its 3 judged ones are calls 0–7
        const noisy = a.length === 2 && calls++ < 8;
        return ((noisy ? 4 : 2) << 20) / a.length;
      },
      () => 0.5,
    );
    const kept = steps.indexOf("kept");
    assert.ok(kept > 0, `the noisy trial was kept: ${steps.join(", ")}`);
    assert.equal(steps[kept + 1 + steps.slice(kept + 1).findIndex((x) => x !== "settling")], "trying one fewer");
    assert.ok(steps.slice(kept + 1).includes("kept"), `and one fewer kept: ${steps.join(", ")}`);
    assert.deepEqual(plan.active, ["a"], steps.join(", "));
  });

  it("reverts a source that does not raise throughput, and backs off before trying again", () => {
    const plan = planOf("a", "b");
    // a shared bottleneck: 6 MiB per window whatever the number of sources, and a consumer with time to spare
    const { steps } = simulate(
      plan,
      120,
      (_s, a) => (6 << 20) / a.length,
      () => 0.5,
    );
    assert.deepEqual(plan.active, ["a"]);
    const reverted = steps.flatMap((s, i) => (s === "reverted" ? [i] : []));
    assert.ok(reverted.length >= 3, `tried again after backing off: ${steps.join(", ")}`);
    assert.equal(steps.filter((s) => s === "kept").length, 0);
    const gaps = reverted.slice(1).map((t, i) => t - reverted[i]);
    assert.ok(
      gaps.every((g, i) => i === 0 || g >= gaps[i - 1]),
      `the backoff grows: ${gaps.join(", ")}`,
    );
    assert.ok(gaps.at(-1)! >= INIT.maxBackoffWindows, `up to the cap: ${gaps.join(", ")}`);
  });

  it("tries one fewer when the consumer saturates, and keeps one fewer when throughput holds", () => {
    const plan = planOf("a", "b", "c");
    // sources help first (consumer idle) …
    simulate(
      plan,
      60,
      () => 1 << 20,
      () => 0.3,
    );
    assert.equal(plan.active.length, 3);
    // … then the consumer saturates at 3 MiB per window whatever the number of sources
    simulate(
      plan,
      40,
      (_s, a) => (3 << 20) / a.length,
      () => 1,
    );
    assert.equal(plan.active.length, 1);
  });

  it("keeps a source it tried dropping when throughput falls without it", () => {
    const plan = planOf("a", "b");
    simulate(
      plan,
      60,
      () => 1 << 20,
      () => 0.3,
    );
    assert.equal(plan.active.length, 2);
    // saturated, but each source still carries its own share: dropping one halves throughput
    const { steps } = simulate(
      plan,
      60,
      () => 1 << 20,
      () => 1,
    );
    assert.equal(plan.active.length, 2);
    assert.ok(steps.includes("trying one fewer") && steps.includes("reverted"), steps.join(", "));
  });

  it("tries each spare in turn: one that does not help goes behind the others", () => {
    const plan = planOf("a", "b", "c");
    const fast = new Set(["a", "c"]);
    const { steps } = simulate(
      plan,
      40,
      (s) => (fast.has(s) ? 1 << 20 : 64 << 10),
      () => 0.3,
    );
    // "b" is tried again after each backoff (the last trial may still run), never kept
    assert.equal(steps.filter((s) => s === "kept").length, 1, steps.join(", "));
    assert.deepEqual(plan.active.slice(0, 2), ["a", "c"], steps.join(", "));
  });

  it("puts an active source that became slow behind the spares: the next one takes its place", () => {
    const plan = planOf("a", "b", "c");
    simulate(
      plan,
      40,
      () => 1 << 20,
      () => 0.3,
    );
    plan.remove("c");
    plan.add("c");
    assert.deepEqual(plan.active, ["a", "b"]);
    const { steps } = simulate(
      plan,
      10,
      (s) => (s === "b" ? 64 << 10 : 1 << 20),
      () => 0.3,
    );
    assert.ok(steps.includes("demoted a slow source"), steps.join(", "));
    // (it may be tried again later, from behind the others)
    assert.deepEqual(plan.active.slice(0, 2), ["a", "c"], steps.join(", "));
  });

  it("tries a spare at once when every active source stalls, backoff or not", () => {
    const plan = planOf("a", "b");
    // a shared bottleneck first, so a trial fails and a long backoff starts…
    const first = simulate(
      plan,
      12,
      (_s, a) => (6 << 20) / a.length,
      () => 0.5,
    );
    assert.ok(first.steps.includes("reverted"), first.steps.join(", "));
    // …then "a" stops delivering: "b" is tried within settle + trial windows, kept, and "a" moved behind it
    const { steps } = simulate(
      plan,
      20,
      (s) => (s === "a" ? 0 : 1 << 20),
      () => 0.05,
    );
    assert.ok(steps.includes("kept"), steps.join(", "));
    assert.equal(plan.active[0], "b", steps.join(", "));
  });

  it("lets the next spare take a removed source's place", () => {
    const plan = planOf("a", "b", "c");
    plan.remove("a");
    assert.deepEqual(plan.active, ["b"]);
    simulate(
      plan,
      30,
      () => 1 << 20,
      () => 0.2,
    );
    assert.deepEqual(plan.active, ["b", "c"]);
    plan.remove("b");
    plan.remove("c");
    assert.deepEqual(plan.active, []);
  });
});
