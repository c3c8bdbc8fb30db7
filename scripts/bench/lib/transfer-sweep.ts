/**
 * `npm run bench:transfer -- --sweep`: one source to file across yamux max stream windows × part sizes, to pick
 * both defaults by measurement (issue 14 §3). One provider process per window size (yamux is set per node),
 * publishing the same random object at every part size; every combination is fetched once per round, in an order
 * rotated each round, by a fresh consumer with the same window. One JSON line per combination: median MiB/s, the
 * consumer's and the provider's CPU per MiB, the consumer's peak RSS, and the ratio to the current defaults
 * (16 MiB window, 1 MiB parts) measured in the same round — the figure to trust on a shared machine.
 *   BENCH_SIZE_MIB (256), BENCH_ROUNDS (3), BENCH_SWEEP_WINDOWS_KIB (256,1024,4096,16384),
 *   BENCH_SWEEP_PARTS_KIB (256,1024,4096)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { YamuxMuxerInit } from "@chainsafe/libp2p-yamux";

import { DEFAULT_PART_SIZE } from "../../../keeper/transfer/constants.ts";
import { emit, loadAverage, median, round2 } from "./transfer-output.ts";
import { cpuOf, MiB, spawn, stopChild, writeObject } from "./transfer-roles.ts";

const KiB = 1024;
/** @chainsafe/libp2p-yamux's default maxStreamWindowSize: the window the keeper runs with. */
const DEFAULT_WINDOW = 16 * MiB;

function listOf(env: string | undefined, fallback: number[]): number[] {
  return env === undefined ? fallback : env.split(",").map((x) => Number(x) * KiB);
}

function yamuxFor(window: number): YamuxMuxerInit {
  return { streamOptions: { maxStreamWindowSize: window } };
}

interface Runs {
  mibps: number[];
  consumer: number[];
  provider: number[];
  rss: number[];
  ratio: number[];
  failed: number;
}

export async function runSweep(): Promise<void> {
  const size = Number(process.env.BENCH_SIZE_MIB ?? 256) * MiB;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const windows = listOf(process.env.BENCH_SWEEP_WINDOWS_KIB, [256 * KiB, MiB, 4 * MiB, 16 * MiB]);
  const parts = listOf(process.env.BENCH_SWEEP_PARTS_KIB, [256 * KiB, MiB, 4 * MiB]);
  const dir = await mkdtemp(join(tmpdir(), "lumora-bench-sweep-"));
  const providers: Array<ReturnType<typeof spawn>> = [];
  try {
    const file = join(dir, "random.bin");
    await writeObject(file, size, "random");
    const objects = new Map<number, { addr: string; ids: Map<number, string>; p: ReturnType<typeof spawn> }>();
    for (const w of windows) {
      const p = spawn(["--role", "provider", ...parts.map((ps) => `${file}@${ps}`)], undefined, yamuxFor(w));
      providers.push(p);
      const ready = await p.next();
      const ids = new Map(parts.map((ps, i) => [ps, (ready.objects as string[])[i]]));
      objects.set(w, { addr: ready.addr as string, ids, p });
    }
    const combos = windows.flatMap((w) => parts.map((ps) => ({ w, ps })));
    const key = (w: number, ps: number) => `${w}/${ps}`;
    const runs = new Map(
      combos.map(({ w, ps }) => [
        key(w, ps),
        { mibps: [], consumer: [], provider: [], rss: [], ratio: [], failed: 0 } as Runs,
      ]),
    );
    const loads: number[] = [];
    const out = join(dir, "out.bin");
    for (let r = 0; r < rounds; r++) {
      const order = combos.map((_, i) => combos[(i + r * parts.length) % combos.length]);
      const mibps = new Map<string, number>();
      for (const { w, ps } of order) {
        const o = objects.get(w)!;
        const before = await cpuOf(o.p.child, o.p.next);
        const c = spawn(["--role", "consumer", o.ids.get(ps)!, out, o.addr], undefined, yamuxFor(w));
        const run = runs.get(key(w, ps))!;
        // A failed fetch is counted (its reason went to stderr), not fatal: the other combinations still run.
        const m = await c.next().catch(() => undefined);
        const after = await cpuOf(o.p.child, o.p.next);
        if (m === undefined) {
          run.failed++;
          continue;
        }
        run.mibps.push(m.mibps as number);
        run.consumer.push(m.cpuMsPerMib as number);
        run.provider.push((after - before) / (size / MiB));
        run.rss.push(m.maxRssMib as number);
        mibps.set(key(w, ps), m.mibps as number);
      }
      const base = mibps.get(key(DEFAULT_WINDOW, DEFAULT_PART_SIZE));
      if (base !== undefined) for (const [k, v] of mibps) runs.get(k)!.ratio.push(v / base);
      loads.push(loadAverage()[0]);
    }
    for (const { w, ps } of combos) {
      const run = runs.get(key(w, ps))!;
      emit("transfer.sweep.mibps.random.1src", median(run.mibps), {
        windowKiB: w / KiB,
        partKiB: ps / KiB,
        ...(run.ratio.length > 0 && { ratio_vs_default: Math.round(median(run.ratio) * 100) / 100 }),
        cpu_ms_per_mib_consumer: Math.round(median(run.consumer) * 100) / 100,
        cpu_ms_per_mib_provider: Math.round(median(run.provider) * 100) / 100,
        rss_mib: Math.round(Math.max(...run.rss)),
        failed: run.failed,
        runs: round2(run.mibps),
        ratio_runs: round2(run.ratio),
        bytes: size,
        load: loads,
      });
    }
  } finally {
    await Promise.all(providers.map((p) => stopChild(p.child)));
    await rm(dir, { recursive: true, force: true });
  }
}
