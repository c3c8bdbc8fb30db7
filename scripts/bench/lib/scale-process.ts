/**
 * A keeper of `npm run bench:scale` as seen from the bench: a child process started inside its namespace,
 * spoken to over stdin/stdout (scale-keeper.ts), killed with SIGKILL for churn. Also reads the child's CPU time
 * and resident memory from /proc.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { ChildKeeper } from "../../lib/child-keeper.ts";

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
  if (runtime === "tsx") return { keeperModule: `${ROOT}keeper/keeper.ts`, loggerModule: `${ROOT}keeper/logger.ts` };
  // The bundle operators run (scripts/bundle.mjs); a build from before the bundle existed, its dist/keeper/ tree.
  const bundle = `${dist}/bundle/keeper.js`;
  if (existsSync(bundle)) return { keeperModule: bundle, loggerModule: bundle };
  return { keeperModule: `${dist}/keeper/keeper.js`, loggerModule: `${dist}/keeper/logger.js` };
}

/** Every keeper process started and not yet exited, so an interrupted bench can kill them all. */
const running = new Set<ChildProcess>();

/** SIGKILLs every keeper still running (synchronous: for signal and exit handlers). */
export function killAllKeepers(): void {
  for (const child of running) child.kill("SIGKILL");
}

export class ScaleKeeper extends ChildKeeper {
  constructor(
    readonly index: number,
    readonly namespace: string,
    readonly config: ScaleKeeperConfig,
    readonly runtime: KeeperRuntime,
    logFile: string,
    /** Node/V8 options for this keeper's process (a heap cap, --cpu-prof for a profile). */
    readonly nodeArgs: readonly string[] = [],
  ) {
    super(config.name, logFile);
  }

  async start(readyTimeoutMs: number): Promise<void> {
    // `ip netns exec` enters the namespace and execs node: the child's pid is the keeper's.
    const loader = this.runtime === "tsx" ? ["--import", "tsx"] : [];
    const args = ["netns", "exec", this.namespace, process.execPath, ...this.nodeArgs, ...loader, CHILD];
    await this.spawn("ip", [...args, JSON.stringify(this.config)], readyTimeoutMs, (child) => {
      running.add(child);
      child.once("exit", () => running.delete(child));
    });
  }

  /** A command; every one answers within two minutes unless told otherwise. */
  override request<T>(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    return super.request<T>(cmd, timeoutMs);
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

  /**
   * What the process's memory costs the machine, MiB, from /proc/<pid>/smaps_rollup: `pss` (proportional set
   * size: each shared page divided among the processes mapping it) and `anon` (private and anonymous: the heap,
   * buffers, malloc). RSS also counts in full the pages of the node binary every keeper maps (≈ 57 MiB of its
   * code and read-only data, shared by all of them). Undefined when it is gone.
   */
  memoryMiB(): { pss: number; anon: number } | undefined {
    try {
      const rollup = readFileSync(`/proc/${this.pid}/smaps_rollup`, "utf8");
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? NaN);
      const pss = kb("Pss");
      const anon = kb("Anonymous");
      return Number.isFinite(pss) && Number.isFinite(anon) ? { pss: pss / 1024, anon: anon / 1024 } : undefined;
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
