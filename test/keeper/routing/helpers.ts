import type { NodeView } from "../../../keeper/types.ts";

/** A healthy executor node; override what the test is about. */
export function node(peerId: string, over: Partial<NodeView> = {}): NodeView {
  return {
    peerId,
    bandwidth: 1_000_000,
    capacity: 10,
    load: 0,
    proximity: 2,
    latencyMs: 20,
    shard: 0,
    flagged: false,
    capabilities: ["executor", "provider"],
    ...over,
  };
}

/** Deterministic PRNG (mulberry32) so randomised tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
