/**
 * One keeper as an operator runs it, for benches and the soak: `lumora-keeper start --config <file>` in its own
 * process — the compiled CLI (dist/bundle/, as `lumora-keeper` runs it) or, to compare, the same sources through the
 * tsx loader — reached over its HTTP API, and measured from /proc (RSS, open fds, CPU time).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COMPILED = join(ROOT, "dist", "bundle", "lumora-keeper.js");
const SOURCE = join(ROOT, "keeper", "cli", "index.ts");
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

export type Runtime = "compiled" | "tsx";

export interface CliKeeperInit {
  name: string;
  configFile: string;
  /** The keeper's data folder (for api.token). */
  dataDir: string;
  apiPort: number;
  logFile: string;
  runtime?: Runtime;
  env?: Record<string, string>;
}

export interface ProcessStats {
  rssMiB: number;
  fds: number;
  cpuSeconds: number;
}

/** RSS, open fds and user + system CPU seconds of a live process, from /proc. */
export function processStats(pid: number): ProcessStats {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(rest[11]) + Number(rest[12]);
  return {
    rssMiB: rssKiB / 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
  };
}

export class CliKeeper {
  private child: ChildProcess | undefined;
  private token: string | undefined;

  constructor(readonly init: CliKeeperInit) {}

  get name(): string {
    return this.init.name;
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error(`keeper ${this.name} is not running`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get api(): string {
    return `http://127.0.0.1:${this.init.apiPort}`;
  }

  /** Starts the keeper and resolves once its API answers /healthz. */
  async start(timeoutMs = 180_000): Promise<void> {
    const runtime = this.init.runtime ?? "compiled";
    if (runtime === "compiled" && !existsSync(COMPILED))
      throw new Error(`${COMPILED} is missing: run \`npm run build\` first`);
    const entry = runtime === "compiled" ? [COMPILED] : ["--import", "tsx", SOURCE];
    const log = createWriteStream(this.init.logFile, { flags: "a" });
    const child = spawn(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", ...entry, "start", "--config", this.init.configFile],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.init.env } },
    );
    this.child = child;
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once("exit", () => log.end());
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`keeper ${this.name} exited at start (see ${this.init.logFile})`);
      const ok = await fetch(`${this.api}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`keeper ${this.name} did not answer /healthz in time`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  stats(): ProcessStats {
    return processStats(this.pid);
  }

  async get<T>(path: string, timeoutMs = 30_000): Promise<T> {
    const res = await fetch(this.api + path, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${this.name} GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** An operator write (POST with the token the keeper wrote to its data folder). */
  async post<T>(path: string, body: unknown, timeoutMs = 60_000): Promise<T> {
    this.token ??= readFileSync(join(this.init.dataDir, "api.token"), "utf8").trim();
    const res = await fetch(this.api + path, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${this.name} POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** SIGTERM (a clean stop); SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
