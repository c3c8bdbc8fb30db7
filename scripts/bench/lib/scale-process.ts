/**
 * A keeper of `npm run bench:scale` as seen from the bench: a child process started inside its namespace,
 * spoken to over stdin/stdout (scale-keeper.ts), killed with SIGKILL for churn. Also reads the child's CPU time
 * and resident memory from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./scale-keeper.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * How the keeper runs: "compiled" = dist/ (`npm run build`), as `lumora-keeper` runs it; "tsx" = the sources
 * through the TypeScript loader, to compare.
 */
export type KeeperRuntime = "compiled" | "tsx";

/** What scale-keeper.mjs is started with. */
export interface ScaleKeeperConfig {
  name: string;
  dataDir: string;
  listen: string;
  bootstrap: string[];
  rewardAddress: string;
  /** Advertised B_i (bytes/s): the rate the bench's tbf gives this namespace. */
  bandwidthBps: number;
  /** The delay the bench injects for this keeper (ms): every execution here waits this long first. */
  executionDelayMs: number;
  keeperModule: string;
  loggerModule: string;
}

/**
 * The keeper and logger modules scale-keeper.mjs imports for a runtime; `dist` (compiled only) runs another
 * build of the keeper, e.g. an earlier commit's, to compare with this one under the same bench.
 */
export function keeperModules(
  runtime: KeeperRuntime,
  dist = `${ROOT}dist`,
): Pick<ScaleKeeperConfig, "keeperModule" | "loggerModule"> {
  const base = runtime === "compiled" ? `${dist}/keeper/` : `${ROOT}keeper/`;
  const ext = runtime === "compiled" ? "js" : "ts";
  return { keeperModule: `${base}keeper.${ext}`, loggerModule: `${base}logger.${ext}` };
}

/** Every keeper process started and not yet exited, so an interrupted bench can kill them all. */
const running = new Set<ChildProcess>();

/** SIGKILLs every keeper still running (synchronous: for signal and exit handlers). */
export function killAllKeepers(): void {
  for (const child of running) child.kill("SIGKILL");
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class ScaleKeeper {
  peerId = "";
  addresses: string[] = [];
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly log: WriteStream;

  constructor(
    readonly index: number,
    readonly namespace: string,
    readonly config: ScaleKeeperConfig,
    readonly runtime: KeeperRuntime,
    logFile: string,
    /** Node/V8 options for this keeper's process (a heap cap, --cpu-prof for a profile). */
    readonly nodeArgs: readonly string[] = [],
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The TCP multiaddr with /p2p (what others bootstrap from). */
  get address(): string {
    return this.addresses.find((a) => a.includes("/tcp/"))!;
  }

  async start(readyTimeoutMs: number): Promise<void> {
    // `ip netns exec` enters the namespace and execs node: the child's pid is the keeper's.
    const loader = this.runtime === "tsx" ? ["--import", "tsx"] : [];
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.namespace,
        process.execPath,
        ...this.nodeArgs,
        ...loader,
        CHILD,
        JSON.stringify(this.config),
      ],
      { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } },
    );
    this.child = child;
    running.add(child);
    child.once("exit", () => running.delete(child));
    child.stderr!.pipe(this.log, { end: false });
    child.stdin!.on("error", () => {});
    child.once("exit", () => {
      for (const p of this.pending.values()) p.reject(new Error(`keeper ${this.config.name} exited`));
      this.pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`keeper ${this.config.name} not ready in ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`keeper ${this.config.name} exited before it was ready (${code ?? signal})`));
      });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("READY ")) {
          const r = JSON.parse(line.slice(6)) as { peerId: string; addresses: string[] };
          this.peerId = r.peerId;
          this.addresses = r.addresses;
          clearTimeout(timer);
          resolve();
        } else if (line.startsWith("RES ")) {
          const r = JSON.parse(line.slice(4)) as { id: number; ok: boolean; result?: unknown; error?: string };
          const p = this.pending.get(r.id);
          this.pending.delete(r.id);
          if (r.ok) p?.resolve(r.result);
          else p?.reject(new Error(r.error));
        }
      });
    });
  }

  request<T>(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`keeper ${this.config.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`keeper ${this.config.name}: ${String(cmd.cmd)} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child!.stdin!.write(JSON.stringify({ id, ...cmd }) + "\n");
    });
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.alive) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(sig);
    await exited;
  }

  /** SIGTERM, then SIGKILL if the keeper has not stopped within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child !== undefined && this.alive) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.log.end();
  }

  /** utime + stime of the process in clock ticks (/proc/<pid>/stat), undefined when it is gone. */
  cpuTicks(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return undefined;
    }
  }

  /** Open file descriptors (/proc/<pid>/fd), undefined when it is gone. */
  fds(): number | undefined {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return undefined;
    }
  }

  /** Resident set size in MiB (/proc/<pid>/status VmRSS), undefined when it is gone. */
  rssMiB(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
      return m === null ? undefined : Number(m[1]) / 1024;
    } catch {
      return undefined;
    }
  }
}
