/**
 * `npm run bench:idle` — what one idle keeper costs: `lumora-keeper start` on a fresh data folder (no chain, no
 * peers), run once compiled (dist/, as `lumora-keeper` runs it) and once through the tsx loader on the sources
 * (the launcher before the build step), one after the other. After a warm-up it samples the process for a
 * window and prints keeper.idle.<runtime>.rss_mib (RSS at the end), .cpu_pct (CPU over the window, % of one
 * core) and .start_s (until /healthz answers).
 *
 * Options: --warmup-seconds (default 20), --window-seconds (default 60).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { freePort } from "../../test/keeper/chain/helpers.ts";
import { CliKeeper, type Runtime } from "../lib/cli-keeper.ts";
import { printMetrics, type Metric } from "./lib/metrics.ts";

const { values } = parseArgs({
  options: { "warmup-seconds": { type: "string" }, "window-seconds": { type: "string" } },
});
const warmupMs = Number(values["warmup-seconds"] ?? 20) * 1000;
const windowMs = Number(values["window-seconds"] ?? 60) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(runtime: Runtime): Promise<Metric[]> {
  const dir = mkdtempSync(join(tmpdir(), `lumora-idle-${runtime}-`));
  try {
    const apiPort = await freePort();
    const configFile = join(dir, "lumora.config.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: "data",
        p2p: { listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`], allowPrivateAddresses: true },
        node: { rewardAddress: "0x" + "11".repeat(20) },
        api: { port: apiPort },
        log: { level: "warn", format: "json" },
      }),
    );
    const k = new CliKeeper({
      name: runtime,
      configFile,
      dataDir: join(dir, "data"),
      apiPort,
      runtime,
      logFile: join(dir, "keeper.log"),
    });
    const started = performance.now();
    await k.start();
    const startS = (performance.now() - started) / 1000;
    await sleep(warmupMs);
    const before = k.stats();
    const t0 = performance.now();
    await sleep(windowMs);
    const after = k.stats();
    const cpuPct = (100 * (after.cpuSeconds - before.cpuSeconds)) / ((performance.now() - t0) / 1000);
    await k.stop();
    return [
      { metric: `keeper.idle.${runtime}.rss_mib`, value: Math.round(after.rssMiB * 10) / 10, unit: "MiB" },
      { metric: `keeper.idle.${runtime}.cpu_pct`, value: Math.round(cpuPct * 100) / 100, unit: "% of a core" },
      { metric: `keeper.idle.${runtime}.start_s`, value: Math.round(startS * 10) / 10, unit: "s" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const runtime of ["compiled", "tsx"] as const) printMetrics(await measure(runtime));
