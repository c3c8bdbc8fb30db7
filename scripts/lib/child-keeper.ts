/**
 * A keeper in a child process, spoken to over its stdin/stdout. The child prints `READY {"peerId", "addresses"}`
 * once it runs, and answers each command — one JSON line `{"id", ...cmd}` on its stdin — with
 * `RES {"id", "ok", "result" | "error"}`. Its stderr goes to a log file. Shared by the chaos run
 * (scripts/chaos/cluster.ts) and `npm run bench:scale` (scripts/bench/lib/scale-process.ts), which differ only in
 * how the child is started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

/** Thrown to callers whose command was in flight (or sent) when the keeper was not running. */
export class KeeperDiedError extends Error {
  constructor(name: string) {
    super(`keeper ${name} died`);
    this.name = "KeeperDiedError";
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class ChildKeeper {
  peerId = "";
  addresses: string[] = [];
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The TCP multiaddr with /p2p: what others bootstrap from and name as a provider. */
  get address(): string {
    return this.addresses.find((a) => a.includes("/tcp/")) ?? this.addresses[0]!;
  }

  /**
   * Runs `command args` and resolves once the child printed READY; rejects if it exits first or is not ready
   * within `readyTimeoutMs`. `onSpawned` sees the process at once (for callers that track every one they start).
   */
  protected async spawn(
    command: string,
    args: readonly string[],
    readyTimeoutMs: number,
    onSpawned?: (child: ChildProcess) => void,
  ): Promise<void> {
    const child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    this.child = child;
    onSpawned?.(child);
    child.stderr!.pipe(this.log, { end: false });
    // A command written to a keeper that was just killed: its caller learns it from the exit below.
    child.stdin!.on("error", () => {});
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`keeper ${this.name} not ready in ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`keeper ${this.name} exited before it was ready (${code ?? signal})`));
      });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("READY ")) {
          const r = JSON.parse(line.slice(6)) as { peerId: string; addresses: string[] };
          this.peerId = r.peerId;
          this.addresses = r.addresses;
          clearTimeout(timer);
          resolve();
        } else if (line.startsWith("RES ")) this.answered(line.slice(4));
      });
    });
    child.once("exit", () => {
      for (const p of this.pending.values()) p.reject(new KeeperDiedError(this.name));
      this.pending.clear();
    });
    await ready;
  }

  private answered(json: string): void {
    const r = JSON.parse(json) as { id: number; ok: boolean; result?: unknown; error?: string };
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    if (r.ok) p?.resolve(r.result);
    else p?.reject(new Error(r.error));
  }

  /** Sends a command; rejects with KeeperDiedError if the keeper dies first, or after `timeoutMs` if given. */
  request<T>(cmd: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    if (!this.alive) return Promise.reject(new KeeperDiedError(this.name));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new Error(`keeper ${this.name}: ${String(cmd.cmd)} timed out`));
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

  /** Sends `sig` and resolves once the process is gone (at once when it is not running). */
  async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.alive) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(sig);
    await exited;
  }

  /** SIGKILL: no chance to clean up. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGTERM (a clean stop: the keeper closes its store), then SIGKILL if it has not stopped within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child !== undefined && this.alive) {
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await this.signal("SIGTERM");
      clearTimeout(timer);
    }
    this.log.end();
  }
}
