/**
 * Writes an epoch tree as a StandardMerkleTree dump (JSON, format "standard-v1"), the file third-
 * party tools load with `StandardMerkleTree.load(JSON.parse(text))`. Streams the JSON in chunks,
 * so a million-leaf dump never sits in memory as one string, and renames into place at the end,
 * so readers never see a half-written dump.
 */
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type { MerkleTree } from "../merkle/tree.ts";

/**
 * Writes `tree.dumpChunks()` to `path` (through `path.tmp-<pid>` then a rename).
 *
 * @returns the number of bytes written
 */
export async function writeDump(
  tree: MerkleTree,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const tmp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  try {
    await pipeline(Readable.from(tree.dumpChunks(), { objectMode: false }), out, { signal: options.signal });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return out.bytesWritten;
}
