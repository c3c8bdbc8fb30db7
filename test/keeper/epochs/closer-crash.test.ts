/**
 * A keeper killed at any point of an epoch's hand-over finishes that epoch at its next start, exactly once, and
 * goes on closing: SIGKILL at every closer and submitter step boundary (closed but not published, published but
 * not sent, TaskLog sent or confirmed but RewardPool not, …), with the chain automining and interval mining.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import type { JsonRpcProvider } from "ethers";

import { RewardPool__factory, TaskLog__factory } from "../../../types/ethers-contracts/index.ts";
import { deployLumora, devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../chain/helpers.ts";

const CHILD = fileURLToPath(new URL("./fixtures/closer-child.ts", import.meta.url));
const KEEPER = devWallet(3);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  status?: { pending: number[]; lastSettled: number; stall?: unknown };
  stderr: string;
}

async function runChild(env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, ...env, LUMORA_CHAIN_KEY: KEEPER.privateKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  const line = out.split("\n").find((l) => l.startsWith("{"));
  return { code, signal, stderr, ...(line !== undefined && { status: JSON.parse(line) as Run["status"] }) };
}

/** `mining` switches the chain's mining mode once the contracts are deployed (deploying block by block is slow). */
async function killAndResume(
  node: HardhatNode,
  dir: string,
  killPoints: string[],
  mining?: (provider: JsonRpcProvider) => Promise<void>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
  if (mining !== undefined) {
    const provider = rpcProvider(node.url);
    try {
      await mining(provider);
    } finally {
      provider.destroy();
    }
  }
  const env = {
    RPC_URL: node.url,
    DEPLOYMENT: JSON.stringify(record),
    STORE: path.join(dir, "keeper.db"),
    PUBLISH_DIR: path.join(dir, "epochs"),
  };
  // Epoch k is killed at killPoints[k-1]; each start first settles what the previous run left, then closes anew.
  for (const [i, killAt] of killPoints.entries()) {
    const killed = await runChild({ ...env, MODE: "close", KILL_AT: killAt });
    assert.equal(killed.signal, "SIGKILL", `epoch ${i + 1} was killed at ${killAt}: ${killed.stderr.slice(-1500)}`);
  }
  const resumed = await runChild({ ...env, MODE: "resume" });
  assert.equal(resumed.code, 0, `restart after the last kill: ${resumed.stderr.slice(-1500)}`);
  assert.equal(resumed.status?.lastSettled, killPoints.length, "the restart settled the last killed epoch");
  // And the keeper goes on: a normal close after all those crashes.
  const last = killPoints.length + 1;
  const normal = await runChild({ ...env, MODE: "close", KILL_AT: "" });
  assert.equal(normal.code, 0, `close after the crashes: ${normal.stderr.slice(-1500)}`);
  assert.equal(normal.status?.lastSettled, last);

  const provider = rpcProvider(node.url);
  try {
    const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, provider);
    const pool = RewardPool__factory.connect(record.contracts.RewardPool, provider);
    assert.equal(Number(await taskLog.lastEpoch()), last, "TaskLog holds every epoch");
    assert.equal(Number(await pool.lastEpoch()), last, "RewardPool holds every epoch");
    const taskEvents = await taskLog.queryFilter(taskLog.filters.EpochCommitted());
    const poolEvents = await pool.queryFilter(pool.filters.EpochCommitted());
    for (let e = 1; e <= last; e++) {
      const what = `epoch ${e} (killed at ${killPoints[e - 1] ?? "nothing"})`;
      assert.equal(taskEvents.filter((ev) => Number(ev.args.epoch) === e).length, 1, `one TaskLog commit of ${what}`);
      assert.equal(
        poolEvents.filter((ev) => Number(ev.args.epoch) === e).length,
        1,
        `one RewardPool commit of ${what}`,
      );
      const summary = JSON.parse(await readFile(path.join(env.PUBLISH_DIR, String(e), "epoch.json"), "utf8")) as {
        rewards: { root: string } | null;
      };
      assert.ok(summary.rewards !== null, `${what} published its rewards`);
      assert.equal((await pool.epochOf(e))[0].root, summary.rewards.root, `RewardPool root of ${what} = published`);
    }
  } finally {
    provider.destroy();
  }
}

describe("epoch closer survives a crash at every step", { timeout: 600_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lumora-closer-crash-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("automine: killed at each step of epoch k, the restart settles it and the next close works", async () => {
    const node = await startHardhatNode();
    try {
      await killAndResume(node, path.join(dir, "automine"), [
        "trees:built",
        "published",
        "tasklog:signed",
        "tasklog:sent",
        "tasklog:done",
        "reputation:0:sent",
        "reputation:1:done",
        "rewardpool:signed",
        "rewardpool:sent",
        "rewardpool:done",
      ]);
    } finally {
      await node.stop();
    }
  });

  it("interval mining: a kill after TaskLog's transaction and before RewardPool's is finished at restart", async () => {
    const node = await startHardhatNode();
    try {
      await killAndResume(node, path.join(dir, "interval"), ["tasklog:done", "rewardpool:sent"], async (provider) => {
        await provider.send("evm_setAutomine", [false]);
        await provider.send("evm_setIntervalMining", [100]);
      });
    } finally {
      await node.stop();
    }
  });
});
