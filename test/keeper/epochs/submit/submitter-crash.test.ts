import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import {
  Reputation__factory,
  RewardPool__factory,
  TaskLog__factory,
  LumoraToken__factory,
} from "../../../../types/ethers-contracts/index.ts";
import {
  deployLumora,
  devWallet,
  makeBuiltEpoch,
  rpcProvider,
  startHardhatNode,
  type HardhatNode,
} from "../../chain/helpers.ts";
import { shapeOf } from "../../chain/fixtures/shapes.ts";

const CHILD = fileURLToPath(new URL("../../chain/fixtures/submit-child.ts", import.meta.url));
const KEEPER = devWallet(3);

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  steps: { step: string; n: number }[];
  stderr: string;
}

async function runChild(env: Record<string, string>): Promise<ChildRun> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, ...env, LUMORA_CHAIN_KEY: KEEPER.privateKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  const steps = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { step: string; n: number });
  return { code, signal, steps, stderr };
}

describe("epoch submission survives a crash at every step", () => {
  let node: HardhatNode;
  let dir: string;

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-crash-"));
  });
  after(async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("kills the keeper at step k of epoch k, restarts it, and every contract gets each epoch exactly once", async () => {
    const { record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    const base = { RPC_URL: node.url, DEPLOYMENT: JSON.stringify(record), STORE: path.join(dir, "keeper.db") };
    const killedAt: string[] = [];
    let last = 0;
    // Epoch k is killed at its k-th step boundary; the next run first finishes epoch k (restart) and then
    // submits epoch k+1 until its own kill. The loop ends at the first epoch with fewer than k steps.
    for (let k = 1; k <= 40; k++) {
      const run = await runChild({
        ...base,
        FROM: String(Math.max(1, k - 1)),
        TO: String(k),
        KILL_EPOCH: String(k),
        KILL_AT: String(k),
      });
      last = k;
      if (run.signal === "SIGKILL") {
        killedAt.push(run.steps.at(-1)!.step);
        continue;
      }
      assert.equal(run.code, 0, `child for epoch ${k} failed: ${run.stderr.slice(-2000)}`);
      break;
    }
    // Every kind of step boundary was a kill point, including "sent, receipt not stored".
    for (const step of [
      "tasklog:signed",
      "tasklog:sent",
      "tasklog:done",
      "reputation:0:sent",
      "reputation:2:done",
      "rewardpool:signed",
      "rewardpool:sent",
      "rewardpool:done",
      "epoch:done",
    ]) {
      assert.ok(killedAt.includes(step), `killed at ${step} (killed at: ${killedAt.join(", ")})`);
    }

    const provider = rpcProvider(node.url);
    try {
      const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, provider);
      const reputation = Reputation__factory.connect(record.contracts.Reputation, provider);
      const pool = RewardPool__factory.connect(record.contracts.RewardPool, provider);
      assert.equal(Number(await taskLog.lastEpoch()), last);
      assert.equal(Number(await pool.lastEpoch()), last);
      const taskEvents = await taskLog.queryFilter(taskLog.filters.EpochCommitted());
      const poolEvents = await pool.queryFilter(pool.filters.EpochCommitted());
      const repEvents = await reputation.queryFilter(reputation.filters.NodeReported());
      for (let e = 1; e <= last; e++) {
        const built = makeBuiltEpoch(e, shapeOf(e));
        assert.equal(taskEvents.filter((ev) => Number(ev.args.epoch) === e).length, 1, `TaskLog commits of epoch ${e}`);
        assert.equal(
          poolEvents.filter((ev) => Number(ev.args.epoch) === e).length,
          1,
          `RewardPool commits of epoch ${e}`,
        );
        for (const rep of built.bundle.reputation) {
          const n = repEvents.filter((ev) => Number(ev.args.epoch) === e && ev.args.node === rep.node).length;
          assert.equal(n, 1, `reports of ${rep.node} in epoch ${e}`);
        }
        if (built.taskTree !== undefined)
          assert.equal(await taskLog.rootOf(e), built.taskTree.root, `TaskLog root of epoch ${e}`);
      }

      // Claims pay the right amounts: account 0 claims every non-empty epoch in one claimMany.
      await provider.send("evm_increaseTime", [3601]);
      await provider.send("evm_mine", []);
      const claims = [];
      let expected = 0n;
      for (let e = 1; e <= last; e++) {
        const built = makeBuiltEpoch(e, shapeOf(e));
        if (built.rewardTree === undefined) continue;
        const c = built.bundle.contributions[0]!;
        const { root, terms } = await pool.claimHeaderOf(e);
        claims.push({
          epoch: e,
          header: { root, terms },
          index: c.index,
          contribution: c.contribution,
          proof: built.rewardTree.getProof(0),
        });
        expected += (built.bundle.rewardTotal * c.contribution) / built.totalContribution;
      }
      const claimer = RewardPool__factory.connect(record.contracts.RewardPool, devWallet(4).connect(provider));
      const c0 = makeBuiltEpoch(1, shapeOf(1)).bundle.contributions[0]!;
      await (await claimer.claimMany(c0.account, claims)).wait();
      const token = LumoraToken__factory.connect(record.contracts.LumoraToken, provider);
      assert.equal(await token.balanceOf(c0.account), expected);
    } finally {
      provider.destroy();
    }
  });
});
