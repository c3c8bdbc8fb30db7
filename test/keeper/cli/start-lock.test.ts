/**
 * One keeper per data dir, as an operator meets it: a second `start` on the same configuration exits 1 with one
 * line naming the running keeper's pid and leaves its api.token alone; after that keeper is killed with SIGKILL
 * (its lock file left behind), `start` takes the lock over and runs.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../keeper/cli/bin.mjs", import.meta.url));
const INDEX = fileURLToPath(new URL("../../../keeper/cli/index.ts", import.meta.url));
const ADDRESS = "0x" + "ab".repeat(20);
const env = { ...process.env, LUMORA_CONFIG: undefined, LUMORA_API_URL: undefined };

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** `start` as a child process; resolves once it prints "running". `direct` runs the CLI without the launcher,
 * so that a signal reaches the keeper's own process. */
async function start(args: string[], cwd: string, direct = false): Promise<Running> {
  const argv = direct ? ["--import", import.meta.resolve("tsx"), INDEX, "start", ...args] : [BIN, "start", ...args];
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`start did not come up in 30 s: ${err}`)), 30_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (/running/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`start exited ${code}: ${err}`));
    });
  });
  return { child, stdout: () => out, stderr: () => err };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr }),
    );
  });
}

describe("lumora-keeper start: one keeper per data dir", { timeout: 120_000 }, () => {
  const cwd = mkdtempSync(join(tmpdir(), "lumora-cli-lock-"));
  const dataDir = join(cwd, "data");
  const args = [
    "--node-reward-address",
    ADDRESS,
    "--data-dir",
    dataDir,
    "--p2p-listen",
    "/ip4/127.0.0.1/tcp/0",
    "--api-host",
    "127.0.0.1",
    "--api-port",
    "0",
    "--log-format",
    "json",
  ];
  const running: ChildProcess[] = [];
  after(async () => {
    for (const c of running) {
      c.kill("SIGKILL");
      await exited(c);
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it("refuses a second start, then recovers the lock a SIGKILLed keeper left", async () => {
    const first = await start(args, cwd, true);
    running.push(first.child);
    const tokenFile = join(dataDir, "api.token");
    const token = readFileSync(tokenFile, "utf8");

    const second = await cli(["start", ...args], cwd);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(
      second.stderr.trim().split("\n").at(-1),
      `lumora-keeper: data dir ${dataDir} is in use by keeper pid ${first.child.pid}; stop it first`,
    );
    assert.doesNotMatch(second.stdout, /running/);
    assert.equal(readFileSync(tokenFile, "utf8"), token, "the running keeper's api.token is untouched");
    assert.equal(first.child.exitCode, null, "the first keeper still runs");

    first.child.kill("SIGKILL");
    await exited(first.child);
    assert.ok(existsSync(join(dataDir, "keeper.lock")), "SIGKILL left the lock behind");

    const third = await start(args, cwd);
    running.push(third.child);
    const took = third
      .stderr()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { msg: string; pid?: number })
      .find((e) => /took over the data dir lock/.test(e.msg));
    assert.equal(took?.pid, first.child.pid, `logs the dead keeper's pid: ${third.stderr()}`);
    third.child.kill("SIGTERM");
    assert.equal(await exited(third.child), 0, third.stderr());
    assert.ok(!existsSync(join(dataDir, "keeper.lock")), "a clean stop removes the lock");
  });
});
