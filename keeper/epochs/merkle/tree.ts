/**
 * Merkle trees identical to @openzeppelin/merkle-tree's StandardMerkleTree (same leaf hashes, leaf
 * order, array layout, root, proofs and `dump()`), built for epochs of a million leaves.
 *
 * Why not StandardMerkleTree itself: it keeps every node as a hex string, compares hashes through
 * BigInt and ABI-encodes through generic parsers, which takes ~18 s for 100,000 leaves here. This
 * module encodes the static types we use straight into one reusable buffer, keeps all nodes in one
 * Uint8Array (32 bytes each) and only makes hex strings on demand.
 *
 * Layout (as StandardMerkleTree): a complete binary tree in an array of 2n-1 nodes, node i has
 * children 2i+1 and 2i+2; the leaves, sorted ascending by hash (ties keep input order), fill the
 * end of the array in reverse, so the k-th smallest leaf is at 2n-2-k. A leaf is
 * keccak256(keccak256(abi.encode(types, value))); a parent is keccak256 of its two children in
 * ascending order (commutative, as OpenZeppelin's MerkleProof expects).
 *
 * Pure: no I/O. The parallel builder (merkle/parallel.ts) and the dump writer (proofs/dump.ts) sit on top.
 */
import { keccak_256, keccakP } from "@noble/hashes/sha3.js";

import { TASK_RECORD_LEAF_TYPES } from "../../tasks/records.ts";
import {
  MerkleEmptyTreeError,
  MerkleIndexError,
  MerkleLeafArityError,
  MerkleLeafValueError,
  MerkleUnsupportedTypeError,
} from "./errors.ts";

/** Leaf schema of RewardPool: (epoch, index, account, contribution C_i). */
export const REWARD_LEAF_ENCODING = ["uint64", "uint256", "address", "uint256"] as const;

/** Leaf schema of TaskLog: the tasks module's record encoding (tasks/records.ts), where its values are made. */
export const TASK_LEAF_ENCODING = TASK_RECORD_LEAF_TYPES;

/** Bytes per node hash and per ABI word. */
export const WORD = 32;

/** The JSON a StandardMerkleTree dump has; `StandardMerkleTree.load` accepts it. */
export interface StandardMerkleTreeDump<T extends readonly unknown[] = readonly unknown[]> {
  format: "standard-v1";
  leafEncoding: string[];
  tree: string[];
  values: { value: T; treeIndex: number }[];
}

// ---------------------------------------------------------------------------------------------
// Hex
// ---------------------------------------------------------------------------------------------

const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Nibble value per ASCII code, -1 where the character is not a hex digit. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) {
  NIBBLE[65 + c] = 10 + c;
  NIBBLE[97 + c] = 10 + c;
}

/** `0x`-prefixed lowercase hex of `len` bytes of `bytes` from `offset`. */
export function toHex(bytes: Uint8Array, offset = 0, len = bytes.length - offset): string {
  let s = "0x";
  for (let i = offset, end = offset + len; i < end; i++) s += BYTE_HEX[bytes[i]!];
  return s;
}

/** Writes the hex digits of `str` after its `0x` into `out` at `offset`; false when not hex. */
function writeHex(out: Uint8Array, offset: number, str: string): boolean {
  for (let i = 2, o = offset; i < str.length; i += 2, o++) {
    const hi = str.charCodeAt(i);
    const lo = str.charCodeAt(i + 1);
    const h = hi < 128 ? NIBBLE[hi]! : -1;
    const l = lo < 128 ? NIBBLE[lo]! : -1;
    if (h < 0 || l < 0) return false;
    out[o] = (h << 4) | l;
  }
  return true;
}

