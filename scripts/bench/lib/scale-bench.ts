/**
 * `npm run bench:scale` (issue 13 §5): N keepers on this machine, each a process in its own network namespace
 * with its own address (BenchNetwork), three bandwidth classes (tbf on each namespace's egress, advertised as
 * B_i) and an injected per-keeper delay (the keeper's executionDelayMs: netem is not available here). Measures,
 * one JSON line each:
 *
 * - scale.keepers, scale.converge_s: after the last keeper started, until every keeper holds a verified record
 *   of every other; scale.converge95_s: until every keeper holds records of at least 95 % of the others.
 * - scale.idle_cpu_pct_per_keeper, scale.idle_rss_mib_per_keeper: /proc over an idle window after convergence;
 *   scale.idle_pss_mib_per_keeper and scale.idle_anon_mib_per_keeper (smaps_rollup) say what of the RSS is the
 *   keeper's own: RSS counts the node binary's shared pages in full in every keeper.
 * - scale.idle_probe_msgs_per_keeper_per_s: failure-detection requests a keeper started per second in that window
 *   (probes, ping-reqs, relays, state syncs; each is answered by one ack), averaged over the keepers.
 * - scale.idle_streams_per_keeper_per_s[.<protocol>]: streams a keeper opened per second in that window, by
 *   protocol (libp2p's own included): what an idle keeper's traffic is made of.
 * - scale.false_suspicions, scale.false_failures: suspicions and failures (declared or learned) every keeper
 *   counted from its start to the end of the idle window, when no keeper had been stopped: each one is false.
 * - scale.dht.closest_ms.p90: DHT closest-peers walks for random keys from random keepers.
 * - churn.recover_s, churn.transfer_success: a third of the keepers SIGKILLed at once while survivors keep
 *   requesting transfers; recovered when no survivor's routing table holds a dead keeper and a transfer
 *   requested after that succeeded.
 * - partition.heal_s: the survivors split into two islands until each side dropped the other from routing,
 *   then healed: until every survivor routes to every other again.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

import { mulberry32 } from "./prng.ts";
import { BenchNetwork, type LinkClass } from "./netns.ts";
import { keeperModules, ScaleKeeper, type KeeperRuntime } from "./scale-process.ts";

export interface ScaleBenchOptions {
  keepers: number;
  /** No further wave starts when the machine's MemAvailable would fall below this (MiB). */
  minFreeMiB: number;
  runtime: KeeperRuntime;
  /** Keepers started at once after the first three. */
  startWave: number;
  /** A wave starts only once the machine's 1-minute load average is below this (or after WAVE_LOAD_WAIT_MS): a
   * start is seconds of CPU per keeper, and keepers starved by the previous wave's starts miss their probe and
   * handshake timeouts, fail each other falsely and spend the machine on reconnecting. Infinity: no wait. */
  maxStartLoad?: number;
  /** A wave starts only once the running keepers together used less than this share of one core (percent) over
   * the last START_CPU_WINDOW_MS (or after WAVE_CPU_WAIT_MS): the keepers' own CPU, read from /proc, reacts in
   * seconds where the load average lags by a minute. Infinity: no wait. */
  maxStartCpuPct?: number;
  idleSeconds: number;
  /** Wait after convergence before the idle window opens (default 5 s): a longer one leaves out the first
   * minutes' one-off work (first pings and hop lookups of every peer, first directory walks). */
  idleWarmupSeconds?: number;
  seed: number;
  /** Longest wait for any phase to reach its condition, seconds. */
  phaseTimeoutS: number;
  /** Phases after the start, in order: converge, idle, dht, churn, partition (a shorter run leaves some out). */
  phases: ReadonlySet<string>;
  /** Node/V8 options for every keeper (e.g. a heap cap). */
  nodeArgs: readonly string[];
  /** The compiled keeper to run (a dist/ folder; default this tree's). */
  dist?: string;
  /** This keeper's process writes a CPU profile (--cpu-prof) into <work>/profile when it stops. */
  profileKeeper?: number;
  emit: (metric: string, value: number, unit: string) => void;
  progress: (msg: string) => void;
}

