/**
 * One keeper of `npm run bench:scale`, run inside its network namespace (`ip netns exec … node … <json>`).
 * Plain JavaScript so that it runs the keeper as operators do, compiled (dist/, `npm run build`), with no
 * TypeScript loader; the bench passes the modules to load (`keeperModule`, `loggerModule`: dist/ or, with
 * `--runtime tsx`, the sources under the tsx loader). Config: ScaleKeeperConfig (scale-process.ts).
 *
 * Prints `READY {peerId, addresses}` once started, then answers one JSON command per stdin line
 * (`{id, cmd, …}` → `RES {id, ok, result | error}`):
 *   status                                       → {records, routing, health}: peer ids it knows / may route
 *                                                  to, and its failure-detection counters since start
 *   publish {path}                               → {objectId, size}
 *   transfer {objectId, size, providers, taskId} → the task's outcome
 *   closest {key}                                → milliseconds of one DHT closest-peers walk for `key`
 *   memory                                       → process.memoryUsage() (MiB): where the RSS goes
 *   streams                                      → streams this keeper opened since start, by protocol
 * SIGTERM stops the keeper cleanly.
 */
import { createInterface } from "node:readline";

const config = JSON.parse(process.argv[2]);
const { startKeeper } = await import(config.keeperModule);
const { createLogger } = await import(config.loggerModule);

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
  logger: createLogger(config.name, { level: "warn", format: "json" }),
});

// Streams this keeper opens, by protocol: every service's and libp2p's own (kad-dht, identify, ping) go through
// the connection's `newStream` (an instance field in libp2p, so each connection's is wrapped when it opens).
const opened = {};
const counted = new WeakSet();
function countStreams(connection) {
  if (counted.has(connection)) return;
  counted.add(connection);
  const newStream = connection.newStream;
  connection.newStream = (protocols, options) => {
    const p = Array.isArray(protocols) ? protocols[0] : protocols;
    opened[p] = (opened[p] ?? 0) + 1;
    return newStream(protocols, options);
  };
}
const node = keeper.components.node;
for (const c of node.getConnections()) countStreams(c);
node.addEventListener("connection:open", (e) => countStreams(e.detail));

async function run(c) {
  switch (c.cmd) {
    case "status": {
      const self = keeper.peerId.toString();
      const records = keeper.components.discovery
        .peers()
        .map((r) => r.peerId)
        .filter((p) => p !== self);
      const routing = [];
      const table = keeper.components.routing;
      for (let s = 0; s < table.shards; s++) for (const n of table.shardMembers(s)) routing.push(n.peerId);
      return { records, routing, health: keeper.components.health.metrics };
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
      // Walk to the end: the figure is the whole lookup.
      for await (const _ of keeper.components.node.services.dht.getClosestPeers(new TextEncoder().encode(c.key)));
      return performance.now() - started;
    }
    case "streams":
      return opened;
    case "memory":
      return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, v / 2 ** 20]));
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

const reply = (msg) => process.stdout.write(`RES ${JSON.stringify(msg)}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  const c = JSON.parse(line);
  run(c).then(
    (result) => reply({ id: c.id, ok: true, result: result ?? null }),
    (err) => reply({ id: c.id, ok: false, error: err.message }),
  );
});
process.once("SIGTERM", () => {
  void keeper.stop().finally(() => process.exit(0));
});
process.stdout.write(`READY ${JSON.stringify({ peerId: keeper.peerId.toString(), addresses: keeper.addresses })}\n`);
