import type { NodeView } from "../../../keeper/types.ts";
import { mulberry32, testSeed } from "../../seed.ts";

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

/** A reproducible random stream from the run's seed (test/seed.ts); `salt` gives each test its own stream. */
export function rng(salt: number): () => number {
  return mulberry32((testSeed() + salt) >>> 0);
}
