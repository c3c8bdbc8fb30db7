/**
 * `npm run soak -- --minutes 60` — N keepers (default 20), each `lumora-keeper start` compiled (dist/) in its own
 * process, on one local Hardhat node as the chain, transferring objects between them and closing epochs on a
 * cron for the given time. Every keeper holds KEEPER_ROLE; submission rotates among them.
 *
 * Prints one JSON object per line ({metric, value, unit}, per-keeper lines with a `keeper` field):
 * - soak.rss_slope_mib_per_h (per keeper, then .max; goal ≤ 5) and soak.fd_slope_per_h (per keeper, then
 *   .max_abs; goal 0): least-squares slopes of RSS and open fds over the samples after the warm-up;
 * - soak.rss_floor_slope_mib_per_h and soak.fd_floor_slope_per_h (per keeper, then .max / .max_abs): the same
 *   slopes fitted to the lowest sample of each --floor-minutes bucket. A sample taken while a keeper serves a
 *   transfer holds that transfer's buffers and sockets (tens of MiB): over an hour such noise leaves the plain
 *   slope's error around ±10 MiB/h, larger than the goal, while a leak raises the floor as much as the samples;
 * - soak.rss_mib.mean, soak.cpu_pct_per_keeper.mean over the same window;
 * - soak.epochs_committed (TaskLog), soak.epochs_committed_twice and soak.epochs_missing (on TaskLog or
 *   RewardPool; goal 0 each: every epoch committed exactly once, none skipped);
 * - soak.transfers_succeeded / soak.transfers_failed; soak.converge_s (every keeper knows every other);
 *   soak.loadavg_1m at the end.
 *
 * Options: --minutes (default 60), --keepers (default 20, at most 20: the Hardhat node funds 20 accounts),
 * --epoch-seconds (default 60, must divide 60), --sample-seconds (default 30), --warmup-minutes (default
 * minutes / 5, at most 5), --floor-minutes (default 5), --transfer-workers (default 2). Keeper logs go to <run dir>/k<i>.log, kept when a goal
 * is missed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { deployLumora, devWallet, freePort, rpcProvider, startHardhatNode } from "../test/keeper/chain/helpers.ts";
import { RewardPool__factory, TaskLog__factory } from "../types/ethers-contracts/index.ts";
import { printMetrics, type Metric } from "./bench/lib/metrics.ts";
import { CliKeeper } from "./lib/cli-keeper.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    keepers: { type: "string" },
    "epoch-seconds": { type: "string" },
    "sample-seconds": { type: "string" },
    "warmup-minutes": { type: "string" },
    "floor-minutes": { type: "string" },
    "transfer-workers": { type: "string" },
  },
});
const positive = (v: string | undefined, dflt: number, name: string) => {
  const n = Number(v ?? dflt);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};
const minutes = positive(values.minutes, 60, "minutes");
const N = Math.min(20, Math.floor(positive(values.keepers, 20, "keepers")));
const epochSeconds = positive(values["epoch-seconds"], 60, "epoch-seconds");
if (60 % epochSeconds !== 0) throw new Error(`--epoch-seconds must divide 60, got ${epochSeconds}`);
const sampleMs = positive(values["sample-seconds"], 30, "sample-seconds") * 1000;
const warmupMs = Number(values["warmup-minutes"] ?? Math.min(5, minutes / 5)) * 60_000;
const workers = Math.floor(positive(values["transfer-workers"], 2, "transfer-workers"));
const floorMs = positive(values["floor-minutes"], 5, "floor-minutes") * 60_000;

const say = (msg: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** Least-squares slope of y over x. */
function slope(points: readonly [x: number, y: number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}
/**
 * The lowest sample of each whole `bucketMs` bucket from `t0` (the window's start), placed at the mean time of the
 * bucket's samples (x in hours from `origin`). A bucket holding fewer than 80 % of the samples a whole one holds
 * (the window's last, cut short) is left out: the minimum of fewer samples is biased upwards, and at the ends of
 * the fit it would weigh most.
 */
function floors<T extends { t: number }>(
  samples: readonly T[],
  origin: number,
  t0: number,
  bucketMs: number,
  sampleMs: number,
  y: (s: T) => number,
): [x: number, y: number][] {
  const buckets = new Map<number, T[]>();
  for (const s of samples) {
    const b = Math.floor((s.t - t0) / bucketMs);
    if (b < 0) continue;
    (buckets.get(b) ?? buckets.set(b, []).get(b)!).push(s);
  }
  const whole = Math.max(1, Math.floor(bucketMs / sampleMs));
  return [...buckets.values()]
    .filter((ss) => ss.length >= 0.8 * whole)
    .map((ss) => [ss.reduce((n, s) => n + (s.t - origin), 0) / ss.length / 3_600_000, Math.min(...ss.map(y))]);
}
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const runDir = mkdtempSync(join(tmpdir(), "lumora-soak-"));
const objects = join(runDir, "objects");
mkdirSync(objects);
say(`${N} keepers for ${minutes} min, epochs every ${epochSeconds} s; run dir ${runDir}`);

const chain = await startHardhatNode();
const chainKeys = Array.from({ length: N }, (_, i) => devWallet(i));
const { record } = await deployLumora(chain.url, {
  keepers: chainKeys.map((w) => w.address),
  fund: 1_000_000n * 10n ** 18n,
});
const deploymentFile = join(runDir, "deployment.json");
writeFileSync(deploymentFile, JSON.stringify(record, null, 1));

interface Status {
  peerId: string;
  addresses: string[];
  epoch: number;
  health: { failuresDeclared: number; failuresLearned: number; suspicions: number; refutations: number };
}

const keepers: CliKeeper[] = [];
const addressOf = new Map<CliKeeper, string>();
async function launch(i: number, bootstrap: string[]): Promise<CliKeeper> {
  const name = `k${String(i + 1).padStart(2, "0")}`;
  const dir = join(runDir, name);
  mkdirSync(dir);
  const apiPort = await freePort();
  const configFile = join(dir, "lumora.config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir: "data",
      network: "localhost",
      p2p: { listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`], bootstrap, allowPrivateAddresses: true },
      node: { rewardAddress: devWallet(100 + i).address },
      api: { port: apiPort, publishDirs: [objects] },
      log: { level: "warn", format: "json" },
      chain: { rpcUrl: chain.url, deployment: deploymentFile },
      epochs: {
        cron: epochSeconds === 60 ? "0 * * * * *" : `*/${epochSeconds} * * * * *`,
        rewardPerEpoch: "1000",
        keepers: chainKeys.map((w) => w.address),
        takeoverMinutes: Math.max(1, (2 * epochSeconds) / 60),
      },
      // Short epochs: the settlement read one epoch's grid and a third of an epoch after its end.
      payment: { settleGridMs: epochSeconds * 1000, settleWindowMs: Math.ceil((epochSeconds * 1000) / 3) },
    }),
  );
  const k = new CliKeeper({
    name,
    configFile,
    dataDir: join(dir, "data"),
    apiPort,
    logFile: join(runDir, `${name}.log`),
    env: { LUMORA_CHAIN_KEY: chainKeys[i]!.privateKey },
  });
  await k.start();
  const status = await k.get<Status>("/api/status");
  addressOf.set(
    k,
    status.addresses.find((a) => a.startsWith("/ip4/127.0.0.1/tcp/") && a.includes("/p2p/"))!,
  );
  return k;
}

let failed = false;
try {
  const first = await launch(0, []);
  keepers.push(first);
  const seed = [addressOf.get(first)!];
  // A few at a time: twenty cold starts at once on a small box would time each other out.
  for (let i = 1; i < N; i += 4) {
    const batch = await Promise.all(Array.from({ length: Math.min(4, N - i) }, (_, j) => launch(i + j, seed)));
    keepers.push(...batch);
    say(`${keepers.length} keepers up`);
  }
  const launchedAt = Date.now();
  let convergeS = NaN;
  for (const deadline = Date.now() + 5 * 60_000; Date.now() < deadline; await sleep(2_000)) {
    const known = await Promise.all(
      keepers.map((k) =>
        k.get<{ peers: unknown[] }>("/api/peers").then(
          (p) => p.peers.length,
          () => 0,
        ),
      ),
    );
    if (known.every((n) => n >= N - 1)) {
      convergeS = (Date.now() - launchedAt) / 1000;
      break;
    }
  }
  say(Number.isNaN(convergeS) ? "keepers did not all find each other in 5 min" : `converged in ${convergeS} s`);

  // ─────────────────────────────── transfers, and samples ───────────────────────────────
  let transfersOver = false;
  let succeeded = 0;
  let transferFailures = 0;
  const transferWorker = async (w: number) => {
    for (let n = 0; !transfersOver; n++) {
      const provider = pick(keepers);
      const coordinator = pick(keepers.filter((k) => k !== provider));
      const file = join(objects, `w${w}-${n}.bin`);
      writeFileSync(file, randomBytes(64 * 1024 + Math.floor(Math.random() * 192 * 1024)));
      try {
        const p = await provider.post<{ objectId: string; size: number }>("/api/publish", { path: file });
        const { id } = await coordinator.post<{ id: string }>("/api/transfers", {
          objectId: p.objectId,
          size: p.size,
          providers: [addressOf.get(provider)!],
        });
        for (const deadline = Date.now() + 180_000; ; await sleep(500)) {
          const t = await coordinator.get<{ status: string }>(`/api/tasks/${encodeURIComponent(id)}`);
          if (t.status === "succeeded") {
            succeeded++;
            break;
          }
          if (!["queued", "assigned", "running"].includes(t.status) || Date.now() > deadline) {
            transferFailures++;
            say(`transfer ${id} ${t.status}`);
            break;
          }
        }
      } catch (err) {
        transferFailures++;
        say(`transfer failed: ${(err as Error).message}`);
        await sleep(1_000);
      } finally {
        rmSync(file, { force: true });
      }
    }
  };
  const transfers = Array.from({ length: workers }, (_, w) => transferWorker(w));

  const startedAt = Date.now();
  const endAt = startedAt + minutes * 60_000;
  const samples = new Map<CliKeeper, { t: number; rss: number; fds: number; cpu: number }[]>(
    keepers.map((k) => [k, []]),
  );
  while (Date.now() < endAt) {
    const t = Date.now();
    for (const k of keepers) {
      if (!k.running) throw new Error(`keeper ${k.name} died (see its log)`);
      const s = k.stats();
      samples.get(k)!.push({ t, rss: s.rssMiB, fds: s.fds, cpu: s.cpuSeconds });
    }
    say(
      `t=${Math.round((t - startedAt) / 1000)} s: rss mean ${round(keepers.reduce((s, k) => s + samples.get(k)!.at(-1)!.rss, 0) / N, 1)} MiB, ` +
        `transfers ${succeeded} ok / ${transferFailures} failed, load ${loadavg()[0]!.toFixed(1)}`,
    );
    await sleep(Math.min(sampleMs, Math.max(0, endAt - Date.now())));
  }
  transfersOver = true;
  await Promise.all(transfers);

  // ─────────────────────────────── memory, fds, CPU ───────────────────────────────
  const perKeeper: Metric[] = [];
  const rssSlopes: number[] = [];
  const fdSlopes: number[] = [];
  const rssFloorSlopes: number[] = [];
  const fdFloorSlopes: number[] = [];
  const cpus: number[] = [];
  const rssMeans: number[] = [];
  for (const k of keepers) {
    const window = samples.get(k)!.filter((s) => s.t - startedAt >= warmupMs);
    const hours = (s: { t: number }) => (s.t - startedAt) / 3_600_000;
    const rssSlope = slope(window.map((s) => [hours(s), s.rss]));
    const fdSlope = slope(window.map((s) => [hours(s), s.fds]));
    const from = startedAt + warmupMs;
    const rssFloorSlope = slope(floors(window, startedAt, from, floorMs, sampleMs, (s) => s.rss));
    const fdFloorSlope = slope(floors(window, startedAt, from, floorMs, sampleMs, (s) => s.fds));
    const first = window[0]!;
    const last = window.at(-1)!;
    const cpuPct = last.t > first.t ? (100 * (last.cpu - first.cpu)) / ((last.t - first.t) / 1000) : 0;
    rssSlopes.push(rssSlope);
    fdSlopes.push(fdSlope);
    rssFloorSlopes.push(rssFloorSlope);
    fdFloorSlopes.push(fdFloorSlope);
    cpus.push(cpuPct);
    rssMeans.push(window.reduce((s, x) => s + x.rss, 0) / window.length);
    perKeeper.push(
      { metric: "soak.rss_slope_mib_per_h", keeper: k.name, value: round(rssSlope), unit: "MiB/h" } as Metric,
      { metric: "soak.fd_slope_per_h", keeper: k.name, value: round(fdSlope), unit: "fds/h" } as Metric,
      {
        metric: "soak.rss_floor_slope_mib_per_h",
        keeper: k.name,
        value: round(rssFloorSlope),
        unit: "MiB/h",
      } as Metric,
      { metric: "soak.fd_floor_slope_per_h", keeper: k.name, value: round(fdFloorSlope), unit: "fds/h" } as Metric,
    );
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  printMetrics([
    ...perKeeper,
    { metric: "soak.rss_slope_mib_per_h.max", value: round(Math.max(...rssSlopes)), unit: "MiB/h" },
    { metric: "soak.fd_slope_per_h.max_abs", value: round(Math.max(...fdSlopes.map(Math.abs))), unit: "fds/h" },
    { metric: "soak.rss_floor_slope_mib_per_h.max", value: round(Math.max(...rssFloorSlopes)), unit: "MiB/h" },
    {
      metric: "soak.fd_floor_slope_per_h.max_abs",
      value: round(Math.max(...fdFloorSlopes.map(Math.abs))),
      unit: "fds/h",
    },
    { metric: "soak.rss_mib.mean", value: round(mean(rssMeans), 1), unit: "MiB" },
    { metric: "soak.cpu_pct_per_keeper.mean", value: round(mean(cpus)), unit: "% of a core" },
    { metric: "soak.keepers", value: N, unit: "keepers" },
    { metric: "soak.minutes", value: minutes, unit: "min" },
    { metric: "soak.converge_s", value: round(convergeS, 1), unit: "s" },
    { metric: "soak.transfers_succeeded", value: succeeded, unit: "transfers" },
    { metric: "soak.transfers_failed", value: transferFailures, unit: "transfers" },
    { metric: "soak.loadavg_1m", value: round(loadavg()[0]!), unit: "load" },
  ]);

  // ─────────────────────────────── failure detection ───────────────────────────────
  // A keeper too busy to answer in time is left out of these sums (said on stderr), not the end of the run.
  const finalStatus = (
    await Promise.all(
      keepers.map((k) =>
        k.get<Status>("/api/status", 120_000).catch((err: unknown) => {
          say(`${k.name}: no status (${(err as Error).message})`);
          return undefined;
        }),
      ),
    )
  ).filter((s) => s !== undefined);
  // Nobody is killed in the soak: every keeper declared failed anywhere is a false verdict.
  const sum = (f: (h: Status["health"]) => number) => finalStatus.reduce((n, s) => n + f(s.health), 0);
  printMetrics([
    { metric: "soak.status_answered", value: finalStatus.length, unit: "keepers" },
    {
      metric: "soak.health.false_failures",
      value: sum((h) => h.failuresDeclared + h.failuresLearned),
      unit: "verdicts",
    },
    { metric: "soak.health.suspicions", value: sum((h) => h.suspicions), unit: "suspicions" },
    { metric: "soak.health.refutations", value: sum((h) => h.refutations), unit: "refutations" },
  ]);

  // ─────────────────────────────── epochs on chain ───────────────────────────────
  const open = Math.max(1, ...finalStatus.map((s) => s.epoch));
  const provider = rpcProvider(chain.url);
  const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, provider);
  const pool = RewardPool__factory.connect(record.contracts.RewardPool, provider);
  // A busy Hardhat node may time a read out: retry until the drain deadline rather than lose the run's figures.
  const drainDeadline = Date.now() + (3 * epochSeconds + 2 * 60) * 1000;
  const read = async <T>(f: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await f();
      } catch (err) {
        if (Date.now() > drainDeadline + 120_000) throw err;
        await sleep(2_000);
      }
    }
  };
  say(`transfers over; waiting for epoch ${open - 1} on chain`);
  while (Date.now() < drainDeadline && Number(await read(() => taskLog.lastEpoch())) < open - 1) await sleep(2_000);
  const count = (events: { args: { epoch: bigint } }[]) => {
    const per = new Map<number, number>();
    for (const e of events) per.set(Number(e.args.epoch), (per.get(Number(e.args.epoch)) ?? 0) + 1);
    const last = Math.max(0, ...per.keys());
    const missing = Array.from({ length: last }, (_, i) => i + 1).filter((e) => !per.has(e));
    return { last, twice: [...per.values()].filter((n) => n > 1).length, missing };
  };
  const logCommits = count(await read(() => taskLog.queryFilter(taskLog.filters.EpochCommitted())));
  const poolCommits = count(await read(() => pool.queryFilter(pool.filters.EpochCommitted())));
  provider.destroy();
  if (logCommits.missing.length + poolCommits.missing.length > 0)
    say(`epochs missing: TaskLog [${logCommits.missing}], RewardPool [${poolCommits.missing}]`);
  const goals: Metric[] = [
    { metric: "soak.epochs_committed_twice", value: logCommits.twice + poolCommits.twice, unit: "epochs" },
    { metric: "soak.epochs_missing", value: logCommits.missing.length + poolCommits.missing.length, unit: "epochs" },
  ];
  printMetrics([
    { metric: "soak.epochs_committed", value: logCommits.last, unit: "epochs" },
    { metric: "soak.epochs_committed.reward_pool", value: poolCommits.last, unit: "epochs" },
    ...goals,
  ]);
  failed = goals.some((g) => g.value !== 0) || logCommits.last === 0;
} catch (err) {
  failed = true;
  say(`soak failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await Promise.all(keepers.map((k) => k.stop()));
  await chain.stop();
}
if (failed) say(`logs kept in ${runDir}`);
else rmSync(runDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
