/**
 * One keeper per data dir (keeper/store/lock.ts): a live holder in another process is refused with its pid, a
 * holder that died (SIGKILL leaves the file) is taken over, acquisitions nest within one process, and a release
 * never removes a lock that is not ours.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { DataDirLockedError } from "../../../keeper/store/errors.ts";
import { acquireDataDir, LOCK_FILE, releaseDataDir } from "../../../keeper/store/lock.ts";

const LOCK_MODULE = fileURLToPath(new URL("../../../keeper/store/lock.ts", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "lumora-lock-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `data-${++n}`);

/** Another process that takes the lock on `dir`, says so on stdout, and then waits to be killed. */
async function holder(dir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      "--input-type=module",
      "-e",
      `import { acquireDataDir } from ${JSON.stringify(LOCK_MODULE)};
       acquireDataDir(${JSON.stringify(dir)}); console.log("locked"); setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for the holder to lock")), 15_000);
    child.once("exit", () => clearTimeout(timer));
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("locked")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

/** A pid that no process has any more: a child that already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await exited(child);
  return child.pid!;
}

describe("store/lock", { timeout: 60_000 }, () => {
  const children: ChildProcess[] = [];
  const mine: string[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill("SIGKILL");
      await exited(c);
    }
    for (const d of mine.splice(0)) releaseDataDir(d);
  });

  it("creates the folder and a lock naming this process; nested acquisitions release at the last one", () => {
    const dir = freshDir();
    const first = acquireDataDir(dir);
    assert.equal(first.file, join(dir, LOCK_FILE));
    const record = JSON.parse(readFileSync(first.file, "utf8")) as { pid: number; hostname: string };
    assert.equal(record.pid, process.pid);
    assert.equal(record.hostname, hostname());
    assert.equal(first.recoveredFrom, undefined);
    acquireDataDir(dir);
    releaseDataDir(dir);
    assert.ok(existsSync(first.file), "still held after the first of two releases");
    releaseDataDir(dir);
    assert.ok(!existsSync(first.file), "removed at the last release");
    releaseDataDir(dir); // one too many is harmless
  });

  it("refuses a data dir a live keeper in another process holds, naming its pid", async () => {
    const dir = freshDir();
    const other = await holder(dir);
    children.push(other);
    assert.throws(
      () => acquireDataDir(dir),
      (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError, String(err));
        assert.equal(err.pid, other.pid);
        assert.equal(err.message, `data dir ${dir} is in use by keeper pid ${other.pid}; stop it first`);
        return true;
      },
    );
  });

  it("takes over the lock of a keeper killed with SIGKILL", async () => {
    const dir = freshDir();
    const other = await holder(dir);
    other.kill("SIGKILL");
    await exited(other);
    assert.ok(existsSync(join(dir, LOCK_FILE)), "SIGKILL left the lock file behind");
    const taken = acquireDataDir(dir);
    mine.push(dir);
    assert.equal(taken.recoveredFrom, other.pid);
    assert.equal((JSON.parse(readFileSync(taken.file, "utf8")) as { pid: number }).pid, process.pid);
  });

  it("takes over a lock whose pid is dead, damaged, or this process's pid written by an earlier process", async () => {
    const cases = [
      JSON.stringify({ pid: await deadPid(), hostname: hostname(), nonce: "x", startedAt: "" }),
      "",
      '{"pid":',
      JSON.stringify({ pid: process.pid, hostname: hostname(), nonce: "earlier", startedAt: "" }),
    ];
    for (const text of cases) {
      const dir = freshDir();
      acquireDataDir(dir);
      releaseDataDir(dir);
      writeFileSync(join(dir, LOCK_FILE), text);
      const taken = acquireDataDir(dir);
      mine.push(dir);
      const record = JSON.parse(readFileSync(taken.file, "utf8")) as { nonce: string; pid: number };
      assert.equal(record.pid, process.pid, `taken over from ${JSON.stringify(text)}`);
      assert.notEqual(record.nonce, "earlier");
    }
  });

  it("refuses a lock held on another host (its pid cannot be checked from here)", () => {
    const dir = freshDir();
    acquireDataDir(dir);
    releaseDataDir(dir);
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 4242, hostname: "elsewhere", nonce: "n" }));
    assert.throws(() => acquireDataDir(dir), /in use by keeper pid 4242 on host elsewhere; stop it first \(if that/);
  });

  it("does not remove a lock that another keeper holds now", () => {
    const dir = freshDir();
    const { file } = acquireDataDir(dir);
    const theirs = JSON.stringify({ pid: 4242, hostname: hostname(), nonce: "theirs" });
    writeFileSync(file, theirs);
    releaseDataDir(dir);
    assert.equal(readFileSync(file, "utf8"), theirs);
  });
});
