/**
 * The transfer bench's child processes (scripts/bench/transfer.ts forks this file with --role): a raw libp2p
 * stream server and client, a Lumora provider and consumer, a Helia provider and consumer. Each answers its parent
 * over IPC; the parent only orchestrates. BENCH_FETCH_INIT (JSON TransferInit) and BENCH_YAMUX (JSON yamux init)
 * reach the children through the environment, so a run can try other tunables.
 *
 * The children run as compiled JavaScript under plain node, as a keeper does (`npm run build`): this file and
 * helia.ts are transpiled next to the build (dist/scripts/bench/lib/), importing the keeper from dist/keeper/.
 * Under the tsx loader a child held ≈ 40–60 MiB more (the loader's own thread and heap, every module's source and
 * source map), which is no part of what a keeper's fetch costs. BENCH_RUNTIME=tsx runs them from the sources.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import type { YamuxMuxerInit } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";

import { createLogger } from "../../../keeper/logger.ts";
import { createLumoraNode } from "../../../keeper/p2p/node.ts";
import { openStore } from "../../../keeper/store/index.ts";
import { transferService, type TransferInit } from "../../../keeper/transfer/index.ts";

export const MiB = 1024 * 1024;
const RAW_PROTOCOL = "/lumora/bench-raw/1.0.0";
const SELF = fileURLToPath(import.meta.url);

/** The yamux settings this process runs with (BENCH_YAMUX), the library's defaults when unset. */
function yamuxInit(): YamuxMuxerInit | undefined {
  const raw = process.env.BENCH_YAMUX;
  return raw === undefined ? undefined : (JSON.parse(raw) as YamuxMuxerInit);
}

function benchNode(init: Parameters<typeof createLumoraNode>[0] = {}) {
  return createLumoraNode({ ...init, yamux: yamuxInit() });
}

/**
 * This process's peak resident memory (MiB). Linux's VmHWM belongs to the process's own address space;
 * getrusage's maxRSS does not: a forked child inherits the parent's high-water mark across fork + exec, so a
 * consumer forked by a parent holding hundreds of MiB (the stage measurements) would report the parent's.
 */
