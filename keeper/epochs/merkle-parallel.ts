/**
 * The same tree as `buildTree` (merkle.ts), with the keccak work spread over worker threads: a
 * million leaves need ~3 million keccak256 calls (~2.5 µs each in JS), too slow for one core.
 *
 * The calling thread ABI-encodes the leaves chunk by chunk into a shared buffer; every thread
 * (this one included) claims encoded chunks from a shared counter and hashes them. This thread
 * sorts the leaves alone (a native typed-array sort), then each tree level, bottom up, is claimed
 * chunk by chunk the same way. All buffers are SharedArrayBuffers; the only messages are one job
 * description per phase. Because work is claimed rather than split up front, a worker that starts
 * late or gets little CPU (a busy machine) costs little: this thread just hashes more.
 */
import { availableParallelism } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import {
  MERKLE_LEAF_CHUNK,
  MERKLE_MAX_WORKERS,
  MERKLE_NODE_CHUNK,
  MERKLE_PARALLEL_MIN_LEAVES,
  MERKLE_PARALLEL_MIN_LEVEL_NODES,
} from "./constants.ts";
import { MerkleEmptyTreeError, MerkleWorkerError } from "./errors.ts";
import {
  buildTree,
  hashEncodedLeaves,
  hashNodeRange,
  LeafEncoder,
  MerkleTree,
  placeLeaves,
  sortLeaves,
  WORD,
} from "./merkle.ts";
import {
  CLAIM,
  DONE,
  JOB_SLOTS,
  type MerkleWorkerFailure,
  type MerkleWorkerJob,
  READY,
  runNodesJob,
} from "./merkle-jobs.ts";

export interface BuildTreeParallelOptions {
  /** Extra hashing threads; default: all cores but this one (at most MERKLE_MAX_WORKERS). 0 builds on this thread. */
  workers?: number;
  /** Below this many leaves, build on this thread (default MERKLE_PARALLEL_MIN_LEAVES). */
  minParallelLeaves?: number;
  /** Tree levels with fewer nodes are hashed on this thread alone (default MERKLE_PARALLEL_MIN_LEVEL_NODES). */
  minParallelLevelNodes?: number;
  /** Leaves per claimed chunk (default MERKLE_LEAF_CHUNK). */
  leafChunk?: number;
  /** Internal nodes per claimed chunk (default MERKLE_NODE_CHUNK). */
  nodeChunk?: number;
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
  const workerCount = Math.max(0, Math.min(options.workers ?? availableParallelism() - 1, MERKLE_MAX_WORKERS));
  if (workerCount === 0 || n < Math.max(2, options.minParallelLeaves ?? MERKLE_PARALLEL_MIN_LEAVES)) {
    return buildTree(values, leafEncoding);
  }

