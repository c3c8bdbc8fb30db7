/**
 * The node score, exactly as the seed writes it:
 *
 *   Score_i = α·(B_i / B_max) + β·(1 / P_i) + γ·(1 / L_i)
 *
 * Guards (see docs/routing.md §Guards):
 * - NaN, ±Infinity or negative B_i / P_i / L_i → RoutingInvalidMetricError (never silently scored).
 * - B_max = 0 (no node advertises bandwidth) → the bandwidth term is 0 for everyone, instead of 0/0 = NaN.
 * - P_i or L_i missing (not measured yet) → that term is 0: the limit of 1/x as x → ∞, i.e. "as far as
 *   possible". An unmeasured node must not outrank a measured one on a guess; proximity measures every peer
 *   on its own schedule, so no node is starved of a measurement by this rule.
 * - P_i or L_i below its floor (0 included) → the floor (MIN_PROXIMITY_HOPS, MIN_LATENCY_MS): a 0 is a real
 *   "very close" measurement, not a missing one, and the floor keeps each term ≤ its weight.
 */
import type { NodeView } from "../types.ts";
import { DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, MIN_LATENCY_MS, MIN_PROXIMITY_HOPS } from "./constants.ts";
import { RoutingConfigError, RoutingInvalidMetricError } from "./errors.ts";

export interface ScoreWeights {
  /** α, weight of B_i / B_max. */
  alpha: number;
  /** β, weight of 1 / P_i. */
  beta: number;
  /** γ, weight of 1 / L_i. */
  gamma: number;
}

export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({
  alpha: DEFAULT_ALPHA,
  beta: DEFAULT_BETA,
  gamma: DEFAULT_GAMMA,
});

/** Fills defaults and rejects weights that are negative, non-finite or all zero. */
export function resolveWeights(init: Partial<ScoreWeights> = {}): ScoreWeights {
  const w = { alpha: init.alpha ?? DEFAULT_ALPHA, beta: init.beta ?? DEFAULT_BETA, gamma: init.gamma ?? DEFAULT_GAMMA };
  for (const [k, v] of Object.entries(w)) {
    if (!Number.isFinite(v) || v < 0) throw new RoutingConfigError(k, v, "must be a finite number ≥ 0");
  }
  if (w.alpha + w.beta + w.gamma === 0) throw new RoutingConfigError("alpha+beta+gamma", 0, "at least one > 0");
  return w;
}

/** True when `x` is a finite number ≥ 0 (written as one comparison chain: NaN fails every comparison). */
function isMetric(x: number): boolean {
  return x >= 0 && x < Infinity;
}

/** Throws RoutingInvalidMetricError when a metric of `node` is unusable. Cheap enough for the hot path. */
export function assertNodeMetrics(node: NodeView): void {
  if (!isMetric(node.bandwidth)) throw new RoutingInvalidMetricError(node.peerId, "bandwidth", node.bandwidth);
  if (node.proximity !== undefined && !isMetric(node.proximity)) {
    throw new RoutingInvalidMetricError(node.peerId, "proximity", node.proximity);
  }
  if (node.latencyMs !== undefined && !isMetric(node.latencyMs)) {
    throw new RoutingInvalidMetricError(node.peerId, "latencyMs", node.latencyMs);
  }
  if (!isMetric(node.capacity)) throw new RoutingInvalidMetricError(node.peerId, "capacity", node.capacity);
  if (!isMetric(node.load)) throw new RoutingInvalidMetricError(node.peerId, "load", node.load);
}

/**
 * Score of one node given the network's largest known bandwidth `bMax`. Validates its inputs; the selection
 * loop calls `scoreUnchecked` after validating once.
 */
export function score(node: NodeView, bMax: number, weights: ScoreWeights = DEFAULT_WEIGHTS): number {
  assertNodeMetrics(node);
  if (!isMetric(bMax)) throw new RoutingInvalidMetricError("<network>", "bMax", bMax);
  return scoreUnchecked(node, bMax, weights);
}

/** The formula with its guards, inputs already validated. */
export function scoreUnchecked(node: NodeView, bMax: number, w: ScoreWeights): number {
  const bandwidthTerm = bMax > 0 ? node.bandwidth / bMax : 0;
  const p = node.proximity;
  const proximityTerm = p === undefined ? 0 : 1 / (p < MIN_PROXIMITY_HOPS ? MIN_PROXIMITY_HOPS : p);
  const l = node.latencyMs;
  const latencyTerm = l === undefined ? 0 : 1 / (l < MIN_LATENCY_MS ? MIN_LATENCY_MS : l);
  return w.alpha * bandwidthTerm + w.beta * proximityTerm + w.gamma * latencyTerm;
}
