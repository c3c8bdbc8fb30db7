/**
 * `npm run sim:farming`: can an attacker with k ∈ {1, 10, 100} identities and a bond B farm rewards by self-dealing
 * any volume, against an honest network of 50 providers with real paid demand? Runs every scenario on the real
 * contracts and keeper credit rules (scripts/sim/lib/farming.ts) and prints JSON lines {"metric","value","unit"}:
 * one set per scenario, then the worst case of each figure over all scenarios at the default parameters
 * (`farming.net_gain_per_lum` ≤ 0, `farming.share_vs_bond_share` ≤ 1, `honest.share_vs_paid_bytes` ≥ 0.9; shares
 * of the epoch's reward R), the same shares of what was distributed (R minus what the caps withheld), the three
 * figures again at μ = 2 (`*.mu_2`), and the gain with an emission above the burned share, where the first bound no
 * longer holds (docs/security.md, "Farming: the simulation"). The `join` scenarios put an honest idle bond beside
 * the network and let the attacker's consumer buy from the busiest honest provider, to be lifted with the starved
 * honest region. Per scenario it also prints the saturation's majority lift (1: none; the factor of the core) and
 * the share of R withheld. LUMORA_SIM_SEED sets the honest network's seed (default 11).
 */
import { loadavg } from "node:os";

import { network } from "hardhat";

