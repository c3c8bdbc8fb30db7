/**
 * The keeper bundle operators run (dist/bundle/, scripts/bundle.mjs; `npm install` and `npm run build` make it):
 * the CLI tests run it through the launcher; this checks the part they never reach, the Merkle worker, which
 * merkle/parallel.ts starts from the folder of the module it runs in — dist/bundle/worker.js once bundled.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import { buildTree, REWARD_LEAF_ENCODING } from "../../../keeper/epochs/merkle/tree.ts";
import type { buildTreeParallel as BuildTreeParallel } from "../../../keeper/epochs/merkle/parallel.ts";
import { prng, randomValues, runSeed } from "../epochs/leaves.ts";

const BUNDLE = fileURLToPath(new URL("../../../dist/bundle/keeper.js", import.meta.url));
const WORKER = fileURLToPath(new URL("../../../dist/bundle/worker.js", import.meta.url));
const SEED = runSeed();

describe("cli/bundle", () => {
  // buildTreeParallel's own thread claims chunks too, so the tree comes out right even when no worker starts: this
  // is what shows the bundled worker loads and runs jobs (a job it cannot run comes back as a failure message).
  it("the bundled Merkle worker starts in a thread and answers a job", async () => {
    assert.ok(existsSync(WORKER), `${WORKER} is missing: run \`npm run build\``);
    const worker = new Worker(WORKER);
    try {
      const answer = new Promise<{ message?: unknown }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`the worker exited with code ${code}`)));
      });
      worker.postMessage({ kind: "nodes" });
      assert.equal(typeof (await answer).message, "string");
    } finally {
      await worker.terminate();
    }
  });

  it("the bundled Merkle worker builds the same tree as buildTree", async () => {
    assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: run \`npm run build\``);
    const { buildTreeParallel } = (await import(BUNDLE)) as { buildTreeParallel: typeof BuildTreeParallel };
    const values = randomValues(prng(SEED), REWARD_LEAF_ENCODING, 1000);
    const tree = await buildTreeParallel(values, REWARD_LEAF_ENCODING, {
      workers: 2,
      minParallelLeaves: 1,
      minParallelLevelNodes: 1,
      leafChunk: 7,
      nodeChunk: 5,
    });
    assert.equal(tree.root, buildTree(values, REWARD_LEAF_ENCODING).root, `seed=${SEED}`);
  });
});
