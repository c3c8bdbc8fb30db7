/**
 * The audit module's randomness: one seeded generator, so a schedule is reproducible from its seed in tests,
 * and unpredictable in production, where the seed comes from the OS (crypto.randomBytes) and is never logged
 * or published — a provider that could predict the next audit could behave only then.
 *
 * The generator is a Weyl sequence (a counter stepped by the golden-ratio constant) passed through a 32-bit
 * avalanche mix: uniform enough for choosing times and targets, and not a cryptographic generator (its
 * unpredictability is the seed's).
 */
import { randomBytes } from "node:crypto";

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

const GOLDEN = 0x9e3779b9;

/** A generator from a 32-bit seed: the same seed gives the same sequence. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + GOLDEN) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 0x1_0000_0000;
  };
}

/** A seed nobody else knows. */
export function secretSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** An integer uniform in [0, n). */
export function randomIndex(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/** An integer uniform in [min, max] (both included). */
export function randomInt(random: Random, min: number, max: number): number {
  return min + randomIndex(random, max - min + 1);
}
