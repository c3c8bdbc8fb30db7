import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { keccak_256 } from "@noble/hashes/sha3.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import {
  MerkleEmptyTreeError,
  MerkleIndexError,
  MerkleLeafArityError,
  MerkleLeafValueError,
  MerkleUnsupportedTypeError,
} from "../../../../keeper/epochs/merkle/errors.ts";
import {
  buildTree,
  hashEncodedLeaves,
  LeafEncoder,
  leafHashOf,
  REWARD_LEAF_ENCODING,
  sortLeaves,
  TASK_LEAF_ENCODING,
  toHex,
  verifyProof,
} from "../../../../keeper/epochs/merkle/tree.ts";
import { prng, randomValues, runSeed } from "../leaves.ts";

const SEED = runSeed();
const SCHEMAS = { reward: REWARD_LEAF_ENCODING, task: TASK_LEAF_ENCODING } as const;

/** 1, 2, 3, powers of two ± 1 up to 257, 300, and random sizes in 1..300. */
function sizes(rand: () => number): number[] {
  const out = new Set([1, 2, 3, 300]);
  for (let p = 4; p <= 256; p *= 2) [p - 1, p, p + 1].forEach((s) => out.add(s));
  for (let i = 0; i < 8; i++) out.add(1 + Math.floor(rand() * 300));
  return [...out].sort((a, b) => a - b);
}

