/**
 * When audits happen: a Poisson process, so the gap to the next audit is exponential with mean 1/rate and
 * independent of every earlier gap. Nothing about past audits (their time, their target, how long ago the last
 * one was) tells a provider when the next comes — the memoryless property is the point. Pure: the caller
 * supplies the generator (seeded in tests) and runs the timer.
 */
import { AuditConfigError } from "./errors.ts";
import { MAX_AUDIT_GAP_MS, MIN_AUDIT_GAP_MS } from "./constants.ts";
import type { Random } from "./random.ts";

const HOUR_MS = 3_600_000;

/** Checks an audit rate (audits per hour); 0 turns audits off. */
export function checkRate(ratePerHour: number): number {
  if (!Number.isFinite(ratePerHour) || ratePerHour < 0) throw new AuditConfigError("ratePerHour", "must be ≥ 0");
  return ratePerHour;
}

/**
 * The gap (ms) to the next audit: −ln(1 − u) / rate for u uniform in [0, 1), clamped to
 * [MIN_AUDIT_GAP_MS, MAX_AUDIT_GAP_MS]. Undefined when the rate is 0 (no audits).
 */
export function nextGapMs(random: Random, ratePerHour: number): number | undefined {
  if (ratePerHour === 0) return undefined;
  const meanMs = HOUR_MS / ratePerHour;
  const gap = -Math.log(1 - random()) * meanMs;
  return Math.min(MAX_AUDIT_GAP_MS, Math.max(MIN_AUDIT_GAP_MS, gap));
}

/** The first `n` audit times (ms after the start) a generator gives: the schedule, for tests and docs. */
export function auditTimes(random: Random, ratePerHour: number, n: number): number[] {
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const gap = nextGapMs(random, ratePerHour);
    if (gap === undefined) break;
    t += gap;
    out.push(t);
  }
  return out;
}
