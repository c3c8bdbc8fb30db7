/**
 * One keeper of `npm run bench:scale`, run inside its network namespace (`ip netns exec … node … <json>`).
 * Prints `READY {peerId, addresses}` once started, then answers one JSON command per stdin line
 * (`{id, cmd, …}` → `RES {id, ok, result | error}`):
 *   status                                  → {records, routing} peer ids this keeper knows / may route to
 *   publish {path}                          → {objectId, size}
 *   transfer {objectId, size, providers, taskId} → the task's outcome
 *   closest {key}                           → milliseconds of one DHT closest-peers walk for `key`
 * SIGTERM stops the keeper cleanly.
 */
import { createInterface } from "node:readline";

import { startKeeper } from "../../../keeper/keeper.ts";
import { createLogger } from "../../../keeper/logger.ts";

export interface ScaleKeeperConfig {
  name: string;
  dataDir: string;
  listen: string;
  bootstrap: string[];
  rewardAddress: string;
  /** Advertised B_i (bytes/s): the rate the bench's tbf gives this namespace. */
  bandwidthBps: number;
  /** The delay the bench injects for this keeper (ms): every execution here waits this long first. */
  executionDelayMs: number;
}

const config = JSON.parse(process.argv[2]!) as ScaleKeeperConfig;
const logger = createLogger(config.name, { level: "warn", format: "json" });

const keeper = await startKeeper({
  dataDir: config.dataDir,
  listen: [config.listen],
  bootstrap: config.bootstrap,
  capabilities: ["coordinator", "consumer", "provider", "executor"],
  bandwidthBps: config.bandwidthBps,
  capacity: 4,
  rewardAddress: config.rewardAddress,
  executionDelayMs: config.executionDelayMs,
  allowPrivateAddresses: true,
  logger,
});

type Command =
  | { id: number; cmd: "status" }
  | { id: number; cmd: "publish"; path: string }
  | { id: number; cmd: "transfer"; objectId: string; size: number; providers: string[]; taskId: string }
  | { id: number; cmd: "closest"; key: string };

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case "status": {
      const self = keeper.peerId.toString();
      const records = keeper.components.discovery
        .peers()
        .map((r) => r.peerId)
        .filter((p) => p !== self);
      const routing: string[] = [];
      const table = keeper.components.routing;
      for (let s = 0; s < table.shards; s++) for (const n of table.shardMembers(s)) routing.push(n.peerId);
      return { records, routing };
    }
    case "publish": {
      const p = await keeper.publish(c.path);
      return { objectId: p.objectId, size: p.size };
    }
    case "transfer":
      return keeper.requestTransfer({
        objectId: c.objectId,
        size: c.size,
        providers: c.providers,
        id: c.taskId,
        deadlineMs: 60_000,
      });
    case "closest": {
      const started = performance.now();
      for await (const _ of keeper.components.node.services.dht.getClosestPeers(new TextEncoder().encode(c.key))) {
        // Walk to the end: the figure is the whole lookup.
      }
      return performance.now() - started;
    }
  }
}

const reply = (msg: object) => process.stdout.write(`RES ${JSON.stringify(msg)}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  const c = JSON.parse(line) as Command;
  run(c).then(
    (result) => reply({ id: c.id, ok: true, result: result ?? null }),
    (err: unknown) => reply({ id: c.id, ok: false, error: (err as Error).message }),
  );
});
process.once("SIGTERM", () => {
  void keeper.stop().finally(() => process.exit(0));
});
process.stdout.write(`READY ${JSON.stringify({ peerId: keeper.peerId.toString(), addresses: keeper.addresses })}\n`);
