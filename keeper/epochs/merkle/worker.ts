/**
 * Entry of a hashing worker thread (see merkle/parallel.ts): runs each job it is posted and reports
 * only failures; progress goes through the shared control counters.
 */
import { parentPort } from "node:worker_threads";

import { type MerkleWorkerFailure, type MerkleWorkerJob, runLeavesJob, runNodesJob } from "./jobs.ts";

if (parentPort === null) throw new Error("merkle-worker.ts must run as a worker thread");
const port = parentPort;

port.on("message", (job: MerkleWorkerJob) => {
  try {
    if (job.kind === "leaves") runLeavesJob(job);
    else runNodesJob(job);
  } catch (err) {
    const failure: MerkleWorkerFailure = { message: err instanceof Error ? err.message : String(err) };
    port.postMessage(failure);
  }
});