/** Three bandwidth classes: 20 / 80 / 320 Mbit/s. */
const CLASSES: readonly LinkClass[] = [
  { name: "slow", rateBitsPerSecond: 20e6 },
  { name: "mid", rateBitsPerSecond: 80e6 },
  { name: "fast", rateBitsPerSecond: 320e6 },
];
/** Injected delays (ms) crossed with the classes, so latency and bandwidth do not coincide. */
const DELAYS_MS: readonly number[] = [0, 15, 40];
const READY_TIMEOUT_MS = 180_000;
const OBJECT_BYTES = 256 * 1024;

interface Status {
  records: string[];
  routing: string[];
  health: Record<string, number>;
}

export const PHASES = ["converge", "idle", "dht", "churn", "partition"] as const;

export async function runScaleBench(o: ScaleBenchOptions, net: BenchNetwork, work: string): Promise<ScaleKeeper[]> {
  let keepers: ScaleKeeper[] = [];
  o.progress(`creating ${o.keepers} namespaces (${net.tag}-*)`);
  await net.createHub();
  for (let i = 0; i < o.keepers; i++) {
    const link = CLASSES[i % CLASSES.length]!;
    await net.addKeeper(i, link);
    mkdirSync(join(work, "logs"), { recursive: true });
    keepers.push(
      new ScaleKeeper(
        i,
        net.namespace(i),
        {
          name: `k${i}`,
          dataDir: join(work, `k${i}`),
          listen: `/ip4/${net.address(i)}/tcp/4001`,
          bootstrap: [],
          rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
          bandwidthBps: link.rateBitsPerSecond / 8,
          executionDelayMs: DELAYS_MS[Math.floor(i / CLASSES.length) % DELAYS_MS.length]!,
          ...keeperModules(o.runtime, o.dist),
        },
        o.runtime,
        join(work, "logs", `k${i}.log`),
        i === o.profileKeeper ? [...o.nodeArgs, "--cpu-prof", `--cpu-prof-dir=${join(work, "profile")}`] : o.nodeArgs,
      ),
    );
  }

  o.progress("starting keepers");
  const seeds = keepers.slice(0, Math.min(3, keepers.length));
  await seeds[0]!.start(READY_TIMEOUT_MS);
  for (const k of seeds.slice(1)) k.config.bootstrap = [seeds[0]!.address];
  await Promise.all(seeds.slice(1).map((k) => k.start(READY_TIMEOUT_MS)));
  const rest = keepers.slice(seeds.length);
  let started = seeds.length;
  const notReady = new Set<ScaleKeeper>();
  for (let w = 0; w < rest.length; w += o.startWave) {
    const wave = rest.slice(w, w + o.startWave);
    // Other work shares this machine: stop adding keepers before memory runs short, and say so.
    const perKeeper = Math.max(...keepers.slice(0, started).map((k) => k.rssMiB() ?? 0), 150);
    const available = memAvailableMiB();
    if (available - wave.length * perKeeper < o.minFreeMiB) {
      o.progress(`stopping at ${started} keepers: ${Math.round(available)} MiB available, ${perKeeper} MiB each`);
      o.emit("scale.stopped_by_memory", 1, "bool");
      break;
    }
    await waitForLoad(o, started);
    await waitForKeeperCpu(o, keepers.slice(0, started));
    for (const k of wave) k.config.bootstrap = seeds.map((s) => s.address);
    // A keeper that cannot start (its bootstrap handshakes time out on a starved machine) is stopped and left
    // out; the run goes on with the others and says how many.
    const results = await Promise.allSettled(wave.map((k) => k.start(READY_TIMEOUT_MS)));
    for (const [j, r] of results.entries())
      if (r.status === "rejected") {
        o.progress(`left out: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
        notReady.add(wave[j]!);
        await wave[j]!.stop(1_000);
      }
    started += wave.length;
    o.progress(`${started - notReady.size} keepers ready`);
  }
  keepers = keepers.slice(0, started).filter((k) => !notReady.has(k));
  if (notReady.size > 0) o.emit("scale.keepers_not_ready", notReady.size, "keepers");
  const lastReady = performance.now();
  o.emit("scale.keepers", keepers.filter((k) => k.alive).length, "keepers");

  if (o.phases.has("converge")) await converge(o, keepers, lastReady);
  if (o.phases.has("idle")) await idle(o, keepers);
  if (!o.phases.has("dht")) return finish(o, net, keepers, work, r0(o));

  o.progress("DHT closest-peers walks");
  const r = r0(o);
  const walks: number[] = [];
  let failedWalks = 0;
  for (let j = 0; j < 30; j++) {
    const k = keepers[Math.floor(r() * keepers.length)]!;
    // A walk that does not end within 30 s counts as failed; the bench goes on.
    await k
      .request<number>({ cmd: "closest", key: `scale-${o.seed}-${j}` }, 30_000)
      .then((ms) => walks.push(ms))
      .catch(() => failedWalks++);
  }
  walks.sort((a, b) => a - b);
  if (walks.length > 0) {
    const p90 = walks[Math.min(walks.length - 1, Math.floor(0.9 * walks.length))]!;
    o.emit("scale.dht.closest_ms.p90", round(p90), "ms");
  }
  o.emit("scale.dht.closest_failed", failedWalks, "walks");
  return finish(o, net, keepers, work, r);
}

const r0 = (o: ScaleBenchOptions) => mulberry32(o.seed);

async function finish(
  o: ScaleBenchOptions,
  net: BenchNetwork,
  keepers: ScaleKeeper[],
  work: string,
  r: () => number,
): Promise<ScaleKeeper[]> {
  if (o.phases.has("churn")) await churn(o, keepers, work, r);
  if (o.phases.has("partition"))
    await partition(
      o,
      net,
      keepers.filter((k) => k.alive),
    );
  return keepers;
}

/** Until every keeper holds a verified record of every other (and, on the way, of at least 95 % of them). */
async function converge(o: ScaleBenchOptions, keepers: ScaleKeeper[], lastReady: number): Promise<void> {
  o.progress("waiting until every keeper knows every other");
  const everyone = new Set(keepers.map((k) => k.peerId));
  const others = keepers.length - 1;
  let at95: number | undefined;
  let fewest = -1;
  const converged = await waitFor(
    o,
    keepers,
    (k, s) => covers(s.records, everyone, k.peerId),
    1000,
    (statuses) => {
      if (at95 !== undefined) return;
      const known = statuses.map((s) => (s === undefined ? 0 : s.records.filter((p) => everyone.has(p)).length));
      if (known.every((n) => n >= Math.ceil(0.95 * others))) at95 = performance.now();
      else if (Math.min(...known) !== fewest) {
        fewest = Math.min(...known);
        o.progress(`fewest records held: ${fewest} of ${others}`);
      }
    },
  );
  if (at95 !== undefined) o.emit("scale.converge95_s", round((at95 - lastReady) / 1000), "s");
  if (converged.ok) o.emit("scale.converge_s", round((performance.now() - lastReady) / 1000), "s");
  else {
    o.emit("scale.converge_timeout_s", o.phaseTimeoutS, "s");
    o.emit("scale.converge_keepers_done", converged.satisfied, "keepers");
  }
}

const PROBE_REQUESTS = ["probes", "pingReqs", "relays", "syncsToFailed", "syncsToAlive"] as const;

/** CPU, RSS and failure-detection traffic over an idle window; false suspicions and failures since the start. */
async function idle(o: ScaleBenchOptions, keepers: ScaleKeeper[]): Promise<void> {
  const warmup = o.idleWarmupSeconds ?? 5;
  o.progress(`idle window of ${o.idleSeconds} s after ${warmup} s`);
  await sleep(warmup * 1000);
  const health = () =>
    Promise.all(
      keepers.map((k) =>
        k.request<Status>({ cmd: "status" }, 30_000).then(
          (s) => s.health,
          () => undefined,
        ),
      ),
    );
  const streams = () =>
    Promise.all(
      keepers.map((k) =>
        k.request<Record<string, number>>({ cmd: "streams" }, 30_000).catch(() => ({}) as Record<string, number>),
      ),
    );
  const h0 = await health();
  const s0 = await streams();
  const t0 = performance.now();
  const ticks0 = keepers.map((k) => k.cpuTicks() ?? 0);
  const rss: number[] = [];
  const pss: number[] = [];
  const anon: number[] = [];
  for (let s = 0; s < o.idleSeconds; s += 5) {
    await sleep(5_000);
    for (const k of keepers) {
      rss.push(k.rssMiB() ?? 0);
      const m = k.memoryMiB();
      if (m !== undefined) (pss.push(m.pss), anon.push(m.anon));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = keepers.map((k, i) => ((k.cpuTicks() ?? ticks0[i]!) - ticks0[i]!) / CLK_TCK / seconds);
  const h1 = await health();
  const s1 = await streams();
  o.emit("scale.idle_cpu_pct_per_keeper", round((100 * cpu.reduce((a, b) => a + b, 0)) / keepers.length), "%");
  o.emit("scale.idle_cpu_pct_max", round(100 * Math.max(...cpu)), "%");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  o.emit("scale.idle_rss_mib_per_keeper", round(mean(rss)), "MiB");
  o.emit("scale.idle_rss_mib_max", round(Math.max(...rss)), "MiB");
  // RSS counts the node binary's pages in every keeper; PSS shares them out, anonymous leaves them out.
  if (pss.length > 0) {
    o.emit("scale.idle_pss_mib_per_keeper", round(mean(pss)), "MiB");
    o.emit("scale.idle_anon_mib_per_keeper", round(mean(anon)), "MiB");
  }
  // Where the RSS goes (V8 heap used and committed, buffers outside it), averaged over the keepers.
  const mem = (
    await Promise.all(
      keepers.map((k) => k.request<Record<string, number>>({ cmd: "memory" }, 30_000).catch(() => undefined)),
    )
  ).filter((m) => m !== undefined);
  for (const key of ["heapUsed", "heapTotal", "external", "arrayBuffers"])
    if (mem.length > 0)
      o.emit(`scale.idle_${key}_mib_per_keeper`, round(mem.reduce((n, m) => n + (m[key] ?? 0), 0) / mem.length), "MiB");
  const sum = (hs: (Record<string, number> | undefined)[], keys: readonly string[]) =>
    hs.reduce((n, h) => n + (h === undefined ? 0 : keys.reduce((m, key) => m + (h[key] ?? 0), 0)), 0);
  const both = keepers.filter((_, i) => h0[i] !== undefined && h1[i] !== undefined).length;
  if (both > 0) {
    const sent = sum(h1, PROBE_REQUESTS) - sum(h0, PROBE_REQUESTS);
    o.emit("scale.idle_probe_msgs_per_keeper_per_s", round(sent / keepers.length / seconds), "messages/s");
  }
  // Streams a keeper opened per second in the window, by protocol: what idle costs (each is a yamux stream, a
  // protocol negotiation and a request and answer on both ends).
  const opened = new Map<string, number>();
  for (const [i, after] of s1.entries())
    for (const [proto, n] of Object.entries(after))
      opened.set(proto, (opened.get(proto) ?? 0) + n - (s0[i]![proto] ?? 0));
  let all = 0;
  for (const [proto, n] of [...opened].sort((a, b) => b[1] - a[1])) {
    all += n;
    o.emit(`scale.idle_streams_per_keeper_per_s.${proto}`, round(n / keepers.length / seconds), "streams/s");
  }
  o.emit("scale.idle_streams_per_keeper_per_s", round(all / keepers.length / seconds), "streams/s");
  o.emit("scale.false_suspicions", sum(h1, ["suspicions"]), "suspicions");
  o.emit("scale.false_failures", sum(h1, ["failuresDeclared", "failuresLearned"]), "failures");
  o.emit("scale.idle_loadavg_1m", round(loadavg()[0]!), "load");
}

async function churn(o: ScaleBenchOptions, keepers: ScaleKeeper[], work: string, r: () => number): Promise<void> {
  // Keeper 1 provides the object, keeper 0 checks the network first; neither is killed.
  const provider = keepers[1 % keepers.length]!;
  const objects = join(work, "objects");
  mkdirSync(objects, { recursive: true });
  const path = join(objects, "object.bin");
  writeFileSync(path, randomBytes(OBJECT_BYTES));
  const published = await provider.request<{ objectId: string; size: number }>({ cmd: "publish", path });
  let seq = 0;
  const transfer = async (consumer: ScaleKeeper) => {
    const outcome = await consumer
      .request<{ status: string }>({
        cmd: "transfer",
        objectId: published.objectId,
        size: published.size,
        providers: [provider.address],
        taskId: `scale-${o.seed}-${seq++}`,
      })
      .catch((err: Error) => ({ status: `error: ${err.message}` }));
    return outcome.status === "succeeded";
  };
  if (!(await transfer(keepers[0]!))) throw new Error("a transfer before the churn failed: the network is not working");

  const candidates = keepers.slice(2);
  const victims: ScaleKeeper[] = [];
  while (victims.length < Math.floor(keepers.length / 3) && candidates.length > 0) {
    victims.push(candidates.splice(Math.floor(r() * candidates.length), 1)[0]!);
  }
  const survivors = keepers.filter((k) => !victims.includes(k));
  const dead = new Set(victims.map((k) => k.peerId));
  o.progress(`killing ${victims.length} keepers at once`);
  const t0 = performance.now();
  await Promise.all(victims.map((k) => k.signal("SIGKILL")));

  let ok = 0;
  let total = 0;
  let stop = false;
  const loops = [0, 1, 2].map(async (l) => {
    for (let j = l; !stop; j += 3) {
      const consumer = survivors[j % survivors.length]!;
      total++;
      if (await transfer(consumer)) ok++;
    }
  });
  const cleared = await waitFor(o, survivors, (_k, s) => !s.routing.some((p) => dead.has(p)), 500);
  const routingClear = performance.now();
  let recovered = false;
  for (let attempt = 0; attempt < 5 && !recovered; attempt++) {
    total++;
    recovered = await transfer(survivors[attempt % survivors.length]!);
    if (recovered) ok++;
  }
  stop = true;
  await Promise.all(loops);
  if (cleared.ok && recovered) o.emit("churn.recover_s", round((performance.now() - t0) / 1000), "s");
  else {
    o.emit("churn.recover_timeout_s", round((routingClear - t0) / 1000), "s");
    o.emit("churn.recover_keepers_done", cleared.satisfied, "keepers");
  }
  o.emit("churn.killed", victims.length, "keepers");
  o.emit("churn.transfers", total, "transfers");
  o.emit("churn.transfer_success", round(ok / total), "fraction");
}

async function partition(o: ScaleBenchOptions, net: BenchNetwork, survivors: ScaleKeeper[]): Promise<void> {
  const island = survivors.filter((_, j) => j % 2 === 1);
  const islandIds = new Set(island.map((k) => k.peerId));
  const sideOf = (k: ScaleKeeper) => islandIds.has(k.peerId);
  o.progress(`partition: ${island.length} of ${survivors.length} keepers cut off from the others`);
  await net.partition(island.map((k) => k.index));
  const split = await waitFor(o, survivors, (k, s) => !s.routing.some((p) => islandIds.has(p) !== sideOf(k)), 1000);
  if (!split.ok) o.progress("the two sides did not drop each other from routing in time; healing anyway");
  const t0 = performance.now();
  await net.heal();
  const all = new Set(survivors.map((k) => k.peerId));
  const healed = await waitFor(o, survivors, (k, s) => covers(s.routing, all, k.peerId), 500);
  if (healed.ok) o.emit("partition.heal_s", round((performance.now() - t0) / 1000), "s");
  else {
    o.emit("partition.heal_timeout_s", o.phaseTimeoutS, "s");
    o.emit("partition.heal_keepers_done", healed.satisfied, "keepers");
  }
  o.emit("partition.split_observed", split.ok ? 1 : 0, "bool");
}

function covers(known: readonly string[], everyone: ReadonlySet<string>, self: string): boolean {
  const k = new Set(known);
  for (const p of everyone) if (p !== self && !k.has(p)) return false;
  return true;
}

/**
 * Polls every keeper's status until `pred` holds for all, or the phase timeout passes; `satisfied` is how many
 * keepers met it at the last poll.
 */
async function waitFor(
  o: ScaleBenchOptions,
  keepers: readonly ScaleKeeper[],
  pred: (k: ScaleKeeper, s: Status) => boolean,
  pollMs = 1000,
  onPoll?: (statuses: (Status | undefined)[]) => void,
): Promise<{ ok: boolean; satisfied: number }> {
  const deadline = performance.now() + o.phaseTimeoutS * 1000;
  for (;;) {
    const statuses = await Promise.all(
      keepers.map((k) => k.request<Status>({ cmd: "status" }, 30_000).catch(() => undefined)),
    );
    onPoll?.(statuses);
    const satisfied = statuses.filter((s, i) => s !== undefined && pred(keepers[i]!, s)).length;
    if (satisfied === keepers.length) return { ok: true, satisfied };
    if (performance.now() > deadline) return { ok: false, satisfied };
    await sleep(pollMs);
  }
}

/** Longest wait for the load average to fall before a wave starts anyway. */
const WAVE_LOAD_WAIT_MS = 180_000;

/** Waits until the 1-minute load average is below `maxStartLoad` (at most WAVE_LOAD_WAIT_MS), saying how long. */
async function waitForLoad(o: ScaleBenchOptions, started: number): Promise<void> {
  const max = o.maxStartLoad ?? Infinity;
  if (!Number.isFinite(max)) return;
  const since = performance.now();
  while (loadAverage() >= max && performance.now() - since < WAVE_LOAD_WAIT_MS) await sleep(1_000);
  const waited = (performance.now() - since) / 1000;
  const load = loadAverage();
  if (load >= max)
    o.progress(
      `${started} keepers: the load average is still ${load} after ${waited.toFixed(0)} s; starting the next wave anyway`,
    );
  else if (waited >= 1)
    o.progress(`${started} keepers: waited ${waited.toFixed(0)} s for the load average (${load}) to fall below ${max}`);
}

const START_CPU_WINDOW_MS = 3_000;
const WAVE_CPU_WAIT_MS = 60_000;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

/**
 * Waits until the started keepers together use less than `maxStartCpuPct` percent of one core over
 * START_CPU_WINDOW_MS, or until it stops falling below 1.5 times the bound (two windows within 10 %: the keepers'
 * idle, above the bound), at
 * most WAVE_CPU_WAIT_MS, saying how long: a newcomer's start costs its own CPU and the
 * others' (dials, identify, record exchanges), and the next wave waits until that work is done.
 */
async function waitForKeeperCpu(o: ScaleBenchOptions, running: readonly ScaleKeeper[]): Promise<void> {
  const max = o.maxStartCpuPct ?? Infinity;
  if (!Number.isFinite(max)) return;
  const since = performance.now();
  let pct = Infinity;
  let steady = false;
  while (performance.now() - since < WAVE_CPU_WAIT_MS) {
    const previous = pct;
    pct = await keepersCpuPct(running, START_CPU_WINDOW_MS);
    if (pct < max) break;
    // Above the bound but no longer falling, and not far above: the running keepers' idle, not a start still
    // settling. Far above it (a cascade of false verdicts holds the machine at full load) the wave waits.
    steady = pct < 1.5 * max && Math.abs(pct - previous) < 0.1 * previous;
    if (steady) break;
  }
  const waited = (performance.now() - since) / 1000;
  if (steady)
    o.progress(`${running.length} keepers: steady at ${pct.toFixed(0)} % CPU (bound ${max} %); starting the next wave`);
  else if (pct >= max)
    o.progress(
      `${running.length} keepers: still at ${pct.toFixed(0)} % CPU after ${waited.toFixed(0)} s; starting anyway`,
    );
  else if (waited > (2 * START_CPU_WINDOW_MS) / 1000)
    o.progress(
      `${running.length} keepers: waited ${waited.toFixed(0)} s for their CPU (${pct.toFixed(0)} %) to fall below ${max} %`,
    );
}

/** The keepers' CPU summed over `ms`, percent of one core (/proc ticks; a keeper gone meanwhile counts 0). */
async function keepersCpuPct(keepers: readonly ScaleKeeper[], ms: number): Promise<number> {
  const before = keepers.map((k) => k.cpuTicks());
  const t0 = performance.now();
  await sleep(ms);
  const seconds = (performance.now() - t0) / 1000;
  let ticks = 0;
  for (const [i, k] of keepers.entries()) {
    const a = before[i];
    const b = k.cpuTicks();
    if (a !== undefined && b !== undefined) ticks += b - a;
  }
  return (100 * ticks) / CLK_TCK / seconds;
}

/** The machine's 1-minute load average. */
function loadAverage(): number {
  return round(loadavg()[0]!);
}

/** MemAvailable of /proc/meminfo, MiB. */
function memAvailableMiB(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m === null ? Infinity : Number(m[1]) / 1024;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function workDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `lumora-${tag}-`));
}

export function removeDataDirs(work: string, keepers: readonly ScaleKeeper[]): void {
  for (const k of keepers) rmSync(k.config.dataDir, { recursive: true, force: true });
}