  // Started first: they load while this thread encodes.
  const pool = Array.from({ length: workerCount }, () => new HashingWorker());
  const depth = Math.floor(Math.log2(n - 1)); // of the deepest internal node (n ≥ 2)
  const control = new Int32Array(new SharedArrayBuffer((depth + 2) * JOB_SLOTS * 4));
  try {
    // Job 0: the leaves.
    const { width } = encoder;
    const chunkLeaves = options.leafChunk ?? MERKLE_LEAF_CHUNK;
    const chunks = Math.ceil(n / chunkLeaves);
    const encoded = shared(n * width);
    const view = new DataView(encoded.buffer);
    const leafHashes = shared(n * WORD);
    const leavesJob: MerkleWorkerJob = {
      kind: "leaves",
      control,
      job: 0,
      chunks,
      chunkLeaves,
      leaves: n,
      encoded,
      width,
      leafHashes,
    };
    for (const worker of pool) worker.post(leavesJob);
    let ready = 0;
    const encodeNext = (): void => {
      const first = ready * chunkLeaves;
      const end = Math.min(n, first + chunkLeaves);
      for (let i = first; i < end; i++) encoder.encodeInto(values[i], i, encoded, view, i * width);
      Atomics.store(control, READY, ++ready);
      Atomics.notify(control, READY);
    };
    try {
      // Keep one chunk ahead of this thread's claims so waiting workers always have one.
      if (ready < chunks) encodeNext();
      for (let c = Atomics.add(control, CLAIM, 1); c < chunks; c = Atomics.add(control, CLAIM, 1)) {
        while (ready <= c + 1 && ready < chunks) encodeNext();
        const first = c * chunkLeaves;
        const count = Math.min(chunkLeaves, n - first);
        hashEncodedLeaves(encoded.subarray(first * width, (first + count) * width), width, count, leafHashes, first);
        Atomics.add(control, DONE, 1);
      }
      while (ready < chunks) encodeNext();
    } catch (err) {
      // Release workers waiting for chunks that will never be encoded, so they can be terminated.
      Atomics.store(control, READY, chunks);
      Atomics.notify(control, READY);
      throw err;
    }
    await allDone(control, 0, chunks, pool, signal);

    const nodes = shared((2 * n - 1) * WORD);
    const treeIndices = placeLeaves(leafHashes, sortLeaves(leafHashes, n), nodes);
    // Internal nodes are 0..n-2; level d holds 2^d-1 .. 2^(d+1)-2 and only needs level d+1.
    const minLevelNodes = options.minParallelLevelNodes ?? MERKLE_PARALLEL_MIN_LEVEL_NODES;
    const chunkNodes = options.nodeChunk ?? MERKLE_NODE_CHUNK;
    for (let d = depth; d >= 0; d--) {
      const lo = 2 ** d - 1;
      const hi = Math.min(2 ** (d + 1) - 2, n - 2);
      const count = hi - lo + 1;
      if (count < minLevelNodes) {
        hashNodeRange(nodes, lo, hi);
        continue;
      }
      const job: MerkleWorkerJob = {
        kind: "nodes",
        control,
        job: 1 + d,
        chunks: Math.ceil(count / chunkNodes),
        chunkNodes,
        lo,
        hi,
        nodes,
      };
      for (const worker of pool) worker.post(job);
      runNodesJob(job);
      await allDone(control, job.job, job.chunks, pool, signal);
    }
    return new MerkleTree(values, leafEncoding, nodes, treeIndices);
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

function shared(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes));
}

/**
 * Waits until every chunk of `job` is hashed (at most the chunks workers are still on), yielding to
 * the event loop so worker failures and aborts are seen.
 */
async function allDone(
  control: Int32Array,
  job: number,
  chunks: number,
  pool: readonly HashingWorker[],
  signal: AbortSignal | undefined,
): Promise<void> {
  while (Atomics.load(control, job * JOB_SLOTS + DONE) < chunks) {
    for (const worker of pool) if (worker.failure !== undefined) throw worker.failure;
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  signal?.throwIfAborted();
}

/** One hashing worker thread; `failure` is set once it reports an error or exits. */
class HashingWorker {
  failure: MerkleWorkerError | undefined;
  private readonly worker: Worker;

  constructor() {
    // Its sibling as this module runs: merkle-worker.ts under tsx, merkle-worker.js compiled (dist/).
    this.worker = new Worker(new URL(`./merkle-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    this.worker.on("message", (failure: MerkleWorkerFailure) => {
      this.failure ??= new MerkleWorkerError(failure.message);
    });
    this.worker.on("error", (err) => {
      this.failure ??= new MerkleWorkerError(err.message, { cause: err });
    });
    this.worker.on("exit", (code) => {
      this.failure ??= new MerkleWorkerError(`exited with code ${code}`);
    });
  }

  post(job: MerkleWorkerJob): void {
    this.worker.postMessage(job);
  }

  async terminate(): Promise<void> {
    this.failure ??= new MerkleWorkerError("terminated");
    await this.worker.terminate();
  }
}
