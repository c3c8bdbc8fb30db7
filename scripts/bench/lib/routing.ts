/**
 * Routing and task-manager benchmarks.
 *
 * - routing.select_ms.10k / .100k: median time of one `selectNodes` call (primary + 2 backups, full network
 *   scan incl. computing B_max) over 200 selections on random node sets of that size.
 * - tasks.assign_per_s: assignments per second by a TaskManager draining 100,000 durably queued tasks: routing
 *   through a 16-shard RoutingTable of 1,000 executors, each assignment's task update and attempt row committed
 *   to an on-disk store (one transaction per tick), execution launched; executions are held open so the figure
 *   is assignment alone.
 *
 * Run directly: `npx tsx scripts/bench/lib/routing.ts` prints one JSON object per line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { createLogger } from "../../../keeper/logger.ts";
import { selectNodes } from "../../../keeper/routing/select.ts";
import { RoutingTable } from "../../../keeper/routing/table.ts";
import { openStore } from "../../../keeper/store/index.ts";
import { TaskManager } from "../../../keeper/tasks/manager.ts";
import type { Capability, NodeView } from "../../../keeper/types.ts";
import { mulberry32 as rng } from "./prng.ts";

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

const SELECTIONS = 200;
const NODE_SETS = 10;
const ASSIGN_TASKS = 100_000;
const ASSIGN_NODES = 1_000;

const CAPS: Capability[][] = [["executor"], ["executor", "provider"], ["provider"], ["executor", "coordinator"]];

function randomNodes(n: number, seed: number, shards = 16): NodeView[] {
  const r = rng(seed);
  const nodes: NodeView[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const capacity = 1 + Math.floor(r() * 32);
    nodes[i] = {
      peerId: `12D3KooW${seed}x${i}`,
      bandwidth: Math.floor(r() * 1e9),
      capacity,
      load: Math.floor(r() * (capacity + 1)),
      proximity: r() < 0.05 ? undefined : 1 + Math.floor(r() * 6),
      latencyMs: r() < 0.05 ? undefined : r() * 300,
      shard: Math.floor(r() * shards),
      flagged: r() < 0.02,
      capabilities: CAPS[Math.floor(r() * CAPS.length)]!,
    };
  }
  return nodes;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function benchSelect(n: number): number {
  const sets = Array.from({ length: NODE_SETS }, (_, i) => randomNodes(n, 1000 + i));
  // Warm-up so the figure is the JIT-compiled steady state a running keeper sees.
  for (let i = 0; i < 50; i++) selectNodes(sets[i % NODE_SETS]!, { shard: i % 16, capabilities: ["executor"] });
  const times: number[] = [];
  let sink = 0;
  for (let i = 0; i < SELECTIONS; i++) {
    const nodes = sets[i % NODE_SETS]!;
    const t0 = performance.now();
    const s = selectNodes(nodes, { shard: i % 16, capabilities: ["executor"] }, { backups: 2 });
    times.push(performance.now() - t0);
    sink += s?.backups.length ?? 0;
  }
  if (sink === 0) throw new Error("selection found nothing");
  return median(times);
}

export async function benchAssign(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "lumora-bench-tasks-"));
  const store = openStore(join(dir, "bench.db"));
  const logger = createLogger("bench", { level: "silent" });
  try {
    const selector = new RoutingTable({ logger }, { shards: 16, backups: 2 });
    const manager = new TaskManager(
      {
        logger,
        store,
        selector,
        executeOn: (_t, _p, { signal }) =>
          new Promise((_resolve, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
          ),
      },
      { attemptTimeoutMs: 3_600_000 },
    );
    await manager.start();
    // Queue every task while the network is empty (they wait durably), then let the executors join and time
    // the assignment of the whole queue.
    const deadline = Date.now() + 3_600_000;
    const acks: Promise<void>[] = [];
    for (let i = 0; i < ASSIGN_TASKS; i++) {
      acks.push(
        manager.submit({
          id: `bench-${i}`,
          priority: i % 4,
          size: 1 << 20,
          source: "consumer",
          deadline,
          requirements: { capabilities: ["executor"], minBandwidth: 0 },
        }),
      );
    }
    await Promise.all(acks);
    for (const n of randomNodes(ASSIGN_NODES, 7)) {
      selector.upsert({ ...n, flagged: false, load: 0, capacity: 1_000, capabilities: ["executor"] });
    }
    const t0 = performance.now();
    const assigned = new Promise<void>((resolve) => {
      const check = () => {
        if (manager.stats().assignedTotal >= ASSIGN_TASKS) {
          manager.off("tick", check);
          resolve();
        }
      };
      manager.on("tick", check);
    });
    manager.wake();
    await assigned;
    const seconds = (performance.now() - t0) / 1000;
    await manager.stop();
    return ASSIGN_TASKS / seconds;
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRouting(): Promise<Metric[]> {
  return [
    { metric: "routing.select_ms.10k", value: round(benchSelect(10_000)), unit: "ms" },
    { metric: "routing.select_ms.100k", value: round(benchSelect(100_000)), unit: "ms" },
    { metric: "tasks.assign_per_s", value: Math.round(await benchAssign()), unit: "assignments/s" },
  ];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchRouting()) process.stdout.write(JSON.stringify(m) + "\n");
}