import {
  DEFAULT_SATURATION_BPS,
  DEFAULT_SUBSIDY_BPS,
  DEFAULT_WEI_PER_GIB,
} from "../../keeper/epochs/collect/constants.ts";
import { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";
import { printMetrics, type Metric } from "../bench/lib/metrics.ts";
import { honestNetwork, runScenario, type FarmingParameters, type Scenario } from "./lib/farming.ts";

const parameters: FarmingParameters = {
  seed: Number(process.env.LUMORA_SIM_SEED ?? 11),
  providers: 50,
  consumers: 25,
  channelsPerConsumer: 6,
  meanChannelGiB: 1000,
  meanBondLum: 10_000n,
  maxUnpaidShare: 0.05,
  payment: { weiPerGiB: DEFAULT_WEI_PER_GIB, subsidyBps: DEFAULT_SUBSIDY_BPS },
  saturation: { saturationBps: DEFAULT_SATURATION_BPS },
  minBond: LUMORA_DEFAULTS.minBond,
  burnBps: LUMORA_DEFAULTS.burnBps,
  emissionPerHonestFee: 0.1,
};
const subsidy = Number(DEFAULT_SUBSIDY_BPS) / 10_000;

const scenarios: Scenario[] = [];
for (const identities of [1, 10, 100]) {
  for (const bondShare of [0.05, 0.5]) {
    for (const volume of [0.1, 1, 10]) scenarios.push({ identities, bondShare, volume, paidShare: 1 / (1 + subsidy) });
  }
  scenarios.push({ identities, bondShare: 0.5, volume: 10, paidShare: 0 });
}
// The join: beside an honest idle bond (40 %: the honest providers hold the majority alone; 60 %: only with the
// attacker), the attacker's consumer buys a few bytes (or 1 % of its volume) from the busiest honest provider, to
// be lifted with the starved honest region.
for (const identities of [1, 10]) {
  for (const join of [1e-9, 0.01]) {
    for (const idleBond of [0.4, 0.6]) {
      scenarios.push({ identities, bondShare: 0.3, volume: 0.5, paidShare: 1 / (1 + subsidy), join, idleBond });
    }
  }
}
// Where the first bound fails: an emission (1 × the honest fees) above the burned share, and a bond large enough
// that the cap does not bite.
const highEmission: Scenario = { identities: 10, bondShare: 0.5, volume: 0.1, paidShare: 1 / (1 + subsidy) };

const t0 = Date.now();
const connection = await network.create();
const net = await honestNetwork(connection, parameters);
process.stderr.write(`honest network ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

const label = (s: Scenario) =>
  `k=${s.identities},bond=${s.bondShare * 100}%,volume=${s.volume}x,paid=${s.paidShare === 0 ? 0 : "max-subsidy"}` +
  (s.join === undefined ? "" : `,join=${s.join}`) +
  (s.idleBond === undefined ? "" : `,idle=${s.idleBond * 100}%`) +
  (s.saturationBps === undefined ? "" : `,mu=${Number(s.saturationBps) / 10_000}`);
const num = (x: number) => (Number.isFinite(x) ? +x.toFixed(4) : x > 0 ? 1e308 : -1e308);

/** Runs every scenario (at μ = `saturationBps` when given), prints its figures, returns the worst of each. */
async function sweep(saturationBps?: bigint) {
  const worst = {
    gain: -Infinity,
    share: -Infinity,
    honest: Infinity,
    distributedShare: -Infinity,
    honestDistributed: Infinity,
  };
  for (const base of scenarios) {
    const s = { ...base, saturationBps };
    const r = await runScenario(net, s);
    worst.gain = Math.max(worst.gain, r.netGainPerLum);
    worst.share = Math.max(worst.share, r.shareVsBondShare);
    worst.honest = Math.min(worst.honest, r.honestShareVsPaidBytes);
    worst.distributedShare = Math.max(worst.distributedShare, r.distributedShareVsBondShare);
    worst.honestDistributed = Math.min(worst.honestDistributed, r.honestDistributedShareVsPaidBytes);
    printMetrics([
      { metric: `farming.net_gain_per_lum[${label(s)}]`, value: num(r.netGainPerLum), unit: "LUM/LUM" },
      { metric: `farming.share_vs_bond_share[${label(s)}]`, value: num(r.shareVsBondShare), unit: "ratio" },
      { metric: `honest.share_vs_paid_bytes[${label(s)}]`, value: num(r.honestShareVsPaidBytes), unit: "ratio" },
      {
        metric: `farming.distributed_share_vs_bond_share[${label(s)}]`,
        value: num(r.distributedShareVsBondShare),
        unit: "ratio",
      },
      {
        metric: `honest.distributed_share_vs_paid_bytes[${label(s)}]`,
        value: num(r.honestDistributedShareVsPaidBytes),
        unit: "ratio",
      },
      { metric: `farming.majority_lift[${label(s)}]`, value: num(r.lift), unit: "factor" },
      {
        metric: `farming.withheld_share[${label(s)}]`,
        value: num(1 - Number(r.rewardCommitted) / Number(r.rewardConfigured)),
        unit: "ratio",
      },
    ]);
  }
  return worst;
}

const atDefault = await sweep();
const atTwo = await sweep(2n * 10_000n);
const high = await runScenario(net, { ...highEmission, emissionPerHonestFee: 1 });
const summary: Metric[] = [
  { metric: "farming.net_gain_per_lum", value: num(atDefault.gain), unit: "LUM/LUM" },
  { metric: "farming.share_vs_bond_share", value: num(atDefault.share), unit: "ratio" },
  { metric: "honest.share_vs_paid_bytes", value: num(atDefault.honest), unit: "ratio" },
  { metric: "farming.distributed_share_vs_bond_share", value: num(atDefault.distributedShare), unit: "ratio" },
  { metric: "honest.distributed_share_vs_paid_bytes", value: num(atDefault.honestDistributed), unit: "ratio" },
  { metric: "farming.net_gain_per_lum.mu_2", value: num(atTwo.gain), unit: "LUM/LUM" },
  { metric: "farming.share_vs_bond_share.mu_2", value: num(atTwo.share), unit: "ratio" },
  { metric: "honest.share_vs_paid_bytes.mu_2", value: num(atTwo.honest), unit: "ratio" },
  { metric: "farming.net_gain_per_lum.emission_above_burn", value: num(high.netGainPerLum), unit: "LUM/LUM" },
  { metric: "sim.scenarios", value: 2 * scenarios.length + 1, unit: "count" },
  { metric: "sim.duration_s", value: +((Date.now() - t0) / 1000).toFixed(1), unit: "s" },
  { metric: "sim.loadavg_1m", value: +loadavg()[0]!.toFixed(2), unit: "load" },
];
printMetrics(summary);
await connection.close();
