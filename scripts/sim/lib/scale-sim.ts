/**
 * The 1,000,000-node simulation behind `npm run sim:scale` (docs/scale.md). Everything that decides is the
 * keeper's own code: keeper/routing's RoutingTable (shard mapping, score, selection) and keeper/tasks'
 * TaskManager (placement, reassignment) on a real node:sqlite store. The simulation only invents the network
 * (seeded node metrics), feeds the table the way the routing feed does, and times what the code does.
 *
 * Steps, each printed as {"metric","value","unit"}:
 * 1. N nodes join (upsert), then the first selection recomputes the shard map (one sort of N members).
 * 2. One feed refresh: every node upserted again, as the routing feed does every 2 s.
 * 3. Selection latency: `select` for random task ids (primary + k backups), p50 / p90 of wall time and of the
 *    process's CPU time (the machine may be shared: wall time then includes preemption).
 * 4. Shard balance: max / mean shard size.
 * 5. One leave, then a selection: the price of a membership change on the next task.
 * 6. Tasks: T tasks placed by the TaskManager (executions held open); then 1 % of the nodes leave (removed
 *    from routing, their attempts disconnected) and the manager reassigns. A task "moves" when its executor
 *    after the churn differs from its executor before. Also: the fraction of surviving nodes whose shard
 *    changed (what anything keyed by shard would have to hand over).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { createLogger } from "../../../keeper/logger.ts";
import { RoutingTable } from "../../../keeper/routing/table.ts";
import { openStore } from "../../../keeper/store/index.ts";
import { TaskManager } from "../../../keeper/tasks/manager.ts";
import type { Capability, NodeView } from "../../../keeper/types.ts";
import type { Metric } from "../../bench/lib/metrics.ts";
import { mulberry32 } from "../../bench/lib/prng.ts";

export interface ScaleSimOptions {
  seed: number;
  nodes: number;
  tasks: number;
  /** Fraction of the nodes that leave at once in step 6. */
  leaveFraction: number;
  /** Selections timed in step 3. */
  selections: number;
  /** Number_of_Shards; undefined = routing's default. */
  shards?: number;
  /** Progress lines (stderr). */
  progress: (msg: string) => void;
}

/** Three bandwidth classes (10 / 100 / 1000 Mbit/s, in bytes per second) and how common each is. */
const BANDWIDTH_CLASSES: readonly { bytesPerSecond: number; share: number }[] = [
  { bytesPerSecond: 1.25e6, share: 0.5 },
  { bytesPerSecond: 12.5e6, share: 0.35 },
  { bytesPerSecond: 125e6, share: 0.15 },
];
const EXECUTOR: readonly Capability[] = ["executor", "provider"];
const PROVIDER_ONLY: readonly Capability[] = ["provider"];

