/**
 * Operator counters the other modules feed through hooks (the keeper wires the chain's RPC errors and the
 * epoch closer's submissions, failures and skipped ticks to `inc`); the API exports them as Prometheus
 * metrics. A leaf module: the keeper owns the counters, the API only reads them.
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