function peakRssMib(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** CPU milliseconds (user + system, all threads) this process used since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Answers the parent: {cpu} returns the CPU used so far, anything else stops the process after `stop`. */
function serveParent(stop: () => Promise<void>): void {
  process.on("message", (m) => {
    if (m === "cpu") process.send!({ cpuMs: cpuMs({ user: 0, system: 0 }) });
    else void stop().then(() => process.exit(0));
  });
}

/** Text-like data that zstd level 1 compresses ≈ 3:1. */
export function compressible(size: number): Buffer {
  const words = ["provider", "consumer", "epoch", "lumora", '{"bytes":', "shard", "receipt", "\n"];
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  let x = 12345;
  while (o < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    o += out.write(words[x % words.length] + " " + (x % 997) + " ", o);
  }
  return out;
}

export async function writeObject(path: string, size: number, kind: "random" | "compressible"): Promise<void> {
  const ws = createWriteStream(path);
  const chunk = 16 * MiB;
  const pattern = kind === "compressible" ? compressible(chunk) : undefined;
  for (let o = 0; o < size; o += chunk) {
    const n = Math.min(chunk, size - o);
    const buf = pattern !== undefined ? pattern.subarray(0, n) : randomBytes(n);
    if (!ws.write(buf)) await new Promise<void>((r) => ws.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

// ---- child roles ----

export type Msg = Record<string, unknown>;

async function roleRawServer(): Promise<void> {
  const node = await benchNode();
  await node.handle(RAW_PROTOCOL, async (stream) => {
    let size = 0;
    for await (const chunk of stream) {
      size = Number(Buffer.from(chunk.subarray()).readBigUInt64BE(0));
      break;
    }
    const buf = randomBytes(MiB);
    for (let sent = 0; sent < size; sent += MiB) {
      if (!stream.send(buf.subarray(0, Math.min(MiB, size - sent)))) await stream.onDrain();
    }
    await stream.close();
  });
  process.send!({ addr: node.getMultiaddrs()[0].toString() });
  serveParent(async () => void (await node.stop()));
}

async function roleRawClient(addr: string, size: number): Promise<void> {
  const node = await benchNode();
  const stream = await node.dialProtocol(multiaddr(addr), RAW_PROTOCOL);
  const req = Buffer.alloc(8);
  req.writeBigUInt64BE(BigInt(size));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  stream.send(req);
  let got = 0;
  for await (const chunk of stream) got += chunk.byteLength;
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const used = cpuMs(cpu);
  await stream.close();
  await node.stop();
  process.send!({ mibps: got / MiB / s, got, cpuMsPerMib: used / (got / MiB) });
}

async function roleProvider(files: string[]): Promise<void> {
  const node = await benchNode();
  const store = openStore(":memory:");
  const logger = createLogger("bench", { level: "warn" });
  const transfer = transferService()({ node, privateKey: await generateKeyPair("Ed25519"), store, logger });
  await transfer.start();
  const objects: string[] = [];
  // each argument is a file, or file@partSize to publish it with that part size
  for (const arg of files) {
    const at = arg.lastIndexOf("@");
    const [path, partSize] = at < 0 ? [arg, undefined] : [arg.slice(0, at), Number(arg.slice(at + 1))];
    objects.push((await transfer.publish(path, { announce: false, partSize })).objectId);
  }
  process.send!({ addr: node.getMultiaddrs()[0].toString(), objects });
  serveParent(async () => {
    await transfer.stop();
    await node.stop();
  });
}

async function roleHeliaProvider(file: string): Promise<void> {
  // Helia is loaded by its own roles only: its modules are no part of a Lumora consumer's memory.
  const { heliaProvide } = await import("./helia.ts");
  const provider = await heliaProvide(file);
  process.send!({ addr: provider.addr, cid: provider.cid });
  serveParent(() => provider.stop());
}

async function roleHeliaConsumer(addr: string, cid: string, to: string): Promise<void> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const { heliaFetch } = await import("./helia.ts");
  const size = await heliaFetch(addr, cid, to);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const used = cpuMs(cpu);
  await rm(to, { force: true });
  process.send!({ mibps: size / MiB / s, cpuMsPerMib: used / (size / MiB) });
}

async function roleConsumer(objectId: string, providers: string[], to: string): Promise<void> {
  const privateKey = await generateKeyPair("Ed25519");
  const node = await benchNode({ privateKey });
  const store = openStore(":memory:");
  // The fetch's decisions (sessions opened, the source plan's steps), ms after the fetch began, for the reply;
  // warnings and errors still go to stderr.
  const steps: Array<[number, string, unknown]> = [];
  let t0 = performance.now();
  const logger = createLogger("bench", {
    level: "debug",
    format: "json",
    sink: (line) => {
      const e = JSON.parse(line) as { level: string; msg: string; step?: string; active?: number; provider?: string };
      const at = Math.round(performance.now() - t0);
      if (e.msg === "sources") steps.push([at, e.step!, e.active]);
      else if (e.msg === "provider session open") steps.push([at, "session", e.provider!.slice(-6)]);
      else if (e.level === "warn" || e.level === "error") process.stderr.write(line + "\n");
    },
  });
  // BENCH_FETCH_INIT='{"requestsPerProvider":2}' tries other fetch tunables (to tune the defaults by measurement).
  const init = JSON.parse(process.env.BENCH_FETCH_INIT ?? "{}") as TransferInit;
  const onProviderFailure = (peerId: string, reason: string, d: { message: string }) =>
    process.stderr.write(`bench consumer: provider ${peerId} dropped: ${reason} (${d.message})\n`);
  const transfer = transferService(init)({ node, privateKey, store, logger, onProviderFailure });
  await transfer.start();
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  t0 = performance.now();
  // What the memory was made of when RSS peaked (sampled every 20 ms): V8's heap, ArrayBuffers (parts, stream
  // chunks) and the rest (code, libuv, malloc's arenas), in MiB.
  const atStart = process.memoryUsage();
  let peak = atStart;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 20);
  let size = 0;
  let parts: number[] = [];
  if (to === "-") {
    // stream mode: verified bytes handed to the caller and dropped, no disk writes
    for await (const chunk of transfer.fetchStream(objectId, { providers })) size += chunk.length;
  } else {
    const result = await transfer.fetch(objectId, { providers, to });
    size = result.size;
    parts = result.providers.map((p) => p.parts);
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const used = cpuMs(cpu);
  clearInterval(sampler);
  await transfer.stop();
  await node.stop();
  store.close();
  if (to !== "-") await rm(to, { force: true });
  process.send!({
    mibps: size / MiB / s,
    cpuMsPerMib: used / (size / MiB),
    maxRssMib: peakRssMib(),
    providers: parts,
    steps,
    rssAtStartMib: Math.round(atStart.rss / MiB),
    memAtStartMib: {
      heapTotal: Math.round(atStart.heapTotal / MiB),
      heapUsed: Math.round(atStart.heapUsed / MiB),
      arrayBuffers: Math.round(atStart.arrayBuffers / MiB),
    },
    memAtPeakMib: {
      rss: Math.round(peak.rss / MiB),
      heapTotal: Math.round(peak.heapTotal / MiB),
      heapUsed: Math.round(peak.heapUsed / MiB),
      arrayBuffers: Math.round(peak.arrayBuffers / MiB),
      external: Math.round(peak.external / MiB),
    },
  });
}

// ---- the parent's side ----

const ROOT = join(dirname(SELF), "../../..");
const COMPILED_DIR = join(ROOT, "dist/scripts/bench/lib");

/** Every .ts under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

let compiled: string | undefined;

/**
 * The roles as compiled JavaScript: this file and helia.ts transpiled (types stripped, `.ts` imports rewritten to
 * `.js`) into dist/scripts/bench/lib/, so their keeper imports resolve to `npm run build`'s dist/keeper/. Refuses a
 * build older than any keeper source: a stale build would measure other code.
 */
function compiledRoles(): string {
  if (compiled !== undefined) return compiled;
  if (SELF.endsWith(".js")) return (compiled = SELF);
  const stale = sources(join(ROOT, "keeper")).filter((src) => {
    const out = join(ROOT, "dist", relative(ROOT, src)).replace(/\.ts$/, ".js");
    try {
      return statSync(out).mtimeMs < statSync(src).mtimeMs;
    } catch {
      return !src.endsWith(".d.ts");
    }
  });
  if (stale.length > 0) {
    throw new Error(
      `dist/ is older than ${relative(ROOT, stale[0])} (and ${stale.length - 1} more): run \`npm run build\` ` +
        "(npm run bench:transfer does), or BENCH_RUNTIME=tsx to run the children from the sources",
    );
  }
  const require = createRequire(import.meta.url);
  const ts = require("typescript") as typeof import("typescript");
  mkdirSync(COMPILED_DIR, { recursive: true });
  for (const name of ["transfer-roles", "helia"]) {
    const { outputText } = ts.transpileModule(readFileSync(join(dirname(SELF), `${name}.ts`), "utf8"), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        verbatimModuleSyntax: true,
        rewriteRelativeImportExtensions: true,
      },
      fileName: `${name}.ts`,
    });
    writeFileSync(join(COMPILED_DIR, `${name}.js`), outputText);
  }
  return (compiled = join(COMPILED_DIR, "transfer-roles.js"));
}

export function spawn(
  args: string[],
  init?: TransferInit,
  yamux?: YamuxMuxerInit,
): { child: ChildProcess; next(): Promise<Msg> } {
  // BENCH_PROFILE_DIR=dir writes a CPU profile of every child process there (to find where time goes).
  const profile = process.env.BENCH_PROFILE_DIR;
  const tsx = process.env.BENCH_RUNTIME === "tsx";
  const entry = tsx ? SELF : compiledRoles();
  const execArgv = [
    ...(tsx ? ["--import", "tsx"] : []),
    ...(profile !== undefined ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
  ];
  const env = {
    ...process.env,
    ...(init !== undefined && { BENCH_FETCH_INIT: JSON.stringify(init) }),
    ...(yamux !== undefined && { BENCH_YAMUX: JSON.stringify(yamux) }),
  };
  const child = fork(entry, args, { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const queue: Msg[] = [];
  let waiting: { resolve(m: Msg): void; reject(e: Error): void } | undefined;
  child.on("message", (m) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w.resolve(m as Msg);
    } else queue.push(m as Msg);
  });
  child.once("exit", (code) => waiting?.reject(new Error(`child ${args[1]} exited with ${code}`)));
  return {
    child,
    next: () =>
      new Promise<Msg>((resolve, reject) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        if (child.exitCode !== null) return reject(new Error(`child ${args[1]} exited with ${child.exitCode}`));
        waiting = { resolve, reject };
      }),
  };
}

export async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.send("stop");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (c.exitCode === null) c.kill("SIGKILL");
}

/** CPU milliseconds a child used so far (it answers "cpu" with them). */
export async function cpuOf(c: ChildProcess, next: () => Promise<Msg>): Promise<number> {
  c.send("cpu");
  return (await next()).cpuMs as number;
}

const args = process.argv.slice(2);
if (args[0] === "--role") {
  const [, role, ...rest] = args;
  const run =
    role === "raw-server"
      ? roleRawServer()
      : role === "raw-client"
        ? roleRawClient(rest[0], Number(rest[1]))
        : role === "provider"
          ? roleProvider(rest)
          : role === "helia-provider"
            ? roleHeliaProvider(rest[0])
            : role === "helia-consumer"
              ? roleHeliaConsumer(rest[0], rest[1], rest[2])
              : roleConsumer(rest[0], rest.slice(2), rest[1]);
  run.catch((err) => {
    process.stderr.write(`bench ${role} failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
