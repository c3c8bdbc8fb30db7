/** The transfer bench's output: one JSON object per line, {metric, value, unit, …extra}. */
import { readFileSync } from "node:fs";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Unit of each metric, from its name: throughputs in MiB/s, ratios, peak memory in MiB. */
function unitOf(metric: string): string {
  if (metric.includes("ratio")) return "ratio";
  if (metric.includes("rss_mib")) return "MiB";
  if (metric.includes("cpu_ms_per_mib")) return "ms/MiB";
  return "MiB/s";
}

export function emit(metric: string, value: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    JSON.stringify({ metric, value: Math.round(value * 100) / 100, unit: unitOf(metric), ...extra }) + "\n",
  );
}

/** Values rounded to 2 decimals, for the runs printed next to a median. */
export function round2(xs: number[]): number[] {
  return xs.map((x) => Math.round(x * 100) / 100);
}

/** The load average (1, 5, 15 min). */
export function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}
