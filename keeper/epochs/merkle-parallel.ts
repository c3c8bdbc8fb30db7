/**
 * The same tree as `buildTree` (merkle.ts), with the keccak work spread over worker threads: a
 * million leaves need ~3 million keccak256 calls (~3 µs each in JS), too slow for one core.
 *
 * The calling thread ABI-encodes the workers' shares into shared buffers, hands them out, then
 * encodes and hashes its own share; it sorts the leaves alone (a native typed-array sort), then
 * every tree level is split between all threads, bottom up. All buffers are SharedArrayBuffers,
 * so nothing but small messages crosses threads.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

import { MERKLE_MAX_WORKERS, MERKLE_PARALLEL_MIN_LEAVES, MERKLE_PARALLEL_MIN_LEVEL_NODES } from "./constants.ts";
import { MerkleEmptyTreeError, MerkleWorkerError } from "./errors.ts";
import {
  buildTree,
  hashLeafValues,
  hashNodeRange,
  LeafEncoder,
  MerkleTree,
  placeLeaves,
  sortLeaves,
  WORD,
} from "./merkle.ts";
import type { MerkleWorkerReply, MerkleWorkerRequest } from "./merkle-worker.ts";

export interface BuildTreeParallelOptions {
  /** Extra hashing threads; default: all cores but this one (at most MERKLE_MAX_WORKERS). 0 builds on this thread. */
  workers?: number;
  /** Below this many leaves, build on this thread (default MERKLE_PARALLEL_MIN_LEAVES). */
  minParallelLeaves?: number;
  /** Tree levels with fewer nodes are hashed on this thread alone (default MERKLE_PARALLEL_MIN_LEVEL_NODES). */
  minParallelLevelNodes?: number;
  signal?: AbortSignal;
}

/**
 * Builds the StandardMerkleTree-identical tree of `values` using worker threads.
 *
 * @throws MerkleEmptyTreeError, MerkleUnsupportedTypeError, MerkleLeafArityError, MerkleLeafValueError,
 *   MerkleWorkerError, or the signal's reason when aborted
 */
export async function buildTreeParallel<T extends readonly unknown[]>(
  values: readonly T[],
  leafEncoding: readonly string[],
  options: BuildTreeParallelOptions = {},
): Promise<MerkleTree<T>> {
  const { signal } = options;
  signal?.throwIfAborted();
  const encoder = new LeafEncoder(leafEncoding);
  const n = values.length;
  if (n === 0) throw new MerkleEmptyTreeError();
  const workerCount = Math.max(
    0,
    Math.min(options.workers ?? availableParallelism() - 1, MERKLE_MAX_WORKERS, Math.floor(n / 2)),
  );
  if (workerCount === 0 || n < (options.minParallelLeaves ?? MERKLE_PARALLEL_MIN_LEAVES)) {
    return buildTree(values, leafEncoding);
  }

  // Started first: they load while this thread encodes.
  const pool = Array.from({ length: workerCount }, () => new HashingWorker());
  try {
    const threads = workerCount + 1;
    const minLevelNodes = options.minParallelLevelNodes ?? MERKLE_PARALLEL_MIN_LEVEL_NODES;
    const leafHashes = shared(n * WORD);
    const share = Math.ceil(n / threads);
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < workerCount; w++) {
      const from = Math.min(n, w * share);
      const count = Math.min(n, from + share) - from;
      if (count === 0) continue;
      const encoded = shared(count * encoder.width);
      const view = new DataView(encoded.buffer);
      for (let j = 0; j < count; j++) encoder.encodeInto(values[from + j], from + j, encoded, view, j * encoder.width);
      jobs.push(pool[w]!.run({ kind: "leaves", encoded, width: encoder.width, count, leafHashes, firstLeaf: from }));
    }
    hashLeafValues(values, encoder, Math.min(n, workerCount * share), n, leafHashes);
    await settle(jobs, signal);

    const nodes = shared((2 * n - 1) * WORD);
    const treeIndices = placeLeaves(leafHashes, sortLeaves(leafHashes, n), nodes);
    // Internal nodes are 0..n-2; level d holds 2^d-1 .. 2^(d+1)-2, and only needs level d+1.
    for (let d = n > 1 ? Math.floor(Math.log2(n - 1)) : -1; d >= 0; d--) {
      const lo = 2 ** d - 1;
      const hi = Math.min(2 ** (d + 1) - 2, n - 2);
      const count = hi - lo + 1;
      if (count < minLevelNodes) {
        hashNodeRange(nodes, lo, hi);
        continue;
      }
      const chunk = Math.ceil(count / threads);
      const levelJobs: Promise<void>[] = [];
      for (let w = 0; w < workerCount; w++) {
        const from = lo + w * chunk;
        const to = Math.min(hi, from + chunk - 1);
        if (from <= to) levelJobs.push(pool[w]!.run({ kind: "nodes", nodes, from, to }));
      }
      const mine = lo + workerCount * chunk;
      if (mine <= hi) hashNodeRange(nodes, mine, hi);
      await settle(levelJobs, signal);
    }
    return new MerkleTree(values, leafEncoding, nodes, treeIndices);
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

function shared(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes));
}

/** Awaits all jobs, or rejects as soon as one fails or the signal aborts. */
async function settle(jobs: Promise<void>[], signal: AbortSignal | undefined): Promise<void> {
  const all = Promise.all(jobs).then(() => undefined);
  if (signal === undefined) return all;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([all, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

/** One worker thread running one request at a time. */
class HashingWorker {
  private readonly worker: Worker;
  private pending: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL("./merkle-worker.ts", import.meta.url));
    this.worker.on("message", (reply: MerkleWorkerReply) => {
      const pending = this.pending;
      this.pending = undefined;
      if (reply.ok) pending?.resolve();
      else pending?.reject(new MerkleWorkerError(reply.message));
    });
    this.worker.on("error", (err) => this.fail(new MerkleWorkerError(err.message, { cause: err })));
    this.worker.on("exit", (code) => this.fail(new MerkleWorkerError(`exited with code ${code}`)));
  }

  run(request: MerkleWorkerRequest): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined) return Promise.reject(new MerkleWorkerError("worker is busy"));
    const done = new Promise<void>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    // The caller may stop awaiting (another job failed): never leave this rejection unhandled.
    done.catch(() => {});
    this.worker.postMessage(request);
    return done;
  }

  async terminate(): Promise<void> {
    this.failure ??= new MerkleWorkerError("terminated");
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}
