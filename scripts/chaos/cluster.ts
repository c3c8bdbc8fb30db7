/**
 * The chaos run's keepers: each a child process (keeper-child.ts) that can be SIGKILLed and started again on
 * the same data dir and port, and asked for work over its stdin/stdout.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import type { ChildConfig } from "./keeper-child.ts";

const CHILD = fileURLToPath(new URL("./keeper-child.ts", import.meta.url));
const READY_TIMEOUT_MS = 60_000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Thrown to callers whose command was in flight when the keeper died. */
export class KeeperDiedError extends Error {
  constructor(name: string) {
    super(`keeper ${name} died`);
    this.name = "KeeperDiedError";
  }
}

export class KeeperProcess {
  peerId = "";
  addresses: string[] = [];
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly log: WriteStream;

  constructor(
    readonly config: ChildConfig,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  get name(): string {
    return this.config.name;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The p2p address others bootstrap from and name as a provider. */
  get address(): string {
    return this.addresses.find((a) => a.includes("/tcp/")) ?? this.addresses[0]!;
  }

  async start(bootstrap: string[]): Promise<void> {
    const config: ChildConfig = { ...this.config, bootstrap };
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    this.child = child;
    child.stderr!.pipe(this.log, { end: false });
    // A command written to a keeper that was just killed: its caller learns it from the exit below.
    child.stdin!.on("error", () => {});
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`keeper ${this.name} not ready in time`)), READY_TIMEOUT_MS);
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
        } else if (line.startsWith("RES ")) {
          const r = JSON.parse(line.slice(4)) as { id: number; ok: boolean; result?: unknown; error?: string };
          const p = this.pending.get(r.id);
          this.pending.delete(r.id);
          if (r.ok) p?.resolve(r.result);
          else p?.reject(new Error(r.error));
        }
      });
    });
    child.once("exit", () => {
      for (const p of this.pending.values()) p.reject(new KeeperDiedError(this.name));
      this.pending.clear();
    });
    await ready;
  }

  /** SIGKILL: no chance to clean up. Resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGTERM: a clean stop (the keeper closes its store). */
  async stop(): Promise<void> {
    await this.signal("SIGTERM");
    this.log.end();
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.alive) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(sig);
    await exited;
  }

  /** Sends a command; rejects with KeeperDiedError if the keeper dies before answering. */
  request<T>(cmd: Record<string, unknown>): Promise<T> {
    if (!this.alive) return Promise.reject(new KeeperDiedError(this.name));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child!.stdin!.write(JSON.stringify({ id, ...cmd }) + "\n");
    });
  }
}
