/**
 * `npm run bench:scale [-- --keepers 100 --wave 5 --max-start-load 4|none (default: 2 per core) --max-start-cpu 120|none --idle-seconds 30 --idle-warmup-seconds 5 --phase-timeout 300
 * --runtime compiled|tsx --min-free-mib 3072 --phases converge,idle,dht,churn,partition
 * --node-args=--max-semi-space-size=1 (a value starting with "-" needs the "=") --profile-keeper 3]` — N keepers in their
 * own network namespaces on this machine (scripts/bench/lib/scale-bench.ts says what is measured). Needs root.
 * One JSON object per line on stdout; progress on stderr. Every namespace the bench creates is deleted when it
 * ends, also on failure and on Ctrl-C; keeper logs stay in the printed folder. The keepers run compiled (dist/,
 * built by the npm script first) unless `--runtime tsx`. No wave of keepers starts when it would leave the
 * machine less than --min-free-mib of available memory (it is shared): the run goes on with those started.
 * A wave starts once the 1-minute load average is below --max-start-load and the running keepers together use less
 * than --max-start-cpu percent of one core (default 60 per core) over 3 s (at most 3 and 1 min later; "none": at once).
 * --phases keeps a run short (e.g. `converge,idle` at N = 100); --node-args passes Node/V8 options to every keeper;
 * --dist DIR runs another compiled keeper (e.g. an earlier commit's build) under this bench, to compare;
 * --profile-keeper i has keeper i write a CPU profile (.cpuprofile, for Chrome DevTools) into <work>/profile.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

import { BenchNetwork } from "./lib/netns.ts";
import { PHASES, removeDataDirs, runScaleBench, workDir } from "./lib/scale-bench.ts";
import { killAllKeepers, type ScaleKeeper } from "./lib/scale-process.ts";

const { values } = parseArgs({
  options: {
    keepers: { type: "string", default: "20" },
    runtime: { type: "string", default: "compiled" },
    wave: { type: "string", default: "5" },
    "max-start-load": { type: "string", default: String(2 * availableParallelism()) },
    "max-start-cpu": { type: "string", default: String(60 * availableParallelism()) },
    "min-free-mib": { type: "string", default: "3072" },
    "idle-seconds": { type: "string", default: "30" },
    "idle-warmup-seconds": { type: "string", default: "5" },
    "phase-timeout": { type: "string", default: "300" },
    phases: { type: "string", default: PHASES.join(",") },
    "node-args": { type: "string", default: "" },
    "profile-keeper": { type: "string" },
    dist: { type: "string" },
  },
});

function positiveInt(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, got ${s}`);
  return n;
}

const keeperCount = positiveInt("keepers", values.keepers);
if (keeperCount < 3) throw new Error("--keepers must be at least 3 (a provider, a consumer and one to kill)");
if (process.getuid?.() !== 0) throw new Error("bench:scale creates network namespaces: run it as root");

const phases = new Set(values.phases.split(",").filter((p) => p !== ""));
for (const p of phases)
  if (!(PHASES as readonly string[]).includes(p))
    throw new Error(`--phases: unknown phase ${p} (${PHASES.join(", ")})`);
const nodeArgs = values["node-args"].split(/\s+/).filter((a) => a !== "");
const profileKeeper = values["profile-keeper"] === undefined ? undefined : Number(values["profile-keeper"]);
if (
  profileKeeper !== undefined &&
  !(Number.isSafeInteger(profileKeeper) && profileKeeper >= 0 && profileKeeper < keeperCount)
)
  throw new Error(`--profile-keeper must be a keeper index in [0, ${keeperCount}), got ${values["profile-keeper"]}`);

const maxStartLoad = values["max-start-load"] === "none" ? Infinity : Number(values["max-start-load"]);
if (!(maxStartLoad > 0))
  throw new Error(`--max-start-load must be a number > 0 or none, got ${values["max-start-load"]}`);
const maxStartCpuPct = values["max-start-cpu"] === "none" ? Infinity : Number(values["max-start-cpu"]);
if (!(maxStartCpuPct > 0))
  throw new Error(`--max-start-cpu must be a number > 0 or none, got ${values["max-start-cpu"]}`);
const runtime = values.runtime;
if (runtime !== "compiled" && runtime !== "tsx") throw new Error(`--runtime must be compiled or tsx, got ${runtime}`);
const seedText = process.env.LUMORA_BENCH_SEED;
const seed = seedText === undefined ? 13 : Number(seedText);
const tag = `lsc${process.pid}`;
const net = new BenchNetwork(tag);
const work = workDir(tag);
const startedAt = Date.now();
// Elapsed seconds on every line, so a phase's duration can be read next to the keepers' logs.
const progress = (msg: string) =>
  process.stderr.write(`bench:scale: [${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${msg}\n`);
let keepers: ScaleKeeper[] = [];

// Namespaces go whatever happens: Ctrl-C, a kill, an exception.
process.on("exit", () => {
  killAllKeepers();
  net.destroySync();
});
// Ctrl-C reaches this process twice (from the terminal, and relayed by the tsx launcher): a second signal must not
// end it half-way through removing the namespaces, so every signal is handled and the ones after the first ignored.
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    progress(`${sig}: killing the keepers, removing the namespaces`);
    killAllKeepers();
    net.destroySync();
    process.exit(130);
  });
}

let failed = false;
try {
  keepers = await runScaleBench(
    {
      keepers: keeperCount,
      runtime,
      minFreeMiB: positiveInt("min-free-mib", values["min-free-mib"]),
      startWave: positiveInt("wave", values.wave),
      maxStartLoad,
      maxStartCpuPct,
      idleSeconds: positiveInt("idle-seconds", values["idle-seconds"]),
      idleWarmupSeconds: positiveInt("idle-warmup-seconds", values["idle-warmup-seconds"]),
      phaseTimeoutS: positiveInt("phase-timeout", values["phase-timeout"]),
      phases,
      nodeArgs,
      profileKeeper,
      dist: values.dist,
      seed,
      emit: (metric, value, unit) => process.stdout.write(JSON.stringify({ metric, value, unit }) + "\n"),
      progress,
    },
    net,
    work,
  );
} catch (err) {
  failed = true;
  progress(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  progress("stopping keepers and removing the namespaces");
  await Promise.all(keepers.map((k) => k.stop()));
  const errors = await net.destroy();
  for (const e of errors) progress(`namespace not removed: ${e}`);
  removeDataDirs(work, keepers);
  progress(`keeper logs: ${work}/logs`);
  if (profileKeeper !== undefined) progress(`CPU profile of keeper ${profileKeeper}: ${work}/profile`);
}
process.exit(failed ? 1 : 0);
