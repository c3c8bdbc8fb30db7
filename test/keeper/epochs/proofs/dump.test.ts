import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { writeDump } from "../../../../keeper/epochs/proofs/dump.ts";
import { buildTree, REWARD_LEAF_ENCODING } from "../../../../keeper/epochs/merkle/tree.ts";
import { prng, randomValues, runSeed } from "../leaves.ts";

const SEED = runSeed();

describe("epochs/dump", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lumora-dump-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a dump StandardMerkleTree.load accepts, with the same root and proofs", async () => {
    const values = randomValues(prng(SEED), REWARD_LEAF_ENCODING, 3000);
    const tree = buildTree(values, REWARD_LEAF_ENCODING);
    const path = join(dir, "epoch-1.json");
    const bytes = await writeDump(tree, path);

    const text = await readFile(path, "utf8");
    assert.equal(Buffer.byteLength(text), bytes);
    const loaded = StandardMerkleTree.load(JSON.parse(text));
    assert.equal(loaded.root, tree.root, `seed=${SEED}`);
    for (const i of [0, 1, 1500, 2999])
      assert.deepEqual(loaded.getProof(i), tree.getProof(i), `proof ${i}, seed=${SEED}`);
    assert.deepEqual(await readdir(dir), ["epoch-1.json"], "no temporary file left");
  });

  it("leaves no file behind when aborted", async () => {
    const tree = buildTree(randomValues(prng(SEED), REWARD_LEAF_ENCODING, 100), REWARD_LEAF_ENCODING);
    await assert.rejects(writeDump(tree, join(dir, "epoch-2.json"), { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
    assert.deepEqual(await readdir(dir), []);
  });
});
