/**
 * `npm run bench:memory [-- --transfers N]` — what a keeper keeps per transfer. Two keepers in this process: one
 * publishes a fresh 64 KiB object per transfer, the other fetches it (the soak's traffic, without the noise of
 * twenty processes' garbage collection). After every 10 % of the run the heap is measured after a full GC, and the
 * least-squares slope over the second half is what each transfer leaves behind (goal: ~0 — nothing held for ever
 * per object or per transfer).
 *
 * Prints: memory.heap_mib.start / .end, memory.retained_kib_per_transfer (slope over the second half),
 * memory.external_kib_per_transfer, memory.transfers. Run with `node --expose-gc` (the npm script does).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { startKeeper } from "../../keeper/keeper.ts";
import { createLogger } from "../../keeper/logger.ts";
import { printMetrics } from "./lib/metrics.ts";

const { values } = parseArgs({ options: { transfers: { type: "string", default: "1000" } } });
const N = Number(values.transfers);
if (!Number.isSafeInteger(N) || N < 100)
  throw new Error(`--transfers must be an integer ≥ 100, got ${values.transfers}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench:memory does)");

/** Heap and external memory after a full collection, MiB. */
function measured(): { heap: number; external: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20 };
}

function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const dir = mkdtempSync(join(tmpdir(), "lumora-bench-memory-"));
const silent = (name: string) => createLogger(name, { level: "silent" });
const keeper = (name: string, bootstrap: string[] = []) =>
  startKeeper({
    dataDir: join(dir, name),
    capabilities: ["provider", "executor", "coordinator", "consumer"],
    bandwidthBps: 1e8,
    capacity: 4,
    rewardAddress: "0x" + (name === "a" ? "0a" : "0b").repeat(20),
    bootstrap,
    logger: silent(name),
  });
const a = await keeper("a");
const b = await keeper("b", [a.addresses[0]!]);
const samples: { at: number; heap: number; external: number }[] = [];
try {
  for (let i = 0; i <= N; i++) {
    if (i % Math.floor(N / 10) === 0) {
      samples.push({ at: i, ...measured() });
      process.stderr.write(`[memory] ${i} transfers: heap ${samples.at(-1)!.heap.toFixed(1)} MiB\n`);
    }
    if (i === N) break;
    const file = join(dir, `o${i}.bin`);
    writeFileSync(file, randomBytes(64 * 1024));
    const { objectId } = await a.transfer.publish(file, { announce: false });
    const to = join(dir, `f${i}.bin`);
    await b.transfer.fetch(objectId, { providers: [a.addresses[0]!], to });
    rmSync(to);
    rmSync(file);
  }
} finally {
  await b.stop();
  await a.stop();
  rmSync(dir, { recursive: true, force: true });
}
const late = samples.filter((s) => s.at >= N / 2);
printMetrics([
  { metric: "memory.transfers", value: N, unit: "transfers" },
  { metric: "memory.heap_mib.start", value: +samples[0]!.heap.toFixed(1), unit: "MiB" },
  { metric: "memory.heap_mib.end", value: +samples.at(-1)!.heap.toFixed(1), unit: "MiB" },
  {
    metric: "memory.retained_kib_per_transfer",
    value: +(slope(late.map((s) => [s.at, s.heap])) * 1024).toFixed(3),
    unit: "KiB/transfer",
  },
  {
    metric: "memory.external_kib_per_transfer",
    value: +(slope(late.map((s) => [s.at, s.external])) * 1024).toFixed(3),
    unit: "KiB/transfer",
  },
  { metric: "memory.loadavg_1m", value: +loadavg()[0]!.toFixed(2), unit: "load" },
]);
