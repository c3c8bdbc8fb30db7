/**
 * Transfer benchmark: `npm run bench:transfer`. Prints one JSON object per line ({metric, value, unit, …}):
 *   pipeline.mibps                      in-memory hash+compress+encrypt+decrypt+verify, one core
 *   transfer.cpu_ms_per_mib.<stage>     CPU time per MiB of each mandatory stage (lib/stages.ts), and of the
 *                                       libp2p stack (tcp+noise+yamux) and of a whole transfer on each side
 *   libp2p.raw_mibps                    raw libp2p stream between two processes (no app crypto)
 *   transfer.mibps.{compressible,random}.1src, transfer.mibps.random.3src   full transfers, separate processes
 *   transfer.helia.mibps.random         Helia (bitswap, UnixFS 1 MiB chunks) over the same libp2p stack, to file
 *   transfer.ratio_vs_raw.random        random.1src ÷ raw;  transfer.ratio_vs_helia.random  random.1src ÷ Helia
 *   transfer.rss_mib.1gib               peak RSS of the receiving process fetching a 1 GiB object
 * Each role runs in a child process (this same file with --role); the parent only orchestrates. The machine
 * may be shared, so runs are interleaved in rounds and every ratio is taken between runs of one round.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";

import { createLogger } from "../../keeper/logger.ts";
import { createLumoraNode } from "../../keeper/p2p/node.ts";
import { openStore } from "../../keeper/store/index.ts";
import { COMPRESSION_CODE, compressPart, decompressPart } from "../../keeper/transfer/compression.ts";
import { DEFAULT_PART_SIZE, SHARED_REQUESTS_IN_FLIGHT } from "../../keeper/transfer/constants.ts";
import { openPart, sealPart } from "../../keeper/transfer/crypto.ts";
import { transferService, type TransferInit } from "../../keeper/transfer/index.ts";
import { Compression } from "../../keeper/transfer/pb/transfer.ts";
import { heliaFetch, heliaProvide } from "./lib/helia.ts";
import { measureStages } from "./lib/stages.ts";

const MiB = 1024 * 1024;
const RAW_PROTOCOL = "/lumora/bench-raw/1.0.0";
const SELF = fileURLToPath(import.meta.url);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Unit of each metric, from its name: throughputs in MiB/s, ratios, peak memory in MiB. */
function unitOf(metric: string): string {
  if (metric.includes("ratio")) return "ratio";
  if (metric.includes("rss_mib")) return "MiB";
  if (metric.includes("cpu_ms_per_mib")) return "ms/MiB";
  return "MiB/s";
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

function emit(metric: string, value: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    JSON.stringify({ metric, value: Math.round(value * 100) / 100, unit: unitOf(metric), ...extra }) + "\n",
  );
}

