/**
 * The operator's write commands (publish, transfer, close-epoch) through the launcher, against a live keeper
 * on 127.0.0.1 whose API token sits in its data folder as `start` leaves it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { API_TOKEN_FILE, apiServer, type ApiServer } from "../../../keeper/api/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { silent } from "../helpers.ts";

const BIN = fileURLToPath(new URL("../../../keeper/cli/bin.mjs", import.meta.url));

/** One CLI run on a loaded 2-core machine: Node 22 + tsx start-up alone can take seconds. */
const CLI_TIMEOUT_MS = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, LUMORA_CONFIG: undefined, LUMORA_API_URL: undefined }, timeout: CLI_TIMEOUT_MS },
      (err, stdout, stderr) => {
        // A killed CLI must not pass for one that failed as expected (exit 1).
        if (err?.killed) {
          reject(
            new Error(`lumora-keeper ${args.join(" ")} did not exit within ${CLI_TIMEOUT_MS} ms:\n${stdout}${stderr}`),
          );
          return;
        }
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
      },
    );
  });
}

describe("lumora-keeper publish, transfer, close-epoch", { timeout: 270_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-cli-op-"));
  const dataDir = join(dir, "data");
  let keeper: Keeper;
  // A second keeper, so that publishing's DHT announcement has a peer to store it (alone it waits for a timeout).
  let peer: Keeper;
  let api: ApiServer;
  let common: string[];

  before(async () => {
    keeper = await startKeeper({
      dataDir,
      capabilities: ["provider", "executor", "coordinator"],
      bandwidthBps: 1e7,
      capacity: 2,
      rewardAddress: "0x" + "ab".repeat(20),
      logger: silent,
    });
    peer = await startKeeper({
      dataDir: join(dir, "peer"),
      capabilities: ["provider", "executor"],
      bandwidthBps: 1e7,
      capacity: 2,
      rewardAddress: "0x" + "cd".repeat(20),
      bootstrap: [keeper.addresses[0]!],
      logger: silent,
    });
    const token = randomBytes(16).toString("hex");
    writeFileSync(join(dataDir, API_TOKEN_FILE), token + "\n", { mode: 0o600 });
    api = apiServer({ port: 0, token, publishDirs: [dir] })({ keeper, logger: silent });
    await api.start();
    common = ["--api", api.url, "--data-dir", dataDir];
  });
  after(async () => {
    await api?.stop();
    await peer?.stop();
    await keeper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publish prints the object id and the transfer command", async () => {
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(50_000));
    const r = await cli(["publish", file, ...common], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^published [0-9a-f]{64}$/m);
    assert.match(
      r.stdout,
      /lumora-keeper transfer [0-9a-f]{64} --size 50000 --provider \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//,
    );
  });

  it("exits 1 with one line when the token is missing or wrong", async () => {
    const other = join(dir, "other");
    mkdirSync(other);
    const missing = await cli(["close-epoch", "--api", api.url, "--data-dir", other], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no API token at .*api\.token/);
    writeFileSync(join(other, API_TOKEN_FILE), "wrong\n");
    const wrong = await cli(["close-epoch", "--api", api.url, "--data-dir", other], dir);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the API token/);
    for (const r of [missing, wrong]) assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${r.stderr}`);
  });

  it("exits 2 naming the field for a bad transfer request", async () => {
    const provider = keeper.addresses[0]!;
    const cases: Array<[string[], RegExp]> = [
      [["transfer", "not-hex", "--size", "10", "--provider", provider], /objectId: must be the object's SHA-256/],
      [["transfer", "ab".repeat(32), "--provider", provider], /--size <bytes> is required/],
      [["transfer", "ab".repeat(32), "--size", "1.5", "--provider", provider], /--size: must be a positive whole/],
      [["transfer", "ab".repeat(32), "--size", "10", "--provider", "/ip4/1.2.3.4/tcp/1"], /providers\.0: must be/],
      [["transfer"], /missing <objectId>/],
      [["publish", join(dir, "nope.bin")], /no such file/],
    ];
    // Independent runs (none reaches the keeper's state): side by side.
    const runs = await Promise.all(cases.map(([args]) => cli([...args, ...common], dir)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, `${args.join(" ")} exits 2 (${r.stderr})`);
      assert.match(r.stderr, message, `${args.join(" ")} explains itself`);
    }
  });

  it("transfer prints the task id at once; close-epoch shows its steps and the summary", async () => {
    const queued = await cli(
      ["transfer", "cd".repeat(32), "--size", "10", "--provider", keeper.addresses[0]!, ...common],
      dir,
    );
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /^task task-\S+ queued/m);
    const closed = await cli(["close-epoch", ...common], dir);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stderr, /epoch 1: trees built: \d+ account\(s\), \d+ task\(s\)/);
    assert.match(closed.stderr, /epoch 1: published as lumora:epoch\/1/);
    assert.match(closed.stdout, /^epoch 1 closed/m);
    assert.match(closed.stdout, /not submitted \(no chain key on this keeper\)/);
  });
});
