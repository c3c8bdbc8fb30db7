/** One benchmark figure; benches print one JSON object per line. */
export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

export function printMetrics(metrics: readonly Metric[]): void {
  for (const m of metrics) process.stdout.write(JSON.stringify(m) + "\n");
}