/** Text-like data that zstd level 1 compresses ≈ 3:1. */
function compressible(size: number): Buffer {
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

async function writeObject(path: string, size: number, kind: "random" | "compressible"): Promise<void> {
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

function pipelineMibps(data: Buffer): number {
  const key = randomBytes(32);
  const id = randomBytes(32);
  const parts = data.length / DEFAULT_PART_SIZE;
  const start = process.hrtime.bigint();
  for (let i = 0; i < parts; i++) {
    const part = data.subarray(i * DEFAULT_PART_SIZE, (i + 1) * DEFAULT_PART_SIZE);
    const hash = createHash("sha256").update(part).digest();
    const packed = compressPart(Compression.ZSTD, part);
    const code = COMPRESSION_CODE[packed.compression];
    const sealed = Buffer.concat(sealPart(key, BigInt(i), id, i, code, packed.data));
    const plain = decompressPart(packed.compression, openPart(key, BigInt(i), id, i, code, sealed), part.length, i);
    if (!createHash("sha256").update(plain).digest().equals(hash)) throw new Error("pipeline mismatch");
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return data.length / MiB / s;
}

// ---- child roles ----

type Msg = Record<string, unknown>;

async function roleRawServer(): Promise<void> {
  const node = await createLumoraNode();
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
  const node = await createLumoraNode();
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
  const node = await createLumoraNode();
  const store = openStore(":memory:");
  const logger = createLogger("bench", { level: "warn" });
  const transfer = transferService()({ node, privateKey: await generateKeyPair("Ed25519"), store, logger });
  await transfer.start();
  const objects: string[] = [];
  for (const f of files) objects.push((await transfer.publish(f, { announce: false })).objectId);
  process.send!({ addr: node.getMultiaddrs()[0].toString(), objects });
  serveParent(async () => {
    await transfer.stop();
    await node.stop();
  });
}

async function roleHeliaProvider(file: string): Promise<void> {
  const provider = await heliaProvide(file);
  process.send!({ addr: provider.addr, cid: provider.cid });
  serveParent(() => provider.stop());
}

async function roleHeliaConsumer(addr: string, cid: string, to: string): Promise<void> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const size = await heliaFetch(addr, cid, to);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const used = cpuMs(cpu);
  await rm(to, { force: true });
  process.send!({ mibps: size / MiB / s, cpuMsPerMib: used / (size / MiB) });
}

async function roleConsumer(objectId: string, providers: string[], to: string): Promise<void> {
  const privateKey = await generateKeyPair("Ed25519");
  const node = await createLumoraNode({ privateKey });
  const store = openStore(":memory:");
  const logger = createLogger("bench", { level: "warn" });
  // BENCH_FETCH_INIT='{"requestsPerProvider":2}' tries other fetch tunables (to tune the defaults by measurement).
  const init = JSON.parse(process.env.BENCH_FETCH_INIT ?? "{}") as TransferInit;
  const transfer = transferService(init)({ node, privateKey, store, logger });
  await transfer.start();
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
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
  await transfer.stop();
  await node.stop();
  store.close();
  if (to !== "-") await rm(to, { force: true });
  process.send!({
    mibps: size / MiB / s,
    cpuMsPerMib: used / (size / MiB),
    maxRssMib: peakRssMib(),
    providers: parts,
  });
}

// ---- orchestration ----

function spawn(args: string[], init?: TransferInit): { child: ChildProcess; next(): Promise<Msg> } {
  // BENCH_PROFILE_DIR=dir writes a CPU profile of every child process there (to find where time goes).
  const profile = process.env.BENCH_PROFILE_DIR;
  const execArgv = ["--import", "tsx", ...(profile !== undefined ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])];
  const env = init === undefined ? process.env : { ...process.env, BENCH_FETCH_INIT: JSON.stringify(init) };
  const child = fork(SELF, args, { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
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

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.send("stop");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (c.exitCode === null) c.kill("SIGKILL");
}

async function main(): Promise<void> {
  const size = Number(process.env.BENCH_SIZE_MIB ?? 256) * MiB;
  const bigSize = Number(process.env.BENCH_BIG_MIB ?? 1024) * MiB;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  const dir = await mkdtemp(join(tmpdir(), "lumora-bench-transfer-"));
  try {
    const sample = compressible(64 * MiB);
    emit("pipeline.mibps", pipelineMibps(sample), { data: "compressible", partBytes: DEFAULT_PART_SIZE });
    emit("pipeline.mibps.random", pipelineMibps(randomBytes(64 * MiB)), {
      data: "random",
      partBytes: DEFAULT_PART_SIZE,
    });
    const stages = await measureStages(dir);
    const side: Record<string, string> = {
      read: "provider",
      compress: "provider",
      encrypt: "provider",
      decrypt: "consumer",
      hash: "consumer",
      decrypt_hash: "consumer",
      write: "consumer",
    };
    for (const [stage, ms] of Object.entries(stages)) {
      emit(`transfer.cpu_ms_per_mib.${stage}`, ms, { side: side[stage], load: load() });
    }

    const raw = spawn(["--role", "raw-server"]);
    const { addr: rawAddr } = await raw.next();
    const cpuOf = async (c: ChildProcess, next: () => Promise<Msg>): Promise<number> => {
      c.send("cpu");
      return (await next()).cpuMs as number;
    };
    const rawRun = async (): Promise<{ mibps: number; consumer: number; provider: number }> => {
      const before = await cpuOf(raw.child, raw.next);
      const client = spawn(["--role", "raw-client", String(rawAddr), String(size)]);
      const r = await client.next();
      const after = await cpuOf(raw.child, raw.next);
      return {
        mibps: r.mibps as number,
        consumer: r.cpuMsPerMib as number,
        provider: (after - before) / (size / MiB),
      };
    };

    const files = {
      compressible: join(dir, "compressible.bin"),
      random: join(dir, "random.bin"),
      big: join(dir, "big.bin"),
    };
    await writeObject(files.compressible, size, "compressible");
    await writeObject(files.random, size, "random");
    await writeObject(files.big, bigSize, "random");

    const providers = [0, 1, 2].map(() => spawn(["--role", "provider", files.compressible, files.random, files.big]));
    const ready = await Promise.all(providers.map((p) => p.next()));
    const addrs = ready.map((r) => r.addr as string);
    const [compressibleId, randomId, bigId] = ready[0].objects as string[];
    const helia = spawn(["--role", "helia-provider", files.random]);
    const { addr: heliaAddr, cid: heliaCid } = await helia.next();

    const fetch = async (
      objectId: string,
      from: string[],
      to = join(dir, "out.bin"),
      init?: TransferInit,
    ): Promise<Msg> => {
      const c = spawn(["--role", "consumer", objectId, to, ...from], init);
      return c.next();
    };
    /** A Lumora fetch from the first provider, with the provider's CPU per MiB over the run. */
    const fetchOne = async (objectId: string, to?: string): Promise<Msg & { providerCpu: number }> => {
      const before = await cpuOf(providers[0].child, providers[0].next);
      const r = await fetch(objectId, addrs.slice(0, 1), to);
      const after = await cpuOf(providers[0].child, providers[0].next);
      return { ...r, providerCpu: (after - before) / (size / MiB) };
    };

    const comp = await fetch(compressibleId, addrs.slice(0, 1));
    emit("transfer.mibps.compressible.1src", comp.mibps as number, { bytes: size, budget: ">= 150", load: load() });
    // Warm the other providers (their first serve of each part runs the compression trial), as provider 0 is.
    await fetch(randomId, addrs.slice(1, 2), "-");
    await fetch(randomId, addrs.slice(2, 3), "-");

    const runs: Record<string, number[]> = {};
    const add = (k: string, v: number) => (runs[k] ??= []).push(v);
    // Each ratio is taken between adjacent runs: raw, file, 3src, file, raw, stream, 3src shared, helia. 3src
    // is compared with the 1src runs to file on either side of it (like for like: all three write the file).
    for (let r = 0; r < rounds; r++) {
      const before = await rawRun();
      const file = await fetchOne(randomId);
      const three = await fetch(randomId, addrs);
      const file2 = await fetchOne(randomId);
      const after = await rawRun();
      const stream = await fetchOne(randomId, "-");
      // The former scheduler: every source gets requests from the start (the credit shared by all).
      const shared = await fetch(randomId, addrs, undefined, {
        adaptiveSources: false,
        requestsInFlight: SHARED_REQUESTS_IN_FLIGHT,
      });
      const hel = await spawn([
        "--role",
        "helia-consumer",
        String(heliaAddr),
        String(heliaCid),
        join(dir, "h.bin"),
      ]).next();
      const rawMean = (before.mibps + after.mibps) / 2;
      add("raw", before.mibps);
      add("raw", after.mibps);
      add("noise.consumer", (before.consumer + after.consumer) / 2);
      add("noise.provider", (before.provider + after.provider) / 2);
      add("file", file.mibps as number);
      add("file", file2.mibps as number);
      add("total.consumer", file.cpuMsPerMib as number);
      add("total.consumer", file2.cpuMsPerMib as number);
      add("total.provider", file.providerCpu);
      add("total.provider", file2.providerCpu);
      add("stream", stream.mibps as number);
      add("3src", three.mibps as number);
      add("3src.providers", (three.providers as number[]).filter((n) => n > 0).length);
      add("3src_vs_1src", (three.mibps as number) / (((file.mibps as number) + (file2.mibps as number)) / 2));
      add("3src.shared", shared.mibps as number);
      add("3src.shared_vs_1src", (shared.mibps as number) / (((file.mibps as number) + (file2.mibps as number)) / 2));
      add("helia", hel.mibps as number);
      add("helia.consumer", hel.cpuMsPerMib as number);
      add("ratio_raw", (file.mibps as number) / rawMean);
      add("ratio_raw.stream", (stream.mibps as number) / after.mibps);
      add("ratio_helia", (file2.mibps as number) / (hel.mibps as number));
      add("load", load()[0]);
    }
    await stopChild(raw.child);
    await stopChild(helia.child);
    const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
    const m = (k: string) => median(runs[k]);
    const at = { load: round(runs.load), runs: undefined as unknown };
    const show = (k: string) => ({ ...at, runs: round(runs[k]) });
    emit("transfer.cpu_ms_per_mib.noise.consumer", m("noise.consumer"), {
      what: "raw libp2p stream: tcp+noise+yamux",
      ...show("noise.consumer"),
    });
    emit("transfer.cpu_ms_per_mib.noise.provider", m("noise.provider"), {
      what: "raw libp2p stream: tcp+noise+yamux",
      ...show("noise.provider"),
    });
    emit("transfer.cpu_ms_per_mib.total.consumer", m("total.consumer"), {
      what: "whole random.1src fetch to file",
      ...show("total.consumer"),
    });
    emit("transfer.cpu_ms_per_mib.total.provider", m("total.provider"), {
      what: "serving random.1src",
      ...show("total.provider"),
    });
    emit("transfer.cpu_ms_per_mib.helia.consumer", m("helia.consumer"), show("helia.consumer"));
    emit("libp2p.raw_mibps", m("raw"), { bytes: size, ...show("raw") });
    emit("transfer.mibps.random.1src", m("file"), { bytes: size, to: "file", ...show("file") });
    emit("transfer.mibps.random.1src.stream", m("stream"), { bytes: size, to: "stream, no disk", ...show("stream") });
    emit("transfer.mibps.random.3src", m("3src"), { bytes: size, to: "file", ...show("3src") });
    emit("transfer.ratio_3src_vs_1src.random", m("3src_vs_1src"), {
      budget: ">= 1",
      vs: "the 1src runs to file before and after",
      providersUsed: runs["3src.providers"],
      ...show("3src_vs_1src"),
    });
    emit("transfer.mibps.random.3src.shared", m("3src.shared"), {
      bytes: size,
      to: "file",
      what: "every source from the start, credit shared (the former scheduler)",
      ...show("3src.shared"),
    });
    emit("transfer.ratio_3src_shared_vs_1src.random", m("3src.shared_vs_1src"), {
      vs: "the same 1src runs to file as 3src",
      ...show("3src.shared_vs_1src"),
    });
    emit("transfer.helia.mibps.random", m("helia"), { bytes: size, to: "file", ...show("helia") });
    emit("transfer.ratio_vs_raw.random", m("ratio_raw"), { budget: ">= 0.65", to: "file", ...show("ratio_raw") });
    emit("transfer.ratio_vs_raw.random.stream", m("ratio_raw.stream"), {
      to: "stream, no disk",
      ...show("ratio_raw.stream"),
    });
    emit("transfer.ratio_vs_helia.random", m("ratio_helia"), { budget: ">= 1.5", to: "file", ...show("ratio_helia") });
    const big = await fetch(bigId, addrs.slice(0, 1));
    emit("transfer.rss_mib.1gib", big.maxRssMib as number, {
      bytes: bigSize,
      mibps: big.mibps,
      budget: "<= 256",
      load: load(),
    });

    await Promise.all(providers.map((p) => stopChild(p.child)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
