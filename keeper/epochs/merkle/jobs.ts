/**
 * Jobs of the parallel tree builder, run by the calling thread and the worker threads alike: each
 * claims chunks from a counter shared by all threads until none is left, hashes them in shared
 * buffers and counts them done. Claiming instead of fixed shares means a thread that starts late
 * or gets less CPU simply takes fewer chunks.
 */
import { hashEncodedLeaves, hashNodeRange } from "./tree.ts";

/** Int32 slots per job in the control buffer: chunk claim counter, chunks done, chunks ready. */
export const JOB_SLOTS = 4;
export const CLAIM = 0;
export const DONE = 1;
export const READY = 2;

/** What the builder asks of a worker; buffers are views over SharedArrayBuffers. */
export type MerkleWorkerJob =
  | {
      kind: "leaves";
      control: Int32Array;
      job: number;
      chunks: number;
      chunkLeaves: number;
      leaves: number;
      encoded: Uint8Array;
      width: number;
      leafHashes: Uint8Array;
    }
  | {
      kind: "nodes";
      control: Int32Array;
      job: number;
      chunks: number;
      chunkNodes: number;
      lo: number;
      hi: number;
      nodes: Uint8Array;
    };

/** Sent only when hashing threw: the builder fails the build. */
export interface MerkleWorkerFailure {
  message: string;
}

/** Claims and hashes leaf chunks; waits for a chunk the calling thread has not encoded yet. */
export function runLeavesJob(job: Extract<MerkleWorkerJob, { kind: "leaves" }>): void {
  const { control, chunks, chunkLeaves, leaves, encoded, width, leafHashes } = job;
  const base = job.job * JOB_SLOTS;
  for (let c = Atomics.add(control, base + CLAIM, 1); c < chunks; c = Atomics.add(control, base + CLAIM, 1)) {
    for (let ready = Atomics.load(control, base + READY); ready <= c; ready = Atomics.load(control, base + READY)) {
      Atomics.wait(control, base + READY, ready);
    }
    const first = c * chunkLeaves;
    const count = Math.min(chunkLeaves, leaves - first);
    hashEncodedLeaves(encoded.subarray(first * width, (first + count) * width), width, count, leafHashes, first);
    Atomics.add(control, base + DONE, 1);
  }
}

/** Claims and hashes chunks of one tree level (nodes lo..hi). */
export function runNodesJob(job: Extract<MerkleWorkerJob, { kind: "nodes" }>): void {
  const { control, chunks, chunkNodes, lo, hi, nodes } = job;
  const base = job.job * JOB_SLOTS;
  for (let c = Atomics.add(control, base + CLAIM, 1); c < chunks; c = Atomics.add(control, base + CLAIM, 1)) {
    const from = lo + c * chunkNodes;
    hashNodeRange(nodes, from, Math.min(hi, from + chunkNodes - 1));
    Atomics.add(control, base + DONE, 1);
  }
}
