/**
 * One keeper of the chaos run, in its own process so the run can SIGKILL it. Started with one JSON argument
 * (`ChildConfig`); prints `READY {peerId, addresses}` on stdout once started, then answers commands read from
 * stdin, one JSON object per line (`{id, cmd, …}` → `RES {id, ok, result | error}`):
 *   publish {path}                       → {objectId, size}
 *   transfer {objectId, size, providers, taskId} → the task's outcome (when it finished)
 *   task {taskId}                        → {status, executor} of a task this keeper coordinates (null if unknown)
 *   status                               → {open, closer: EpochCloser.status()}
 * SIGTERM stops the keeper cleanly (the run's end); SIGKILL is the chaos.
 */
import { createInterface } from "node:readline";

import type { DeploymentRecord } from "../../keeper/chain/index.ts";
import { startKeeper } from "../../keeper/keeper.ts";
import { createLogger } from "../../keeper/logger.ts";

export interface ChildConfig {
  name: string;
  dataDir: string;
  listen: string;
  bootstrap: string[];
  rewardAddress: string;
  chainKey: string;
  rpcUrl: string;
  deployment: DeploymentRecord;
  /** Chain addresses of all keepers: submission rotates among them. */
  keepers: string[];
  cron: string;
  takeoverDeadlineMs: number;
  rewardPerEpoch: string;
}

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const logger = createLogger(config.name, { level: "info", format: "json" });

const keeper = await startKeeper({
  dataDir: config.dataDir,
  listen: [config.listen],
  bootstrap: config.bootstrap,
  capabilities: ["coordinator", "consumer", "provider", "executor"],
  bandwidthBps: 100_000_000,
  capacity: 4,
  rewardAddress: config.rewardAddress,
  attemptTimeoutMs: 20_000,
  dhtQuerySelfIntervalMs: 1_000,
  routingRefreshMs: 1_000,
  allowPrivateAddresses: true,
  logger,
  epochs: {
    cron: config.cron,
    rewardPerEpoch: BigInt(config.rewardPerEpoch),
    keepers: config.keepers,
    takeoverDeadlineMs: config.takeoverDeadlineMs,
    chain: {
      rpcUrl: config.rpcUrl,
      deployment: config.deployment,
      privateKey: config.chainKey,
    },
  },
});

type Command =
  | { id: number; cmd: "publish"; path: string }
  | { id: number; cmd: "transfer"; objectId: string; size: number; providers: string[]; taskId: string }
  | { id: number; cmd: "task"; taskId: string }
  | { id: number; cmd: "status" };

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
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
    case "task": {
      const row = keeper.tasks.taskStore.task(c.taskId);
      return row === undefined ? null : { status: row.status, executor: row.executor };
    }
    case "status":
      return { open: keeper.epoch, closer: keeper.closer.status() };
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
