import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MerkleEmptyTreeError, MerkleLeafValueError } from "../../../../keeper/epochs/merkle/errors.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING } from "../../../../keeper/epochs/merkle/tree.ts";
import { buildTreeParallel } from "../../../../keeper/epochs/merkle/parallel.ts";
import { prng, randomValues, runSeed } from "../leaves.ts";

const SEED = runSeed();

/** Forces the worker path on small trees: every tree and every level is split into many chunks. */
const FORCE = { workers: 2, minParallelLeaves: 1, minParallelLevelNodes: 1, leafChunk: 7, nodeChunk: 5 };

describe("epochs/merkle-parallel", () => {
  for (const [schema, types] of [
    ["reward", REWARD_LEAF_ENCODING],
    ["task", TASK_LEAF_ENCODING],
  ] as const) {
    it(`builds the same tree as buildTree with workers (${schema})`, async () => {
      const rand = prng(SEED ^ schema.length);
      for (const n of [1, 2, 3, 4, 5, 17, 255, 256, 257, 1000, 4099]) {
        const values = randomValues(rand, types, n);
        const at = `seed=${SEED} schema=${schema} n=${n}`;
        const expected = buildTree(values, types);
        const tree = await buildTreeParallel(values, types, FORCE);
        assert.equal(tree.root, expected.root, `root, ${at}`);
        assert.deepEqual(tree.treeIndices, expected.treeIndices, `tree indices, ${at}`);
        assert.deepEqual(Buffer.from(tree.nodes), Buffer.from(expected.nodes), `nodes, ${at}`);
      }
    });
  }

  it("builds the same tree with default thresholds above the parallel minimum", async () => {
    const values = randomValues(prng(SEED + 1), REWARD_LEAF_ENCODING, 20_000);
    const tree = await buildTreeParallel(values, REWARD_LEAF_ENCODING, { workers: 1 });
    assert.equal(tree.root, buildTree(values, REWARD_LEAF_ENCODING).root, `seed=${SEED}`);
  });

  it("throws MerkleEmptyTreeError for no leaves", async () => {
    await assert.rejects(buildTreeParallel([], REWARD_LEAF_ENCODING, FORCE), MerkleEmptyTreeError);
  });

  it("reports a bad value in the workers' share and in its own", async () => {
    for (const badIndex of [0, 99]) {
      const values = randomValues(prng(SEED + 2), ["uint8"], 100, true);
      values[badIndex] = ["256"];
      await assert.rejects(
        buildTreeParallel(values, ["uint8"], FORCE),
        (err: unknown) => err instanceof MerkleLeafValueError && err.valueIndex === badIndex,
        `bad value at ${badIndex}`,
      );
    }
  });

  it("rejects with the signal's reason when aborted", async () => {
    const values = randomValues(prng(SEED + 3), REWARD_LEAF_ENCODING, 5000);
    const controller = new AbortController();
    const reason = new Error("shutting down");
    controller.abort(reason);
    await assert.rejects(
      buildTreeParallel(values, REWARD_LEAF_ENCODING, { ...FORCE, signal: controller.signal }),
      (err) => err === reason,
    );
  });
});
