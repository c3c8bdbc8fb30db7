/**
 * Inputs for the protocol fuzzer, all drawn from one seeded generator (test/seed.ts), so a failing case replays
 * with the printed LUMORA_TEST_SEED: random bytes, frames with honest or lying length prefixes, and mutations
 * (bit flips, insertions, deletions, truncations, duplications) of a valid frame of the protocol under test.
 */
import { encodeVarint } from "../../keeper/wire/framing.ts";

export type Rng = () => number;

export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

export function bytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** `body` with its varint length prefix. */
export const framed = (body: Uint8Array): Uint8Array => concat(encodeVarint(body.length), body);

/** One mutation of `input`. */
export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = Uint8Array.from(input);
  switch (int(rng, 0, 6)) {
    case 0: // flip 1-8 bits
      for (let i = int(rng, 1, 8); i > 0 && b.length > 0; i--) b[int(rng, 0, b.length - 1)] ^= 1 << int(rng, 0, 7);
      return b;
    case 1: // overwrite a byte with an edge value
      if (b.length > 0) b[int(rng, 0, b.length - 1)] = [0x00, 0x7f, 0x80, 0xff][int(rng, 0, 3)]!;
      return b;
    case 2: {
      // insert random bytes
      const at = int(rng, 0, b.length);
      return concat(b.subarray(0, at), bytes(rng, int(rng, 1, 16)), b.subarray(at));
    }
    case 3: {
      // delete a range
      const at = int(rng, 0, b.length);
      return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + int(rng, 1, 16))));
    }
    case 4: // truncate
      return b.subarray(0, int(rng, 0, b.length));
    case 5: // duplicate the whole input (two frames, or one frame and garbage)
      return concat(b, b);
    default: {
      // replace the length prefix with a lie
      const lie = [0, 1, b.length * 2, 0x7fffffff, 2 ** 35 - 1][int(rng, 0, 4)]!;
      return concat(lie < 2 ** 31 ? encodeVarint(lie) : Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), b);
    }
  }
}

/** A fuzz input for a protocol whose valid first frames are `valid`: random, framed random, or a mutation. */
export function input(rng: Rng, valid: readonly Uint8Array[]): Uint8Array {
  const r = rng();
  if (r < 0.15) return bytes(rng, int(rng, 0, 64));
  if (r < 0.3) return framed(bytes(rng, int(rng, 0, 512)));
  let x = valid[int(rng, 0, valid.length - 1)]!;
  for (let i = int(rng, 1, 3); i > 0; i--) x = mutate(rng, x);
  return x;
}
