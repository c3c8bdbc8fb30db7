/**
 * P2P benchmarks: connection set-up between two processes, DHT closest-peer lookups in 20- and 50-node
 * loopback networks, and signed-record put/get success. Runnable directly: one JSON line per metric.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";

import { discovery, discoveryRecordHandlers, type Discovery } from "../../../keeper/discovery/index.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { bootstrap, createLumoraNode, routingTableSize, type LumoraNode } from "../../../keeper/p2p/index.ts";

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

const CONNECT_ROUNDS = 40;
const LOOKUPS = 20;
/** Quiet time before measuring, per node in the network (self-queries of n nodes settle in ~n·100 ms here). */
const SETTLE_MS_PER_NODE = 100;
const silent = createLogger("bench", { level: "silent" });

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function benchConnect(): Promise<Metric[]> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./p2p-peer.ts", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    const remote = multiaddr((JSON.parse(line) as { addr: string }).addr);
    const node = await createLumoraNode();
    const samples: number[] = [];
    try {
      for (let i = 0; i < CONNECT_ROUNDS + 3; i++) {
        const t = performance.now();
        await node.dial(remote); // TCP + noise + yamux
        await node.services.ping.ping(remote); // first stream round trip
        const ms = performance.now() - t;
        if (i >= 3) samples.push(ms); // first rounds warm the JIT
        await node.hangUp(remote);
      }
    } finally {
      await node.stop();
    }
    return [
      { metric: "p2p.connect_ms.p50", value: percentile(samples, 50), unit: "ms" },
      { metric: "p2p.connect_ms.p90", value: percentile(samples, 90), unit: "ms" },
    ];
  } finally {
    child.stdin!.end();
    await once(child, "exit").catch(() => {});
  }
}

interface Net {
  nodes: LumoraNode[];
  stop(): Promise<void>;
  keys: Awaited<ReturnType<typeof generateKeyPair>>[];
}

async function network(n: number): Promise<Net> {
  const keys = await Promise.all(Array.from({ length: n }, () => generateKeyPair("Ed25519")));
  const nodes = await Promise.all(
    keys.map((privateKey) =>
      createLumoraNode({
        privateKey,
        inboundConnectionsPerHostPerSecond: 10_000,
        dhtInitialQuerySelfIntervalMs: 500,
        ...discoveryRecordHandlers(),
      }),
    ),
  );
  const seed = nodes[0].getMultiaddrs()[0].toString();
  const boots = nodes
    .slice(1)
    .map((node) => bootstrap({ peers: [seed], intervalMs: 1000, minRoutingTableSize: 20 })({ node, logger: silent }));
  await Promise.all(boots.map((b) => b.start()));
  const target = Math.min(20, n - 1);
  const deadline = Date.now() + 60_000;
  while (nodes.some((x) => routingTableSize(x) < target) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  // Measure the steady state, not the start-up churn: bootstrap's job is done once the tables are full, and
  // kad-dht's initial self-queries (every 500 ms here) settle within a few seconds.
  await Promise.all(boots.map((b) => b.stop()));
  await new Promise((r) => setTimeout(r, SETTLE_MS_PER_NODE * n));
  return {
    nodes,
    keys,
    stop: async () => {
      await Promise.all(boots.map((b) => b.stop()));
      await Promise.all(nodes.map((x) => x.stop()));
    },
  };
}

async function closestP90(net: Net): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const node = net.nodes[(i * 7) % net.nodes.length];
    const t = performance.now();
    for await (const _ of node.services.dht.getClosestPeers(randomBytes(32), { signal: AbortSignal.timeout(10_000) })) {
      // drain
    }
    samples.push(performance.now() - t);
  }
  return percentile(samples, 90);
}

async function putGetSuccess(net: Net): Promise<number> {
  const publishers = net.nodes.slice(0, 5);
  const discos: Discovery[] = publishers.map((node, i) =>
    discovery({
      capabilities: ["provider"],
      bandwidthBps: 1e6,
      capacity: 4,
      shard: 0,
      rewardAddress: "0x" + "11".repeat(20),
    })({
      node,
      privateKey: net.keys[i],
      logger: silent,
    }),
  );
  await Promise.all(discos.map((d) => d.publish()));
  const reader = discovery({
    capabilities: ["consumer"],
    bandwidthBps: 0,
    capacity: 0,
    shard: 0,
    rewardAddress: "0x" + "22".repeat(20),
  })({
    node: net.nodes[net.nodes.length - 1],
    privateKey: net.keys[net.nodes.length - 1],
    logger: silent,
  });
  let ok = 0;
  for (const p of publishers) {
    try {
      const r = await reader.fetchRecord(p.peerId);
      if (r.peerId === p.peerId.toString()) ok++;
    } catch {
      // counted as a failure
    }
  }
  await Promise.all([...discos, reader].map((d) => d.stop()));
  return ok / publishers.length;
}

export async function benchP2p(): Promise<Metric[]> {
  const out = await benchConnect();
  const net20 = await network(20);
  try {
    out.push({ metric: "dht.closest_ms.p90.20", value: await closestP90(net20), unit: "ms" });
    out.push({ metric: "dht.putget.success", value: await putGetSuccess(net20), unit: "ratio" });
  } finally {
    await net20.stop();
  }
  const net50 = await network(50);
  try {
    out.push({ metric: "dht.closest_ms.p90.50", value: await closestP90(net50), unit: "ms" });
  } finally {
    await net50.stop();
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const m of await benchP2p()) process.stdout.write(JSON.stringify(m) + "\n");
}
