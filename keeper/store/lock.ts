/**
 * One keeper per data dir. Two keepers on one folder would share the identity and the database and overwrite
 * each other's api.token, so `start` takes `<dataDir>/keeper.lock` first thing, before any of them is touched.
 *
 * The lock is a file holding the owner's pid and host, created atomically (a finished file hard-linked into
 * place, which fails if the lock exists). A crash (SIGKILL, power loss) leaves the file behind, so a lock whose
 * pid is no longer alive on this host is stale and taken over: the stale file is renamed aside (atomic: of two
 * keepers recovering at once only one moves it), checked to still be the stale one, removed, and the lock is
 * created afresh. Within one process acquisitions nest (the CLI takes the lock, then the keeper it starts takes
 * it again): each `acquireDataDir` needs one `releaseDataDir`, and the file is removed at the last one. No
 * timer and no native code: liveness is `process.kill(pid, 0)`.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { DataDirLockedError } from "./errors.ts";

export const LOCK_FILE = "keeper.lock";

interface LockRecord {
  pid: number;
  hostname: string;
  /** Distinguishes this holder from an earlier process that had the same pid (pids are reused). */
  nonce: string;
  startedAt: string;
}

/** Locks this process holds: data dir → how many acquisitions and the record written. */
const held = new Map<string, { count: number; text: string }>();

export interface AcquireResult {
  /** The lock file. */
  file: string;
  /** Pid of a dead keeper whose lock was taken over, if any (worth a log line). */
  recoveredFrom?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(file: string): { text: string; record: Partial<LockRecord> } | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return { text, record: JSON.parse(text) as Partial<LockRecord> };
  } catch {
    // Never written by acquireDataDir (it links a finished file): damaged, so nobody holds it.
    return { text, record: {} };
  }
}

/** Creates the lock with its content in one step (link of a finished file), so nobody ever reads it half-written. */
function create(file: string, text: string): boolean {
  const draft = `${file}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(draft, text, { mode: 0o600, flag: "wx" });
  try {
    linkSync(draft, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(draft, { force: true });
  }
}

/** Moves a stale lock aside, unless it changed since it was read (another keeper recovered it first). */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (readFileSync(aside, "utf8") !== staleText) {
    // We moved a live keeper's fresh lock: put it back (link fails only if yet another lock appeared meanwhile).
    try {
      linkSync(aside, file);
    } catch {
      /* the lock file exists again either way */
    }
  }
  rmSync(aside, { force: true });
}

/**
 * Takes the data dir's lock (creating the folder, mode 0700, if needed).
 * @throws DataDirLockedError when a live keeper (another process) holds it
 */
export function acquireDataDir(dataDir: string): AcquireResult {
  const dir = resolve(dataDir);
  const file = join(dir, LOCK_FILE);
  const mine = held.get(dir);
  if (mine !== undefined) {
    mine.count++;
    return { file };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const record: LockRecord = {
    pid: process.pid,
    hostname: hostname(),
    nonce: randomBytes(8).toString("hex"),
    startedAt: new Date().toISOString(),
  };
  const text = JSON.stringify(record) + "\n";
  let recoveredFrom: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(file, text)) {
      held.set(dir, { count: 1, text });
      return { file, ...(recoveredFrom !== undefined && { recoveredFrom }) };
    }
    const current = read(file);
    if (current === undefined) continue;
    const { pid, hostname: host } = current.record;
    if (typeof pid === "number" && host !== undefined && host !== record.hostname)
      throw new DataDirLockedError(dir, pid, file, host);
    // Our own pid but not our record: a previous process that had this pid (e.g. pid 1 in a container) died.
    if (typeof pid === "number" && pid !== process.pid && alive(pid)) throw new DataDirLockedError(dir, pid, file);
    if (typeof pid === "number") recoveredFrom = pid;
    removeStale(file, current.text);
  }
  const current = read(file);
  throw new DataDirLockedError(dir, current?.record.pid ?? -1, file);
}

/** Gives back one acquisition; the last one removes the lock file (only if it is still ours). */
export function releaseDataDir(dataDir: string): void {
  const dir = resolve(dataDir);
  const mine = held.get(dir);
  if (mine === undefined) return;
  if (--mine.count > 0) return;
  held.delete(dir);
  const file = join(dir, LOCK_FILE);
  if (read(file)?.text === mine.text) rmSync(file, { force: true });
}
