/**
 * `npm run bench:transfer -- --sources`: one source against three, to file, many times over, to see why three
 * local sources lose (issue 14 §4). Three provider processes publish the same random object; each is warmed by
 * one fetch. Each round fetches with every configuration once (`1src` from provider 0, `3src` with the default
 * scheduler, and any of BENCH_SOURCES_EXTRA), in an order rotated by round; each fetch is a fresh consumer process.
 * One JSON line per run (MiB/s, the consumer's CPU per MiB, the parts each provider served, the providers' CPU per
 * MiB summed over the three, peak RSS), then one per configuration: the median and its ratio to `1src` in the
 * same round — the figure to trust on a shared machine.
 *   BENCH_SIZE_MIB (256), BENCH_ROUNDS (5), BENCH_SOURCES_ONLY (e.g. "1src": the configurations to run),
 *   BENCH_SOURCES_EXTRA (JSON {name: TransferInit}, configurations to add, each fetching from all three)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { TransferInit } from "../../../keeper/transfer/index.ts";
import { emit, loadAverage, median, round2 } from "./transfer-output.ts";
import { cpuOf, MiB, spawn, stopChild, writeObject } from "./transfer-roles.ts";

interface Config {
  name: string;
  sources: number;
  init?: TransferInit;
}

export async function runSources(): Promise<void> {
  const size = Number(process.env.BENCH_SIZE_MIB ?? 256) * MiB;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const extra = JSON.parse(process.env.BENCH_SOURCES_EXTRA ?? "{}") as Record<string, TransferInit>;
  const only = process.env.BENCH_SOURCES_ONLY?.split(",");
  const configs: Config[] = [
    { name: "1src", sources: 1 },
    { name: "3src", sources: 3 },
    ...Object.entries(extra).map(([name, init]) => ({ name, sources: 3, init })),
  ].filter((c) => only === undefined || only.includes(c.name));
  const dir = await mkdtemp(join(tmpdir(), "lumora-bench-sources-"));
  const providers: Array<ReturnType<typeof spawn>> = [];
  try {
    const file = join(dir, "random.bin");
    await writeObject(file, size, "random");
    for (let i = 0; i < 3; i++) providers.push(spawn(["--role", "provider", file]));
    const ready = await Promise.all(providers.map((p) => p.next()));
    const addrs = ready.map((r) => r.addr as string);
    const objectId = (ready[0].objects as string[])[0];
    const out = join(dir, "out.bin");
    // Warm every provider alike (JIT, page cache, the incompressible bitmap), as a long-running keeper is.
    for (const a of addrs) await spawn(["--role", "consumer", objectId, "-", a]).next();

    const mibps = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    const ratios = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    const loads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = configs.map((_, i) => configs[(i + r) % configs.length]);
      const got = new Map<string, number>();
      for (const c of order) {
        const cpuBefore = await Promise.all(providers.map((p) => cpuOf(p.child, p.next)));
        const m = await spawn(["--role", "consumer", objectId, out, ...addrs.slice(0, c.sources)], c.init).next();
        const cpuAfter = await Promise.all(providers.map((p) => cpuOf(p.child, p.next)));
        const providerCpu = cpuAfter.reduce((n, a, i) => n + a - cpuBefore[i], 0) / (size / MiB);
        got.set(c.name, m.mibps as number);
        mibps.get(c.name)!.push(m.mibps as number);
        emit(`transfer.sources.run.${c.name}`, m.mibps as number, {
          round: r,
          parts: m.providers,
          cpu_ms_per_mib_consumer: Math.round((m.cpuMsPerMib as number) * 100) / 100,
          cpu_ms_per_mib_providers: Math.round(providerCpu * 100) / 100,
          ...(m.steps !== undefined && { steps: m.steps }),
          rss_mib: Math.round(m.maxRssMib as number),
          rss_at_start_mib: m.rssAtStartMib,
          mem_at_start_mib: m.memAtStartMib,
          mem_at_peak_mib: m.memAtPeakMib,
          load: loadAverage(),
        });
      }
      const base = got.get("1src");
      if (base !== undefined) for (const [k, v] of got) ratios.get(k)!.push(v / base);
      loads.push(loadAverage()[0]);
    }
    for (const c of configs) {
      emit(`transfer.sources.mibps.random.${c.name}`, median(mibps.get(c.name)!), {
        ...(ratios.get(c.name)!.length > 0 && { ratio_vs_1src: Math.round(median(ratios.get(c.name)!) * 100) / 100 }),
        runs: round2(mibps.get(c.name)!),
        ratio_runs: round2(ratios.get(c.name)!),
        bytes: size,
        load: loads,
      });
    }
  } finally {
    await Promise.all(providers.map((p) => stopChild(p.child)));
    await rm(dir, { recursive: true, force: true });
  }
}
