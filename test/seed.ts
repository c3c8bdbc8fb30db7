/**
 * The seed of every randomised test, contracts and keeper alike. Fixed by default, so that a run is reproducible
 * and CI never fails on an unlucky draw that nobody can replay; printed once per test process; overridden by
 * `LUMORA_TEST_SEED=<integer>` (replay or explore one seed) or `LUMORA_TEST_SEED=random` (a fresh seed, printed).
 * The generator is the project's one mulberry32 (scripts/bench/lib/prng.ts).
 */
import { mulberry32 } from "../scripts/bench/lib/prng.ts";

export { mulberry32 };

export const TEST_SEED_ENV = "LUMORA_TEST_SEED";
export const DEFAULT_TEST_SEED = 20_261_130;

let seed: number | undefined;

export function testSeed(): number {
  if (seed !== undefined) return seed;
  const raw = process.env[TEST_SEED_ENV]?.trim();
  if (raw === undefined || raw === "") seed = DEFAULT_TEST_SEED;
  else if (raw === "random") seed = (Math.random() * 2 ** 32) >>> 0;
  else {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
      throw new Error(`${TEST_SEED_ENV}=${raw}: expected an integer in [0, 2^32) or "random"`);
    }
    seed = n;
  }
  console.log(`randomised tests: seed ${seed} (${TEST_SEED_ENV}=${seed} replays it)`);
  return seed;
}
