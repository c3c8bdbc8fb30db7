import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RoutingConfigError, RoutingInvalidMetricError } from "../../../keeper/routing/errors.ts";
import { DEFAULT_WEIGHTS, resolveWeights, score } from "../../../keeper/routing/score.ts";
import { node } from "./helpers.ts";

const close = (actual: number, expected: number, msg?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, msg ?? `${actual} ≉ ${expected}`);

describe("routing score", () => {
  it("computes α·(B/Bmax) + β·(1/P) + γ·(1/L) exactly", () => {
    const w = { alpha: 0.5, beta: 0.25, gamma: 0.25 };
    close(score(node("a", { bandwidth: 50, proximity: 2, latencyMs: 10 }), 100, w), 0.5 * 0.5 + 0.25 / 2 + 0.25 / 10);
    close(score(node("b", { bandwidth: 100, proximity: 1, latencyMs: 1 }), 100, w), 1);
    const w2 = { alpha: 2, beta: 3, gamma: 5 };
    close(score(node("c", { bandwidth: 30, proximity: 4, latencyMs: 40 }), 120, w2), 2 * 0.25 + 3 / 4 + 5 / 40);
  });

  it("uses the defaults 0.5 / 0.25 / 0.25", () => {
    assert.deepEqual({ ...DEFAULT_WEIGHTS }, { alpha: 0.5, beta: 0.25, gamma: 0.25 });
    assert.deepEqual(resolveWeights({ beta: 1 }), { alpha: 0.5, beta: 1, gamma: 0.25 });
  });

  it("treats B_max = 0 as a bandwidth term of 0", () => {
    close(score(node("a", { bandwidth: 0, proximity: 1, latencyMs: 1 }), 0), 0.5);
  });

  it("treats a missing P_i or L_i as a term of 0 (the worst possible)", () => {
    close(score(node("a", { bandwidth: 100, proximity: undefined, latencyMs: 10 }), 100), 0.5 + 0.025);
    close(score(node("a", { bandwidth: 100, proximity: 2, latencyMs: undefined }), 100), 0.5 + 0.125);
    close(score(node("a", { bandwidth: 100, proximity: undefined, latencyMs: undefined }), 100), 0.5);
  });

  it("floors P_i at 1 hop and L_i at 1 ms, so a measured 0 is the best value, not a division by zero", () => {
    close(score(node("a", { bandwidth: 0, proximity: 0, latencyMs: 0 }), 10), 0.25 + 0.25);
    close(score(node("a", { bandwidth: 0, proximity: 1, latencyMs: 0.2 }), 10), 0.25 + 0.25);
    assert.ok(Number.isFinite(score(node("a", { proximity: 0, latencyMs: 0 }), 1e9)));
  });

  it("rejects NaN, negative and infinite metrics with RoutingInvalidMetricError", () => {
    const bad: [string, Partial<Parameters<typeof node>[1]>][] = [
      ["bandwidth", { bandwidth: NaN }],
      ["bandwidth", { bandwidth: -1 }],
      ["bandwidth", { bandwidth: Infinity }],
      ["proximity", { proximity: NaN }],
      ["proximity", { proximity: -2 }],
      ["latencyMs", { latencyMs: NaN }],
      ["latencyMs", { latencyMs: -0.5 }],
      ["capacity", { capacity: NaN }],
      ["load", { load: -1 }],
    ];
    for (const [field, over] of bad) {
      assert.throws(
        () => score(node("x", over), 100),
        (err: unknown) => err instanceof RoutingInvalidMetricError && err.field === field && err.peerId === "x",
        `expected ${field}=${JSON.stringify(Object.values(over!)[0])} to be rejected`,
      );
    }
    assert.throws(() => score(node("x"), NaN), RoutingInvalidMetricError);
    assert.throws(() => score(node("x"), -5), RoutingInvalidMetricError);
  });

  it("rejects unusable weights with RoutingConfigError", () => {
    assert.throws(() => resolveWeights({ alpha: -1 }), RoutingConfigError);
    assert.throws(() => resolveWeights({ gamma: NaN }), RoutingConfigError);
    assert.throws(() => resolveWeights({ alpha: 0, beta: 0, gamma: 0 }), RoutingConfigError);
  });
});
