/**
 * The measured bandwidth of each audited provider: an exponentially weighted moving average of the throughput
 * of its passing audits (weight DEFAULT_BANDWIDTH_EWMA_WEIGHT for the newest). A failed audit does not move it
 * (the failure is counted elsewhere; a refusal says nothing about speed) — except `slow`, whose throughput is a
 * measurement too and pulls the figure down. Bounded by the audit targets: one number per audited provider.
 * Routing's B_i is min(announced, measured) (keeper/routing/bandwidth.ts, docs/routing.md).
 */
import { DEFAULT_BANDWIDTH_EWMA_WEIGHT, MAX_AUDIT_TARGETS } from "./constants.ts";
import type { AuditOutcomeKind } from "./judge.ts";

export class MeasuredBandwidth {
  private readonly figures = new Map<string, number>();

  constructor(
    private readonly weight = DEFAULT_BANDWIDTH_EWMA_WEIGHT,
    private readonly max = MAX_AUDIT_TARGETS,
  ) {}

  /** Folds one audit's throughput in (only `pass` and `slow` outcomes measure speed). */
  add(provider: string, outcome: AuditOutcomeKind, throughputBps: number): void {
    if (outcome !== "pass" && outcome !== "slow") return;
    const previous = this.figures.get(provider);
    const next = previous === undefined ? throughputBps : this.weight * throughputBps + (1 - this.weight) * previous;
    this.figures.delete(provider);
    this.figures.set(provider, next);
    if (this.figures.size > this.max) this.figures.delete(this.figures.keys().next().value!);
  }

  /** The provider's measured bandwidth (bytes per second), undefined when never measured. */
  get(provider: string): number | undefined {
    return this.figures.get(provider);
  }
}
