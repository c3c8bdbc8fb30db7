/**
 * `npm run sim:scale [-- --nodes 1000000 --tasks 100000 --leave 0.01 --selections 5000 --shards 16]`
 *
 * The keeper's real routing and task code on a simulated network of a million nodes (docs/scale.md): selection
 * latency, shard balance, and what moves when 1 % of the nodes leave. One JSON object per line on stdout,
 * progress on stderr. The seed is fixed (printed as `sim.seed`); LUMORA_SIM_SEED overrides it.
 */
import { parseArgs } from "node:util";

import { runScaleSim } from "./lib/scale-sim.ts";

const DEFAULT_SEED = 20_261_130;

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000000" },
    tasks: { type: "string", default: "100000" },
    leave: { type: "string", default: "0.01" },
    selections: { type: "string", default: "5000" },
    shards: { type: "string" },
  },
});

function positiveInt(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, got ${s}`);
  return n;
}

const seedText = process.env.LUMORA_SIM_SEED;
const seed = seedText === undefined ? DEFAULT_SEED : Number(seedText);
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`LUMORA_SIM_SEED must be an integer ≥ 0, got ${seedText}`);
const leave = Number(values.leave);
if (!(leave > 0 && leave < 1)) throw new Error(`--leave must be a fraction in (0, 1), got ${values.leave}`);

await runScaleSim({
  seed,
  nodes: positiveInt("nodes", values.nodes),
  tasks: positiveInt("tasks", values.tasks),
  leaveFraction: leave,
  selections: positiveInt("selections", values.selections),
  shards: values.shards === undefined ? undefined : positiveInt("shards", values.shards),
  progress: (msg) => process.stderr.write(`sim: ${msg}\n`),
});
process.exit(0);
