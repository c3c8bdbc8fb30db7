import { getAddress, hexlify } from "ethers";

import { mulberry32, testSeed } from "../../seed.ts";

/**
 * A small seeded pseudo-random source (the project's mulberry32, seed from test/seed.ts), so a failing randomised test can be replayed:
 * every randomised test prints its seed in its assertion messages, and `LUMORA_TEST_SEED=<seed>` replays it.
 */
export interface Random {
  readonly seed: number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** A uniformly random unsigned integer of `bits` bits. */
  uint(bits: number): bigint;
  bytes(length: number): Uint8Array;
  bytes32(): string;
  address(): string;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
}

export function createRandom(seed: number = testSeed()): Random {
  const next = mulberry32(seed);
  const random: Random = {
    seed,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    uint: (bits) => {
      let value = 0n;
      for (let i = 0; i < bits; i += 8) value = (value << 8n) | BigInt(random.int(0, 255));
      return value & ((1n << BigInt(bits)) - 1n);
    },
    bytes: (length) => Uint8Array.from({ length }, () => random.int(0, 255)),
    bytes32: () => hexlify(random.bytes(32)),
    address: () => getAddress(hexlify(random.bytes(20))),
    pick: (items) => items[random.int(0, items.length - 1)],
    shuffle: (items) => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [copy[i], copy[j]] = [copy[j], copy[i]];
      }
      return copy;
    },
  };
  return random;
}
