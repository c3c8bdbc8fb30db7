/**
 * Worker thread of the parallel tree builder: hashes the share of leaves or of a tree level it is
 * sent, in buffers shared with the calling thread (SharedArrayBuffer), and answers once done.
 */
import { parentPort } from "node:worker_threads";

import { hashEncodedLeaves, hashNodeRange } from "./merkle.ts";

/** What the builder asks of a worker; buffers are views over SharedArrayBuffers. */
export type MerkleWorkerRequest =
  | { kind: "leaves"; encoded: Uint8Array; width: number; count: number; leafHashes: Uint8Array; firstLeaf: number }
  | { kind: "nodes"; nodes: Uint8Array; from: number; to: number };

export type MerkleWorkerReply = { ok: true } | { ok: false; message: string };

if (parentPort === null) throw new Error("merkle-worker.ts must run as a worker thread");
const port = parentPort;

port.on("message", (request: MerkleWorkerRequest) => {
  let reply: MerkleWorkerReply;
  try {
    if (request.kind === "leaves") {
      hashEncodedLeaves(request.encoded, request.width, request.count, request.leafHashes, request.firstLeaf);
    } else {
      hashNodeRange(request.nodes, request.from, request.to);
    }
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
