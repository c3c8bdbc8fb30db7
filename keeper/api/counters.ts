/**
 * Operator counters the other modules feed through hooks (the chain and epoch submission modules call
 * `inc`); they read 0 until those modules are wired, and are exported as Prometheus metrics.
 */
export type OperatorCounterName =
  "epochSubmissions" | "epochSubmissionFailures" | "epochTicksSkipped" | "chainRpcErrors";

export class OperatorCounters {
  private readonly values: Record<OperatorCounterName, number> = {
    epochSubmissions: 0,
    epochSubmissionFailures: 0,
    epochTicksSkipped: 0,
    chainRpcErrors: 0,
  };

  inc(name: OperatorCounterName, by = 1): void {
    this.values[name] += by;
  }

  get(name: OperatorCounterName): number {
    return this.values[name];
  }

  snapshot(): Record<OperatorCounterName, number> {
    return { ...this.values };
  }
}