/** A seeded network: bandwidth class, RTT (5–300 ms, skewed short), DHT hops 1–5, capacity 4–16. */
export function simulatedNodes(n: number, seed: number): NodeView[] {
  const r = mulberry32(seed);
  const nodes: NodeView[] = new Array<NodeView>(n);
  for (let i = 0; i < n; i++) {
    let u = r();
    let bandwidth = BANDWIDTH_CLASSES[BANDWIDTH_CLASSES.length - 1]!.bytesPerSecond;
    for (const c of BANDWIDTH_CLASSES) {
      if (u < c.share) {
        bandwidth = c.bytesPerSecond;
        break;
      }
      u -= c.share;
    }
    const rtt = r();
    nodes[i] = {
      peerId: `sim${seed.toString(36)}n${i.toString(36)}`,
      bandwidth,
      capacity: 4 + Math.floor(r() * 13),
      load: 0,
      proximity: 1 + Math.floor(r() * 5),
      latencyMs: 5 + rtt * rtt * 295,
      shard: 0,
      flagged: r() < 0.005,
      capabilities: r() < 0.9 ? EXECUTOR : PROVIDER_ONLY,
    };
  }
  return nodes;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Milliseconds of CPU (user + system) this process used since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

export async function runScaleSim(o: ScaleSimOptions): Promise<Metric[]> {
  const out: Metric[] = [];
  const emit = (metric: string, value: number, unit: string) => {
    const m = { metric, value, unit };
    out.push(m);
    process.stdout.write(JSON.stringify(m) + "\n");
  };
  const logger = createLogger("sim", { level: "silent" });
  const table = new RoutingTable({ logger }, o.shards === undefined ? {} : { shards: o.shards });
  emit("sim.seed", o.seed, "seed");
  emit("sim.nodes", o.nodes, "nodes");
  emit("sim.shards", table.shards, "shards");

  o.progress(`building ${o.nodes} nodes`);
  const nodes = simulatedNodes(o.nodes, o.seed);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  for (const n of nodes) table.upsert(n);
  emit("sim.join_all_s", round3((performance.now() - t0) / 1000), "s");
  emit("sim.join_all_cpu_s", round3(cpuMs(c0) / 1000), "s");
  t0 = performance.now();
  c0 = process.cpuUsage();
  table.shardMembers(0);
  emit("sim.reshard_all_ms", round3(performance.now() - t0), "ms");
  emit("sim.reshard_all_cpu_ms", round3(cpuMs(c0)), "ms");

  o.progress("feed refresh (every node upserted again)");
  t0 = performance.now();
  c0 = process.cpuUsage();
  for (const n of nodes) table.upsert(n);
  table.shardMembers(0);
  emit("sim.feed_refresh_ms", round3(performance.now() - t0), "ms");
  emit("sim.feed_refresh_cpu_ms", round3(cpuMs(c0)), "ms");

  o.progress(`timing ${o.selections} selections`);
  const route = (j: number) => ({ taskId: `task-${o.seed}-${j}`, capabilities: ["executor"] as Capability[] });
  for (let j = 0; j < 200; j++) table.select(route(-j - 1));
  const times: number[] = [];
  const cpu: number[] = [];
  let sink = 0;
  for (let j = 0; j < o.selections; j++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const s = table.select(route(j));
    times.push(performance.now() - t);
    cpu.push(cpuMs(c));
    sink += s === undefined ? 0 : 1 + s.backups.length;
  }
  if (sink === 0) throw new Error("no selection found an executor");
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  emit("sim.select_ms.p50", round3(percentile(times, 0.5)), "ms");
  emit("sim.select_ms.p90", round3(percentile(times, 0.9)), "ms");
  // Wall time includes whatever else the machine runs (preemption); CPU time is the selection's own work.
  emit("sim.select_cpu_ms.p50", round3(percentile(cpu, 0.5)), "ms");
  emit("sim.select_cpu_ms.p90", round3(percentile(cpu, 0.9)), "ms");

  const sizes = Array.from({ length: table.shards }, (_, s) => table.shardMembers(s).length);
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  emit("sim.shard_size.mean", round3(mean), "nodes");
  emit("sim.shard_balance.max_over_mean", round3(Math.max(...sizes) / mean), "ratio");

  o.progress("one leave, then one selection");
  const r = mulberry32(o.seed ^ 0x5eed);
  const lone = nodes[Math.floor(r() * nodes.length)]!;
  t0 = performance.now();
  c0 = process.cpuUsage();
  table.remove(lone.peerId);
  table.select(route(o.selections));
  emit("sim.select_after_leave_ms", round3(performance.now() - t0), "ms");
  emit("sim.select_after_leave_cpu_ms", round3(cpuMs(c0)), "ms");
  table.upsert(lone);
  table.select(route(o.selections + 1));

  await churnTasks(o, table, nodes, r, emit);
  return out;
}

async function churnTasks(
  o: ScaleSimOptions,
  table: RoutingTable,
  nodes: readonly NodeView[],
  r: () => number,
  emit: (metric: string, value: number, unit: string) => void,
): Promise<void> {
  // The store's fsyncs are not what is measured: on tmpfs when the machine has one.
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "lumora-sim-"));
  const store = openStore(join(dir, "sim.db"));
  const logger = createLogger("sim", { level: "silent" });
  const executor = new Map<string, string>();
  const manager = new TaskManager(
    {
      logger,
      store,
      selector: table,
      // Executions are held open until aborted: the figure is placement, not execution.
      executeOn: (task, peerId, { signal }) => {
        executor.set(task.id, peerId);
        return new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true }),
        );
      },
    },
    { attemptTimeoutMs: 24 * 3_600_000 },
  );
  /** Resolves once `want` tasks are in flight, none queued and none on a node of `gone`. */
  const placed = (want: number, gone: ReadonlySet<string> = new Set()) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const s = manager.stats();
        if (s.inflight >= want && s.queued === 0 && ![...executor.values()].some((p) => gone.has(p))) {
          manager.off("tick", check);
          resolve();
        } else if (!manager.isRunning) reject(new Error("task manager stopped"));
      };
      manager.on("tick", check);
      check();
    });
  try {
    await manager.start();
    o.progress(`placing ${o.tasks} tasks`);
    const deadline = Date.now() + 24 * 3_600_000;
    const acks: Promise<void>[] = [];
    let t0 = performance.now();
    for (let i = 0; i < o.tasks; i++) {
      acks.push(
        manager.submit({
          id: `sim-task-${i}`,
          priority: 0,
          size: 1 << 20,
          source: "consumer",
          deadline,
          requirements: { capabilities: ["executor"], minBandwidth: 0 },
        }),
      );
    }
    await Promise.all(acks);
    await placed(o.tasks);
    emit("sim.tasks", o.tasks, "tasks");
    emit("sim.place_tasks_s", round3((performance.now() - t0) / 1000), "s");
    const before = new Map(executor);
    const shardBefore = new Map<string, number>();
    for (let s = 0; s < table.shards; s++) for (const n of table.shardMembers(s)) shardBefore.set(n.peerId, s);

    const leaving = Math.round(nodes.length * o.leaveFraction);
    o.progress(`${leaving} nodes leave at once`);
    const gone = new Set<string>();
    while (gone.size < leaving) gone.add(nodes[Math.floor(r() * nodes.length)]!.peerId);
    t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const peerId of gone) {
      table.remove(peerId);
      manager.peerDisconnected(peerId);
    }
    await placed(o.tasks, gone);
    emit("churn.leave_fraction", o.leaveFraction, "fraction");
    emit("churn.reassign_s", round3((performance.now() - t0) / 1000), "s");
    emit("churn.reassign_cpu_s", round3(cpuMs(c0) / 1000), "s");
    let moved = 0;
    let onLeavers = 0;
    for (const [id, peer] of before) {
      if (executor.get(id) !== peer) moved++;
      if (gone.has(peer)) onLeavers++;
    }
    emit("churn.tasks_moved_frac", round3(moved / before.size), "fraction");
    emit("churn.tasks_on_leavers_frac", round3(onLeavers / before.size), "fraction");
    let shardMoved = 0;
    let survivors = 0;
    for (let s = 0; s < table.shards; s++) {
      for (const n of table.shardMembers(s)) {
        survivors++;
        if (shardBefore.get(n.peerId) !== s) shardMoved++;
      }
    }
    emit("churn.nodes_shard_moved_frac", Math.round((shardMoved / survivors) * 1e6) / 1e6, "fraction");
  } finally {
    await manager.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