/** Parses one 32-byte `0x` hex string (a root or proof element). */
export function fromHex32(str: string): Uint8Array {
  const out = new Uint8Array(WORD);
  if (str.length !== 2 + 2 * WORD || !str.startsWith("0x") || !writeHex(out, 0, str)) {
    throw new TypeError(`expected a 0x-prefixed 32-byte hex string, got "${str}"`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Leaf encoding: every supported type is one static 32-byte ABI word
// ---------------------------------------------------------------------------------------------

/** Writes one ABI word at `offset`; returns an error reason instead of throwing (hot path). */
type WordEncoder = (out: Uint8Array, view: DataView, offset: number, value: unknown) => string | undefined;

const UINT_STRING = /^(?:0x[0-9a-fA-F]+|[0-9]+)$/;
/** Decimal strings below 10^15 (indices, epochs, most amounts) skip BigInt parsing. */
const SHORT_DECIMAL = /^[0-9]{1,15}$/;

function uintEncoder(bits: number): WordEncoder {
  const max = (1n << BigInt(bits)) - 1n;
  const maxSafe = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  const writeSafe = (out: Uint8Array, view: DataView, offset: number, value: number): undefined => {
    out.fill(0, offset, offset + 24);
    view.setUint32(offset + 24, Math.floor(value / 2 ** 32));
    view.setUint32(offset + 28, value >>> 0);
    return undefined;
  };
  return (out, view, offset, value) => {
    let v: bigint;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0 || value > maxSafe) {
        return `${value} is not a safe non-negative integer within uint${bits}`;
      }
      return writeSafe(out, view, offset, value);
    } else if (typeof value === "bigint") {
      v = value;
    } else if (typeof value === "string") {
      if (SHORT_DECIMAL.test(value)) {
        const n = Number(value);
        if (n <= maxSafe) return writeSafe(out, view, offset, n);
        return `${value} is out of range for uint${bits}`;
      }
      if (!UINT_STRING.test(value)) return `"${value}" is not a decimal or 0x-hex unsigned integer`;
      v = BigInt(value);
    } else {
      return `expected a bigint, number or numeric string, got ${typeof value}`;
    }
    if (v < 0n || v > max) return `${v} is out of range for uint${bits}`;
    if (v <= 0xffff_ffff_ffff_ffffn) {
      out.fill(0, offset, offset + 24);
      view.setBigUint64(offset + 24, v);
    } else {
      for (let o = offset + 24; o >= offset; o -= 8) {
        view.setBigUint64(o, BigInt.asUintN(64, v));
        v >>= 64n;
      }
    }
    return undefined;
  };
}

/** `bytesN` (left-aligned, zero-padded right) and `address` (right-aligned) share this. */
function fixedBytesEncoder(length: number, alignRight: boolean, type: string): WordEncoder {
  const start = alignRight ? WORD - length : 0;
  return (out, _view, offset, value) => {
    out.fill(0, offset, offset + WORD);
    if (typeof value === "string") {
      if (value.length !== 2 + 2 * length || !value.startsWith("0x")) {
        return `"${value}" is not a 0x-prefixed hex string of ${length} bytes`;
      }
      if (!writeHex(out, offset + start, value)) return `"${value}" is not valid hex`;
      return undefined;
    }
    if (value instanceof Uint8Array) {
      if (value.length !== length) return `expected ${length} bytes, got ${value.length}`;
      out.set(value, offset + start);
      return undefined;
    }
    return `expected a hex string or Uint8Array for ${type}, got ${typeof value}`;
  };
}

function wordEncoder(type: string, position: number): WordEncoder {
  if (type === "address") return fixedBytesEncoder(20, true, type);
  const uint = /^uint(\d+)$/.exec(type);
  if (uint) {
    const bits = Number(uint[1]);
    if (bits >= 8 && bits <= 256 && bits % 8 === 0) return uintEncoder(bits);
  }
  const bytes = /^bytes(\d+)$/.exec(type);
  if (bytes) {
    const length = Number(bytes[1]);
    if (length >= 1 && length <= 32) return fixedBytesEncoder(length, false, type);
  }
  throw new MerkleUnsupportedTypeError(type, position);
}

/** Encodes values of one leaf schema into a caller-provided buffer, one 32-byte word per field. */
export class LeafEncoder {
  readonly types: readonly string[];
  /** Bytes of one encoded leaf: 32 per field. */
  readonly width: number;
  private readonly encoders: WordEncoder[];

  constructor(types: readonly string[]) {
    if (!Array.isArray(types) || types.length === 0) {
      throw new MerkleUnsupportedTypeError(String(types), 0);
    }
    this.types = types;
    this.encoders = types.map((type, position) => wordEncoder(type, position));
    this.width = WORD * types.length;
  }

  /** Writes `abi.encode(types, value)` of value number `valueIndex` at `offset` in `out`. */
  encodeInto(value: unknown, valueIndex: number, out: Uint8Array, view: DataView, offset: number): void {
    const { encoders } = this;
    if (!Array.isArray(value)) throw new MerkleLeafArityError(valueIndex, encoders.length, undefined);
    if (value.length !== encoders.length) throw new MerkleLeafArityError(valueIndex, encoders.length, value.length);
    for (let f = 0; f < encoders.length; f++) {
      const reason = encoders[f]!(out, view, offset + f * WORD, value[f]);
      if (reason !== undefined) throw new MerkleLeafValueError(valueIndex, f, this.types[f]!, reason);
    }
  }

  /** `abi.encode(types, value)` as a fresh buffer (tests and one-off use). */
  encode(value: unknown, valueIndex = 0): Uint8Array {
    const out = new Uint8Array(this.width);
    this.encodeInto(value, valueIndex, out, new DataView(out.buffer), 0);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Hashing kernels over flat buffers (shared with the worker threads)
// ---------------------------------------------------------------------------------------------

/*
 * Every hash of a reward tree is over one sponge block (a 128-byte leaf, a 32-byte inner hash, a
 * 64-byte pair of nodes), so the kernels drive noble's keccak-f[1600] permutation (`keccakP`) on
 * one reused state instead of calling keccak_256, which allocates a hasher, a state and an output
 * per call: this halves the hashing time of a million-leaf tree. Only the single-block absorb and Keccak's
 * pad10*1 padding (suffix 0x01) are done here; tests check them against keccak_256. Longer inputs
 * (the 320-byte task leaves) and big-endian hosts go through keccak_256.
 */
const RATE = 136;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const STATE = new Uint32Array(50);
const STATE8 = new Uint8Array(STATE.buffer);

/** Absorbs `words` 32-bit words of `input32` from word `at` as one whole message and permutes. */
function absorbBlock(input32: Uint32Array, at: number, words: number): void {
  STATE.fill(0);
  for (let w = 0; w < words; w++) STATE[w] = input32[at + w]!;
  STATE8[words * 4] ^= 0x01;
  STATE8[RATE - 1] ^= 0x80;
  keccakP(STATE);
}

/** Replaces the state by the state of keccak256(its own 32-byte digest). */
function rehashDigest(): void {
  STATE.fill(0, 8);
  STATE8[WORD] ^= 0x01;
  STATE8[RATE - 1] ^= 0x80;
  keccakP(STATE);
}

/** Copies the 32-byte digest out of the state to word `at` of `out32`. */
function emitDigest(out32: Uint32Array, at: number): void {
  for (let w = 0; w < 8; w++) out32[at + w] = STATE[w]!;
}

function words32(bytes: Uint8Array): Uint32Array | undefined {
  if (!LITTLE_ENDIAN || bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) return undefined;
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/**
 * Hashes `count` leaves already encoded back to back in `encoded` (each `width` bytes) and writes
 * keccak256(keccak256(leaf)) at word `firstLeaf + j` of `leafHashes`.
 */
export function hashEncodedLeaves(
  encoded: Uint8Array,
  width: number,
  count: number,
  leafHashes: Uint8Array,
  firstLeaf: number,
): void {
  const in32 = words32(encoded);
  const out32 = words32(leafHashes);
  if (in32 === undefined || out32 === undefined || width >= RATE) {
    for (let j = 0; j < count; j++) {
      const inner = keccak_256(encoded.subarray(j * width, (j + 1) * width));
      leafHashes.set(keccak_256(inner), (firstLeaf + j) * WORD);
    }
    return;
  }
  const widthWords = width / 4;
  for (let j = 0; j < count; j++) {
    absorbBlock(in32, j * widthWords, widthWords);
    rehashDigest();
    emitDigest(out32, (firstLeaf + j) * 8);
  }
}

/**
 * Encodes and hashes values `from`..`to`-1 into `leafHashes` (word i for value i), a chunk at a
 * time through one reused scratch buffer.
 */
export function hashLeafValues(
  values: readonly unknown[],
  encoder: LeafEncoder,
  from: number,
  to: number,
  leafHashes: Uint8Array,
): void {
  const chunk = 1024;
  const scratch = new Uint8Array(chunk * encoder.width);
  const view = new DataView(scratch.buffer);
  for (let start = from; start < to; start += chunk) {
    const count = Math.min(chunk, to - start);
    for (let j = 0; j < count; j++) encoder.encodeInto(values[start + j], start + j, scratch, view, j * encoder.width);
    hashEncodedLeaves(scratch, encoder.width, count, leafHashes, start);
  }
}

/** Lexicographic compare of the 32-byte words at `a` and `b` (byte offsets) of `buf`. */
function compareWords(buf: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < WORD; k++) {
    const d = buf[a + k]! - buf[b + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Hashes internal nodes `from`..`to` (inclusive), highest index first, in the array layout:
 * node i = keccak256(sorted(node 2i+1, node 2i+2)). Children must already be there, so call it
 * level by level from the bottom, or once for the whole range 0..n-2.
 */
export function hashNodeRange(tree: Uint8Array, from: number, to: number): void {
  const tree32 = words32(tree);
  if (tree32 === undefined) {
    const pair = new Uint8Array(2 * WORD);
    for (let i = to; i >= from; i--) {
      const left = (2 * i + 1) * WORD;
      const right = left + WORD;
      const [lo, hi] = compareWords(tree, left, right) <= 0 ? [left, right] : [right, left];
      pair.set(tree.subarray(lo, lo + WORD), 0);
      pair.set(tree.subarray(hi, hi + WORD), WORD);
      tree.set(keccak_256(pair), i * WORD);
    }
    return;
  }
  for (let i = to; i >= from; i--) {
    const left = (2 * i + 1) * WORD;
    const leftFirst = compareWords(tree, left, left + WORD) <= 0;
    STATE.fill(0);
    const a = leftFirst ? left / 4 : left / 4 + 8;
    const b = leftFirst ? left / 4 + 8 : left / 4;
    for (let w = 0; w < 8; w++) {
      STATE[w] = tree32[a + w]!;
      STATE[8 + w] = tree32[b + w]!;
    }
    STATE8[2 * WORD] ^= 0x01;
    STATE8[RATE - 1] ^= 0x80;
    keccakP(STATE);
    emitDigest(tree32, i * 8);
  }
}

/**
 * Value indices in StandardMerkleTree's leaf order: ascending by hash, equal hashes in input order
 * (Array.prototype.sort is stable). Sorts 52-bit numeric keys (hash prefix, value index) with the
 * native typed-array sort, then settles the rare runs of equal prefixes with a full comparison.
 */
export function sortLeaves(leafHashes: Uint8Array, n: number): Uint32Array {
  const indexBits = Math.max(1, Math.ceil(Math.log2(n)));
  // Keep key = prefix·2^indexBits + index below 2^53 so a double holds it exactly.
  const prefixShift = Math.max(0, indexBits - 21);
  const indexScale = 2 ** indexBits;
  const prefixScale = 2 ** prefixShift;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * WORD;
    const first32 =
      ((leafHashes[o]! << 24) | (leafHashes[o + 1]! << 16) | (leafHashes[o + 2]! << 8) | leafHashes[o + 3]!) >>> 0;
    keys[i] = Math.floor(first32 / prefixScale) * indexScale + i;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = keys[k]! % indexScale;
  const byHash = (a: number, b: number): number => compareWords(leafHashes, a * WORD, b * WORD) || a - b;
  for (let k = 0; k < n - 1;) {
    const prefix = Math.floor(keys[k]! / indexScale);
    let end = k + 1;
    while (end < n && Math.floor(keys[end]! / indexScale) === prefix) end++;
    if (end - k > 1) order.subarray(k, end).sort(byHash);
    k = end;
  }
  return order;
}

/**
 * Places the leaves in `order` at the end of `tree` (k-th smallest at 2n-2-k) and returns each
 * value's tree index.
 */
export function placeLeaves(leafHashes: Uint8Array, order: Uint32Array, tree: Uint8Array): Uint32Array {
  const n = order.length;
  const treeIndex = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const valueIndex = order[k]!;
    const t = 2 * n - 2 - k;
    treeIndex[valueIndex] = t;
    tree.set(leafHashes.subarray(valueIndex * WORD, valueIndex * WORD + WORD), t * WORD);
  }
  return treeIndex;
}

// ---------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------

/** A built tree: all 2n-1 node hashes in one buffer; hex only on demand. */
export class MerkleTree<T extends readonly unknown[] = readonly unknown[]> {
  /** Root as 0x hex (what the contracts store). */
  readonly root: string;

  /**
   * @param values the leaves, in the caller's order (value index = position here)
   * @param leafEncoding the ABI types of one leaf
   * @param nodes 2n-1 node hashes, 32 bytes each, in StandardMerkleTree's array layout
   * @param treeIndices tree index of each value
   */
  constructor(
    readonly values: readonly T[],
    readonly leafEncoding: readonly string[],
    readonly nodes: Uint8Array,
    readonly treeIndices: Uint32Array,
  ) {
    this.root = toHex(nodes, 0, WORD);
  }

  /** Number of leaves. */
  get size(): number {
    return this.values.length;
  }

  /** Number of nodes (2n-1). */
  get nodeCount(): number {
    return this.nodes.length / WORD;
  }

  /** Hex of node `treeIndex` of the array layout. */
  node(treeIndex: number): string {
    return toHex(this.nodes, treeIndex * WORD, WORD);
  }

  /** Tree index of value `valueIndex` (StandardMerkleTree's `values[i].treeIndex`). */
  treeIndex(valueIndex: number): number {
    this.checkIndex(valueIndex);
    return this.treeIndices[valueIndex]!;
  }

  /** Leaf hash of value `valueIndex` as hex. */
  leafHash(valueIndex: number): string {
    return this.node(this.treeIndex(valueIndex));
  }

  /** Proof of value `valueIndex`: sibling hashes from the leaf up, as StandardMerkleTree.getProof(i). */
  getProof(valueIndex: number): string[] {
    let t = this.treeIndex(valueIndex);
    const proof: string[] = [];
    while (t > 0) {
      proof.push(this.node(t % 2 === 1 ? t + 1 : t - 1));
      t = (t - 1) >> 1;
    }
    return proof;
  }

  /** The whole tree as StandardMerkleTree's `dump()` (builds every hex string: use proofs/dump.ts for big trees). */
  dump(): StandardMerkleTreeDump<T> {
    const tree: string[] = new Array(this.nodeCount);
    for (let t = 0; t < tree.length; t++) tree[t] = this.node(t);
    return {
      format: "standard-v1",
      leafEncoding: [...this.leafEncoding],
      tree,
      values: this.values.map((value, i) => ({ value, treeIndex: this.treeIndices[i]! })),
    };
  }

  /**
   * `JSON.stringify(this.dump())` in pieces of about `chunkChars` characters, so a dump of millions
   * of nodes is written without one giant string. Bigints become decimal strings and byte arrays
   * 0x hex, which StandardMerkleTree.load accepts for the same leaves.
   */
  *dumpChunks(chunkChars = 1 << 20): Generator<string> {
    yield `{"format":"standard-v1","leafEncoding":${JSON.stringify(this.leafEncoding)},"tree":[`;
    // Node hex goes through ASCII bytes and one decode per chunk: ~10x faster than string concatenation.
    const perChunk = Math.max(1, Math.floor(chunkChars / NODE_JSON_BYTES));
    const ascii = new Uint8Array(Math.min(perChunk, this.nodeCount) * NODE_JSON_BYTES);
    for (let first = 0; first < this.nodeCount; first += perChunk) {
      const count = Math.min(perChunk, this.nodeCount - first);
      for (let j = 0; j < count; j++) writeNodeJson(this.nodes, first + j, ascii, j * NODE_JSON_BYTES);
      // The first node of the array has no separating comma.
      yield ASCII_DECODER.decode(ascii.subarray(first === 0 ? 1 : 0, count * NODE_JSON_BYTES));
    }
    let buf = '],"values":[';
    for (let i = 0; i < this.size; i++) {
      buf += `${i === 0 ? "" : ","}{"value":${JSON.stringify(this.values[i], jsonLeafField)},"treeIndex":${this.treeIndices[i]}}`;
      if (buf.length >= chunkChars) {
        yield buf;
        buf = "";
      }
    }
    yield buf + "]}";
  }

  private checkIndex(valueIndex: number): void {
    if (!Number.isInteger(valueIndex) || valueIndex < 0 || valueIndex >= this.size) {
      throw new MerkleIndexError(valueIndex, this.size);
    }
  }
}

/** `,"0x` + 64 hex digits + `"`: one node of the dump's "tree" array. */
const NODE_JSON_BYTES = 4 + 2 * WORD + 1;
const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
const ASCII_DECODER = new TextDecoder("utf-8");

function writeNodeJson(nodes: Uint8Array, treeIndex: number, out: Uint8Array, at: number): void {
  out[at] = 0x2c; // ,
  out[at + 1] = 0x22; // "
  out[at + 2] = 0x30; // 0
  out[at + 3] = 0x78; // x
  let o = at + 4;
  for (let k = treeIndex * WORD, end = k + WORD; k < end; k++) {
    const b = nodes[k]!;
    out[o++] = HEX_DIGITS[b >> 4]!;
    out[o++] = HEX_DIGITS[b & 15]!;
  }
  out[o] = 0x22; // "
}

function jsonLeafField(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  return value;
}

/**
 * Builds the tree on the calling thread. For a million leaves prefer `buildTreeParallel`
 * (merkle/parallel.ts), which gives the same tree with the hashing spread over the cores.
 *
 * @throws MerkleEmptyTreeError, MerkleUnsupportedTypeError, MerkleLeafArityError, MerkleLeafValueError
 */
export function buildTree<T extends readonly unknown[]>(
  values: readonly T[],
  leafEncoding: readonly string[],
): MerkleTree<T> {
  const encoder = new LeafEncoder(leafEncoding);
  const n = values.length;
  if (n === 0) throw new MerkleEmptyTreeError();
  const leafHashes = new Uint8Array(n * WORD);
  hashLeafValues(values, encoder, 0, n, leafHashes);
  const nodes = new Uint8Array((2 * n - 1) * WORD);
  const treeIndices = placeLeaves(leafHashes, sortLeaves(leafHashes, n), nodes);
  hashNodeRange(nodes, 0, n - 2);
  return new MerkleTree(values, leafEncoding, nodes, treeIndices);
}

/**
 * Checks a proof the way OpenZeppelin's MerkleProof does: fold sorted pairs from the leaf hash up
 * and compare with the root. All arguments are 0x hex.
 */
export function verifyProof(root: string, leafHash: string, proof: readonly string[]): boolean {
  let acc = fromHex32(leafHash);
  const pair = new Uint8Array(2 * WORD);
  for (const sibling of proof) {
    const s = fromHex32(sibling);
    const accFirst = compareWords(concatInto(pair, acc, s), 0, WORD) <= 0;
    if (!accFirst) concatInto(pair, s, acc);
    acc = keccak_256(pair);
  }
  return toHex(acc) === root.toLowerCase();
}

function concatInto(pair: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  pair.set(a, 0);
  pair.set(b, WORD);
  return pair;
}

/** Leaf hash of one value as 0x hex, without building a tree. */
export function leafHashOf(value: readonly unknown[], leafEncoding: readonly string[]): string {
  return toHex(keccak_256(keccak_256(new LeafEncoder(leafEncoding).encode(value))));
}
