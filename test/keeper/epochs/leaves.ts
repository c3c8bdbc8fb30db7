/**
 * Seeded random leaves of both epoch schemas, in every representation the encoder accepts
 * (decimal and hex strings, bigints, numbers, mixed-case addresses, byte arrays), with duplicates
 * and range edges, for property tests against @openzeppelin/merkle-tree.
 */

import { mulberry32, testSeed } from "../../seed.ts";

export type Rand = () => number;

/** The project's mulberry32, reproducible from the seed printed in assertion messages. */
export const prng: (seed: number) => Rand = mulberry32;

/** The seed of this run (test/seed.ts): fixed by default, `LUMORA_TEST_SEED` to change it. */
export const runSeed = testSeed;

const int = (rand: Rand, below: number): number => Math.floor(rand() * below);

function randomBytes(rand: Rand, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = int(rand, 256);
  return out;
}

function hex(bytes: Uint8Array): string {
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function randomUint(rand: Rand, bits: number): bigint {
  switch (int(rand, 6)) {
    case 0:
      return 0n;
    case 1:
      return (1n << BigInt(bits)) - 1n;
    case 2:
      return BigInt(int(rand, Math.min(1000, 2 ** bits)));
    default: {
      let v = 0n;
      for (let i = 0; i < bits / 8; i++) v = (v << 8n) | BigInt(int(rand, 256));
      return v >> BigInt(int(rand, bits));
    }
  }
}

/** A uint in one of the accepted shapes; `jsonSafe` keeps to strings so the dump is JSON. */
function uintField(rand: Rand, bits: number, jsonSafe: boolean): unknown {
  const v = randomUint(rand, bits);
  switch (jsonSafe ? int(rand, 2) : int(rand, 4)) {
    case 0:
      return v.toString();
    case 1:
      return "0x" + v.toString(16);
    case 2:
      return v;
    default:
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

function bytesField(rand: Rand, length: number, jsonSafe: boolean): unknown {
  const bytes = randomBytes(rand, length);
  const s = hex(bytes);
  switch (jsonSafe ? int(rand, 2) : int(rand, 3)) {
    case 0:
      return s;
    case 1:
      // Mixed case, as a checksummed address would be.
      return "0x" + Array.from(s.slice(2), (c) => (int(rand, 2) === 0 ? c.toUpperCase() : c)).join("");
    default:
      return bytes;
  }
}

function field(rand: Rand, type: string, jsonSafe: boolean): unknown {
  if (type === "address") return bytesField(rand, 20, jsonSafe);
  if (type.startsWith("bytes")) return bytesField(rand, Number(type.slice(5)), jsonSafe);
  return uintField(rand, Number(type.slice(4)), jsonSafe);
}

/** `n` random values of `types`, about one in ten a copy of an earlier one (equal leaf hashes). */
export function randomValues(rand: Rand, types: readonly string[], n: number, jsonSafe = false): unknown[][] {
  const values: unknown[][] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && int(rand, 10) === 0) values.push([...values[int(rand, i)]!]);
    else values.push(types.map((type) => field(rand, type, jsonSafe)));
  }
  return values;
}