describe("epochs/merkle", () => {
  for (const [schema, types] of Object.entries(SCHEMAS)) {
    it(`matches StandardMerkleTree on random ${schema} leaves (root, leaf hashes, proofs, dump)`, () => {
      const rand = prng(SEED ^ schema.length);
      for (const n of sizes(rand)) {
        const values = randomValues(rand, types, n);
        const at = `seed=${SEED} schema=${schema} n=${n}`;
        const oz = StandardMerkleTree.of(values, [...types]);
        const ours = buildTree(values, types);

        assert.equal(ours.root, oz.root, `root, ${at}`);
        assert.equal(ours.size, n, `size, ${at}`);
        assert.deepEqual(ours.dump(), oz.dump(), `dump, ${at}`);
        for (let i = 0; i < n; i++) {
          assert.equal(ours.leafHash(i), oz.leafHash(values[i]!), `leafHash(${i}), ${at}`);
          assert.equal(ours.leafHash(i), leafHashOf(values[i]!, types), `leafHashOf(${i}), ${at}`);
          assert.deepEqual(ours.getProof(i), oz.getProof(i), `getProof(${i}), ${at}`);
          assert.ok(verifyProof(ours.root, ours.leafHash(i), ours.getProof(i)), `verifyProof(${i}), ${at}`);
        }

        const loaded = StandardMerkleTree.load(ours.dump());
        assert.equal(loaded.root, ours.root, `loaded root, ${at}`);
        // Our proofs equal StandardMerkleTree's for every leaf (above), so its verifiers accepting them is its own
        // consistency: checked at the ends only.
        for (const i of new Set([0, n - 1])) {
          assert.ok(loaded.verify(i, ours.getProof(i)), `loaded.verify(${i}), ${at}`);
          assert.ok(
            StandardMerkleTree.verify(ours.root, [...types], values[i]!, ours.getProof(i)),
            `static verify(${i}), ${at}`,
          );
        }
      }
    });

    it(`streams a dump identical to JSON.stringify of StandardMerkleTree's (${schema})`, () => {
      const rand = prng(SEED + 7);
      for (const n of [1, 2, 5, 64, 129]) {
        const values = randomValues(rand, types, n, true);
        const at = `seed=${SEED} schema=${schema} n=${n}`;
        const oz = StandardMerkleTree.of(values, [...types]);
        const text = [...buildTree(values, types).dumpChunks(100)].join("");
        assert.equal(text, JSON.stringify(oz.dump()), `dump text, ${at}`);
        assert.equal(StandardMerkleTree.load(JSON.parse(text)).root, oz.root, `loaded root, ${at}`);
      }
    });
  }

  it("writes bigints and byte arrays into the dump in a form StandardMerkleTree loads", () => {
    const rand = prng(SEED + 11);
    const values = randomValues(rand, TASK_LEAF_ENCODING, 50);
    const tree = buildTree(values, TASK_LEAF_ENCODING);
    const loaded = StandardMerkleTree.load(JSON.parse([...tree.dumpChunks()].join("")));
    assert.equal(loaded.root, tree.root, `seed=${SEED}`);
  });

  it("hashes one-block leaves exactly like keccak_256 twice, for every word-aligned width", () => {
    const rand = prng(SEED + 13);
    for (let width = 4; width <= 160; width += 4) {
      const count = 5;
      const encoded = new Uint8Array(width * count).map(() => Math.floor(rand() * 256));
      const out = new Uint8Array(32 * count);
      hashEncodedLeaves(encoded, width, count, out, 0);
      for (let j = 0; j < count; j++) {
        const expected = keccak_256(keccak_256(encoded.subarray(j * width, (j + 1) * width)));
        assert.equal(toHex(out, j * 32, 32), toHex(expected), `seed=${SEED} width=${width} leaf=${j}`);
      }
    }
  });

  /** Asserts `order` lists every index once, ascending by hash, equal hashes by index. */
  function assertLeafOrder(hashes: Uint8Array, order: Uint32Array, at: string): void {
    const seen = new Uint8Array(order.length);
    for (const i of order) seen[i] = 1;
    assert.ok(
      seen.every((x) => x === 1),
      `order is a permutation, ${at}`,
    );
    for (let k = 1; k < order.length; k++) {
      const a = order[k - 1]!;
      const b = order[k]!;
      const cmp = Buffer.compare(hashes.subarray(a * 32, a * 32 + 32), hashes.subarray(b * 32, b * 32 + 32));
      if (!(cmp < 0 || (cmp === 0 && a < b))) assert.fail(`leaves ${a} and ${b} out of order at ${k}, ${at}`);
    }
  }

  it("orders leaves sharing long hash prefixes by their full hash, ties by input order", () => {
    const rand = prng(SEED + 17);
    const n = 2000;
    const hashes = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) {
      // Few distinct first bytes and a small alphabet: many equal prefixes and some equal hashes.
      for (let k = 0; k < 32; k++) hashes[i * 32 + k] = k < 6 || k === 31 ? Math.floor(rand() * 3) : 7;
    }
    assertLeafOrder(hashes, sortLeaves(hashes, n), `seed=${SEED}`);
  });

  it("orders more than 2^21 leaves (shorter sort-key prefix) correctly", () => {
    const rand = prng(SEED + 19);
    const n = 2 ** 21 + 3;
    const hashes = new Uint8Array(n * 32);
    for (let i = 0; i < hashes.length; i += 4) {
      const r = Math.floor(rand() * 2 ** 32);
      hashes[i] = r & 0xff;
      hashes[i + 1] = (r >>> 8) & 0xff;
      hashes[i + 2] = (r >>> 16) & 0x0f;
      hashes[i + 3] = r >>> 24;
    }
    assertLeafOrder(hashes, sortLeaves(hashes, n), `seed=${SEED}`);
  });

  it("encodes like abi.encode for the static types", () => {
    const encoder = new LeafEncoder(["uint8", "uint256", "address", "bytes4"]);
    const encoded = toHex(encoder.encode([255, "0x0102", "0x00000000000000000000000000000000000000Ff", "0xdeadbeef"]));
    assert.equal(
      encoded,
      "0x" + "ff".padStart(64, "0") + "0102".padStart(64, "0") + "ff".padStart(64, "0") + "deadbeef".padEnd(64, "0"),
    );
  });

  it("throws MerkleEmptyTreeError for no leaves", () => {
    assert.throws(() => buildTree([], REWARD_LEAF_ENCODING), MerkleEmptyTreeError);
  });

  it("throws MerkleLeafArityError when a value has the wrong number of fields", () => {
    assert.throws(
      () =>
        buildTree(
          [
            ["1", "2", "0x" + "11".repeat(20), "3"],
            ["1", "2", "3"],
          ],
          REWARD_LEAF_ENCODING,
        ),
      (err: unknown) =>
        err instanceof MerkleLeafArityError && err.valueIndex === 1 && err.expected === 4 && err.actual === 3,
    );
    assert.throws(() => buildTree(["not an array" as unknown as string[]], REWARD_LEAF_ENCODING), MerkleLeafArityError);
  });

  const bad: [string, string, unknown][] = [
    ["uint8", "uint8 above 255", 256],
    ["uint8", "uint8 above 255 as string", "256"],
    ["uint64", "uint64 above 2^64-1", 2n ** 64n],
    ["uint256", "a negative bigint", -1n],
    ["uint256", "a negative number", -1],
    ["uint256", "a fraction", 1.5],
    ["uint256", "an unsafe number", 2 ** 60],
    ["uint256", "an empty string", ""],
    ["uint256", "a non-numeric string", "12abc"],
    ["uint256", "a boolean", true],
    ["address", "a short address", "0x1234"],
    ["address", "an address without 0x", "11".repeat(20)],
    ["address", "an address with non-hex digits", "0x" + "zz".repeat(20)],
    ["address", "a 19-byte array", new Uint8Array(19)],
    ["bytes32", "a 31-byte hex string", "0x" + "00".repeat(31)],
    ["bytes32", "a number", 5],
  ];
  for (const [type, what, value] of bad) {
    it(`throws MerkleLeafValueError for ${what} (${type})`, () => {
      assert.throws(
        () => buildTree([[value]], [type]),
        (err: unknown) => err instanceof MerkleLeafValueError && err.field === 0 && err.type === type,
      );
    });
  }

  for (const type of ["string", "bytes", "int256", "bool", "uint7", "uint264", "bytes33", "uint256[]", "tuple"]) {
    it(`throws MerkleUnsupportedTypeError for ${type}`, () => {
      assert.throws(
        () => buildTree([[1]], [type]),
        (err: unknown) => err instanceof MerkleUnsupportedTypeError && err.type === type && err.position === 0,
      );
    });
  }

  it("throws MerkleIndexError for a proof of a value the tree does not have", () => {
    const tree = buildTree([["1"], ["2"]], ["uint256"]);
    for (const i of [-1, 2, 0.5, NaN]) {
      assert.throws(() => tree.getProof(i), MerkleIndexError, `getProof(${i})`);
      assert.throws(() => tree.leafHash(i), MerkleIndexError, `leafHash(${i})`);
    }
  });

  it("rejects a proof for another leaf", () => {
    const tree = buildTree([["1"], ["2"], ["3"]], ["uint256"]);
    assert.equal(verifyProof(tree.root, tree.leafHash(0), tree.getProof(1)), false);
  });
});
