/**
 * `npm run demo` end to end, as a user runs it: it must exit 0 and tell the whole story — a task reassigned
 * away from the killed executor, the epoch closed and committed (with Reputation reports merged from several
 * keepers' observations), rewards claimed and (up to rounding dust) paid in full, consumers' vouchers paid for the
 * bytes and settled on chain.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const TIMEOUT_MS = 360_000;

/** "10000.0000" → 100000000n: the demo prints LUM with 4 decimals. */
function tenThousandths(lum: string): bigint {
  const m = /^(\d+)\.(\d{4})$/.exec(lum);
  assert.ok(m, `amount ${lum} has 4 decimals`);
  return BigInt(m[1]!) * 10_000n + BigInt(m[2]!);
}

describe("npm run demo", { timeout: TIMEOUT_MS + 10_000 }, () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(-c.pid, "SIGKILL");
    }
  });

  it("reassigns the killed executor's task, closes and commits epoch 1, and pays the rewards out", async () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.LUMORA_LOG_LEVEL;
    // Its own process group, so that a timeout kills npm, the shell and Hardhat together.
    const child = spawn("npm", ["run", "demo"], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    let output = "";
    child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const started = Date.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`demo still running after ${TIMEOUT_MS} ms:\n${output}`)),
        TIMEOUT_MS,
      );
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const seconds = (Date.now() - started) / 1000;

    assert.equal(code, 0, `demo exit code (after ${seconds} s):\n${output}`);
    assert.match(
      output,
      /task demo-task-1: succeeded by executor-[23] after \d+ attempt\(s\) \(executor-1: failed → executor-[23]: succeeded\)/,
      "the task of the killed executor is reassigned and succeeds",
    );
    assert.match(output, /epoch 1 closed: \d+ task record\(s\), [1-9]\d* contributor\(s\)/);
    assert.match(output, /committed on chain: TaskLog sent, Reputation \d+ report\(s\), RewardPool sent/);
    // Merged from the quorum keepers' signed observations (f + 1 = 2 observers of a peer): at least one on chain.
    const reports = /Reputation holds (\d+) report\(s\) of epoch 1, merged from the quorum keepers/.exec(output);
    assert.ok(reports, "the demo reads the committed reports from Reputation");
    assert.ok(Number(reports[1]) > 0, `${reports[1]} report(s) committed`);
    // Through the 2-of-3 keeper quorum: two distinct keepers' signatures, the third keeper verified.
    const quorum = /submitted epoch 1 through EpochQuorum with the signatures of (0x\w+…\w+) and (0x\w+…\w+)/.exec(
      output,
    );
    assert.ok(quorum, "the epoch was committed through EpochQuorum");
    assert.notEqual(quorum[1], quorum[2], "two distinct signers");
    assert.match(output, /epoch 1 status: Claimable/);
    const claimed = /(\d+) participant\(s\) claimed/.exec(output);
    assert.ok(claimed, "claims line present");
    assert.ok(Number(claimed[1]) >= 1, `${claimed[1]} participant(s) claimed`);

    const rewards = /Rewards: (\d+\.\d+) LUM paid of (\d+\.\d+) LUM/.exec(output);
    assert.ok(rewards, "rewards line present");
    const paid = tenThousandths(rewards[1]!);
    const total = tenThousandths(rewards[2]!);
    assert.ok(total > 0n, `R_total ${rewards[2]} LUM is positive`);
    // Integer shares leave a few wei of dust in the pool: invisible at 4 decimals, never more than one digit.
    assert.ok(paid <= total, `paid ${rewards[1]} ≤ total ${rewards[2]}`);
    assert.ok(total - paid <= 1n, `paid ${rewards[1]} of ${rewards[2]} LUM: only rounding dust unpaid`);

    // Paid demand: consumers paid vouchers for the epoch's bytes, and every voucher paid was settled on chain.
    const demand =
      /Paid demand: (\d+\.\d{6}) LUM vouched by consumers for the epoch's bytes, (\d+\.\d{6}) LUM settled/.exec(output);
    assert.ok(demand, "paid demand line present");
    assert.ok(Number(demand[1]) > 0, `consumers vouched ${demand[1]} LUM`);
    assert.equal(demand[2], demand[1], "what was vouched for the epoch was settled");
    assert.match(output, /vouchers: \d+\.\d+ LUM paid on [1-9]\d* channel\(s\) in epoch 1/);

    const finished = /Demo finished in (\d+\.\d) s\./.exec(output);
    assert.ok(finished, "the demo reports its duration");
    assert.ok(Number(finished[1]) <= seconds, `reported ${finished[1]} s, measured ${seconds} s`);
  });
});
