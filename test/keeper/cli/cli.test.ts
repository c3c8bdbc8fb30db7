/**
 * The CLI as an operator runs it: spawned through its launcher (keeper/cli/bin.mjs), checking exit codes
 * (0 ok, 1 runtime failure, 2 usage/config error) and that errors are one line, not a stack trace.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../keeper/cli/bin.mjs", import.meta.url));
const ADDRESS = "0x" + "cd".repeat(20);

/** One CLI run on a loaded 2-core machine: Node 22 + tsx start-up alone can take seconds. */
const CLI_TIMEOUT_MS = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, LUMORA_CONFIG: undefined, LUMORA_API_URL: undefined, ...options.env },
        timeout: CLI_TIMEOUT_MS,
      },
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

/** Runs an executable directly (a symlink to the launcher, as `npm link` installs it). */
function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, LUMORA_CONFIG: undefined, LUMORA_API_URL: undefined }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr }),
    );
  });
}

function noStack(r: Run): void {
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace in: ${r.stderr}`);
}

describe("lumora-keeper CLI", { timeout: 180_000 }, () => {
  const cwd = mkdtempSync(join(tmpdir(), "lumora-cli-"));
  let stub: Server;
  let stubUrl: string;

  before(async () => {
    // A stand-in keeper API, so `status` can be checked without starting a network.
    stub = createServer((req, res) => {
      const body = {
        peerId: "12D3KooWStub",
        addresses: ["/ip4/127.0.0.1/tcp/1/p2p/12D3KooWStub"],
        epoch: 7,
        startedAt: 0,
        now: 1000,
        rewardAddress: ADDRESS,
        capabilities: ["executor"],
        dht: { routingTableSize: 3 },
        connections: 2,
        peers: [],
        tasks: {
          byState: { queued: 1, assigned: 0, running: 2, succeeded: 5, failed: 0, expired: 0 },
          reassigned: 1,
          reassignments: 1,
          inFlight: 2,
          recent: [],
        },
        transfers: { items: [], bytesServed: 10, bytesFetched: 20, partsServed: 1, throughputBps: 0 },
        epochs: [],
        rewards: [],
        counters: {},
        chain: {
          configured: true,
          reachable: true,
          lastOnChainEpoch: 3,
          secondsSinceLastCommit: 42,
          pending: [4, 5],
          stall: { epoch: 4, since: 0, attempts: 7, reason: "pool holds 10, epoch needs 1000", alarm: true },
          alarms: [],
        },
        refusals: {},
      };
      if (req.url === "/api/status") res.end(JSON.stringify(body));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => stub.close(r));
    rmSync(cwd, { recursive: true, force: true });
  });

  it("prints help with exit 0 for the CLI and each command", async () => {
    const top = await cli(["--help"], { cwd });
    assert.equal(top.code, 0);
    for (const c of ["init", "start", "status", "peers", "tasks", "epochs", "rewards"])
      assert.match(top.stdout, new RegExp(`\\b${c}\\b`), `${c} listed`);
    const start = await cli(["start", "--help"], { cwd });
    assert.equal(start.code, 0);
    assert.match(start.stdout, /--api-port <number>/);
  });

  it("exits 2 with one line for an unknown command, an unknown option and a missing argument", async () => {
    // Independent runs: side by side.
    const argvs = [["frobnicate"], ["peers", "--bogus"], ["init"], []];
    const runs = await Promise.all(argvs.map((args) => cli(args, { cwd })));
    for (const [i, r] of runs.entries()) {
      assert.equal(r.code, 2, `lumora-keeper ${argvs[i]!.join(" ")} exits 2`);
      noStack(r);
    }
  });

  it("init writes a config and a 0600 identity, then refuses to overwrite them", async () => {
    const first = await cli(["init", "--reward-address", ADDRESS], { cwd });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /peer id:\s+12D3KooW/);
    assert.equal(statSync(join(cwd, "lumora-data", "identity.key")).mode & 0o777, 0o600);
    const again = await cli(["init", "--reward-address", ADDRESS], { cwd });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; not overwriting/);
    noStack(again);
  });

  it("runs from any directory, by absolute path or through a symlink (npm link), with paths relative to the cwd", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "lumora-cli-elsewhere-"));
    try {
      const byPath = await cli(["--help"], { cwd: elsewhere });
      assert.equal(byPath.code, 0, byPath.stderr);
      assert.match(byPath.stdout, /^Usage: lumora-keeper <command>/);
      // What `npm link` puts on the PATH: a symlink to the launcher, run directly (its #! line).
      mkdirSync(join(elsewhere, "bin"));
      const link = join(elsewhere, "bin", "lumora-keeper");
      symlinkSync(BIN, link);
      const linked = await run(link, ["init", "--config", "sub/my.json", "--reward-address", ADDRESS], elsewhere);
      assert.equal(linked.code, 0, linked.stderr);
      assert.ok(existsSync(join(elsewhere, "sub", "my.json")), "the config is written relative to the user's cwd");
      assert.ok(existsSync(join(elsewhere, "sub", "lumora-data", "identity.key")), "its data dir next to it");
      const help = await run(link, ["start", "--help"], elsewhere);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: lumora-keeper start/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("start exits 2 naming the field when the configuration is invalid", async () => {
    const r = await cli(["start", "--api-port", "99999", "--node-capacity", "0"], { cwd });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /api\.port: must be a port number .*flag --api-port/);
    assert.match(r.stderr, /node\.capacity: must be ≥ 1/);
    noStack(r);
  });

  it("start exits 2 naming epochs.cron before anything starts (no identity, no database)", async () => {
    const dataDir = join(cwd, "cron-data");
    const r = await cli(
      ["start", "--node-reward-address", ADDRESS, "--data-dir", dataDir, "--epochs-cron", "*/61 * * * * *"],
      { cwd },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^lumora-keeper: config: epochs\.cron: seconds field "\*\/61": step 61 .*flag --epochs-cron\)$/m,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /running/);
    assert.equal(existsSync(dataDir), false, "nothing was created in the data dir");
    noStack(r);
  });

  it("status exits 1 when no keeper answers, and 0 with a summary when one does", async () => {
    const down = await cli(["status", "--api", "http://127.0.0.1:9"], { cwd });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the keeper API at http:\/\/127\.0\.0\.1:9/);
    noStack(down);
    const up = await cli(["status", "--api", stubUrl], { cwd });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /1 queued, 2 in flight, 5 done/);
    assert.match(up.stdout, /DHT table 3/);
    assert.match(up.stdout, /chain +reachable; last on-chain epoch 3; waiting: 4, 5; last commit 42 s ago/);
    assert.match(up.stdout, /epoch 4 STALLED \(7 attempts\): pool holds 10, epoch needs 1000/);
  });
});
