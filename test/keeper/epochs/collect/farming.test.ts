/**
 * The credit rules against farming, on the real code (computePaidContributions then saturate): an honest network
 * with paid demand and bonds sized to expected demand (± 20 %), and an attacker with k identities self-dealing —
 * busy on a small bond, or idle on a large one. The same three figures as `npm run sim:farming`, without the chain.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress, toBeHex } from "ethers";

import { DEFAULT_SUBSIDY_BPS, GIB, SHARE_SCALE } from "../../../../keeper/epochs/collect/constants.ts";
import { computePaidContributions } from "../../../../keeper/epochs/collect/credit.ts";
import type { VerifiedReceipt } from "../../../../keeper/epochs/collect/contribution.ts";
import { saturate } from "../../../../keeper/epochs/collect/saturation.ts";

const PRICE = 10n ** 16n;
const payment = { weiPerGiB: PRICE, subsidyBps: DEFAULT_SUBSIDY_BPS };
const terms = { saturationBps: 10_000n, minBond: 1000n };
const R = 10n ** 24n;

const address = (tag: number) => getAddress(toBeHex(tag, 20));

interface Channel {
  consumer: string;
  provider: string;
  bytes: bigint;
  /** Token units the consumer paid on the channel. */
  paid: bigint;
}

/** A small deterministic generator (LCG), so the networks are the same on every run. */
function generator(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** The simulation's shape: 50 honest providers, 25 consumers buying from 6 each, bonds ∝ expected demand ± 20 %, up
 * to 5 % unpaid. */
function honestNetwork(seed: number) {
  const rng = generator(seed);
  const weights = Array.from({ length: 50 }, () => 0.5 + rng());
  const total = weights.reduce((a, b) => a + b, 0);
  const bonds = new Map<string, bigint>();
  weights.forEach((w, i) =>
    bonds.set(`honest-${i}`, BigInt(Math.round(10_000 * (w / (total / 50)) * (0.8 + 0.4 * rng())))),
  );
  const channels: Channel[] = [];
  for (let c = 0; c < 25; c++) {
    const chosen = new Set<number>();
    while (chosen.size < 6) {
      let x = rng() * total;
      let i = 0;
      while ((x -= weights[i]!) > 0 && i < weights.length - 1) i++;
      chosen.add(i);
    }
    for (const i of chosen) {
      const bytes = BigInt(Math.round(100 * weights[i]! * (0.25 + 1.5 * rng()))) * GIB;
      const unpaid = (bytes * BigInt(Math.round(rng() * 500))) / 10_000n;
      channels.push({
        consumer: `consumer-${c}`,
        provider: `honest-${i}`,
        bytes,
        paid: ((bytes - unpaid) * PRICE) / GIB,
      });
    }
  }
  return { bonds, channels };
}

/** Adds an attacker: k identities sharing bond `bondShare` × the honest bonds, self-dealing `volume` × honest bytes. */
function withAttacker(net: ReturnType<typeof honestNetwork>, k: number, bondShare: number, volume: number) {
  const bonds = new Map(net.bonds);
  const channels = [...net.channels];
  const honestBond = [...net.bonds.values()].reduce((a, b) => a + b, 0n);
  const honestBytes = net.channels.reduce((a, c) => a + c.bytes, 0n);
  let each = (honestBond * BigInt(Math.round(bondShare * 1000))) / 1000n / BigInt(k);
  if (each < terms.minBond) each = terms.minBond;
  const bytes = (honestBytes * BigInt(Math.round(volume * 1000))) / 1000n / BigInt(k);
  for (let j = 0; j < k; j++) {
    bonds.set(`attacker-${j}`, each);
    // It pays for as much as buys the whole subsidy: 1/(1+σ) of its bytes.
    const paidBytes = (bytes * 10_000n) / (10_000n + DEFAULT_SUBSIDY_BPS);
    channels.push({
      consumer: `attacker-consumer-${j % 10}`,
      provider: `attacker-${j}`,
      bytes,
      paid: (paidBytes * PRICE) / GIB,
    });
  }
  return { bonds, channels };
}

/**
 * Adds honest idle bond (`share` × the honest bonds over ten providers, each serving a consumer of its own a tenth of
 * a GiB): unused capacity that a starved region can be lifted into.
 */
function withIdleBond(net: { bonds: Map<string, bigint>; channels: Channel[] }, share: number) {
  const bonds = new Map(net.bonds);
  const channels = [...net.channels];
  const honestBond = [...net.bonds.values()].reduce((a, b) => a + b, 0n);
  for (let j = 0; j < 10; j++) {
    bonds.set(`idle-${j}`, (honestBond * BigInt(Math.round(share * 1000))) / 10_000n);
    channels.push({ consumer: `idle-consumer-${j}`, provider: `idle-${j}`, bytes: GIB / 10n, paid: PRICE / 10n });
  }
  return { bonds, channels };
}

/**
 * Adds honest idle bond as `withIdleBond` does, each idle provider also serving one honest consumer a tenth of what
 * that consumer bought in all: an honest bond majority tied together by shared consumers.
 */
function withConnectedIdleBond(net: { bonds: Map<string, bigint>; channels: Channel[] }, share: number) {
  const idle = withIdleBond(net, share);
  for (let j = 0; j < 10; j++) {
    const bought = net.channels.filter((c) => c.consumer === `consumer-${j}`).reduce((a, c) => a + c.bytes, 0n);
    idle.channels.push({
      consumer: `consumer-${j}`,
      provider: `idle-${j}`,
      bytes: bought / 10n,
      paid: ((bought / 10n) * PRICE) / GIB,
    });
  }
  return idle;
}

/** The attacker's consumers buy `factor` × each of the `n` busiest honest providers' own bytes from it, paid. */
function withPurchases(net: { bonds: Map<string, bigint>; channels: Channel[] }, n: number, factor: number) {
  const carried = new Map<string, bigint>();
  for (const c of net.channels)
    if (c.provider.startsWith("honest-")) carried.set(c.provider, (carried.get(c.provider) ?? 0n) + c.bytes);
  const busiest = [...carried].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).slice(0, n);
  const bought = busiest.map(([provider, bytes], i) => {
    const b = (bytes * BigInt(Math.round(factor * 1000))) / 1000n;
    return { consumer: `attacker-consumer-${i % 10}`, provider, bytes: b, paid: (b * PRICE) / GIB };
  });
  return { bonds: net.bonds, channels: [...net.channels, ...bought] };
}

/**
 * The join: the attacker's first consumer buys `bytes`, paid, from the honest provider that carried the most, so
 * that the attacker's starved pots fall into the honest providers' blocked region.
 */
function withJoin(net: { bonds: Map<string, bigint>; channels: Channel[] }, bytes: bigint) {
  const carried = new Map<string, bigint>();
  for (const c of net.channels)
    if (c.provider.startsWith("honest-")) carried.set(c.provider, (carried.get(c.provider) ?? 0n) + c.bytes);
  const busiest = [...carried].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  return {
    bonds: net.bonds,
    channels: [
      ...net.channels,
      { consumer: "attacker-consumer-0", provider: busiest, bytes, paid: (bytes * PRICE) / GIB },
    ],
  };
}

/** Runs the credit rules and returns the three figures (shares of R). */
function figures(net: { bonds: Map<string, bigint>; channels: Channel[] }) {
  const peers = new Map<string, string>();
  let tag = 1;
  const addressOf = (peer: string) => {
    if (!peers.has(peer)) peers.set(peer, address(tag++));
    return peers.get(peer)!;
  };
  const receipts: VerifiedReceipt[] = net.channels.map((c, i) => ({
    hash: toBeHex(i + 1, 32),
    provider: c.provider,
    consumer: c.consumer,
    bytes: c.bytes,
  }));
  const paid = new Map(net.channels.map((c) => [`${addressOf(c.consumer)}>${addressOf(c.provider)}`, c.paid]));
  const contributions = computePaidContributions({
    receipts,
    outcomes: [],
    addressOf,
    consumerAccountOf: addressOf,
    paidOf: (consumer, account) => paid.get(`${consumer}>${account}`) ?? 0n,
    payment,
  });
  const bondByAccount = new Map([...net.bonds].map(([peer, bond]) => [addressOf(peer), bond]));
  const s = saturate(contributions, (a) => bondByAccount.get(a) ?? 0n, R, terms);
  const isAttacker = (account: string) => [...peers].some(([peer, a]) => a === account && peer.startsWith("attacker-"));
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  const ratio = (a: bigint, b: bigint) => Number((a * 10n ** 9n) / b) / 1e9;
  const attackerShare = sum(s.entries.filter((e) => isAttacker(e.account)).map((e) => e.contribution));
  const attackerOwnShare = sum(s.entries.filter((e) => isAttacker(e.account)).map((e) => e.uncapped));
  const honestShare = sum(s.entries.filter((e) => !isAttacker(e.account)).map((e) => e.contribution));
  const paidBytes = (c: Channel) => {
    const bought = (c.paid * GIB) / PRICE;
    return bought < c.bytes ? bought : c.bytes;
  };
  const attackerPaid = sum(net.channels.filter((c) => c.provider.startsWith("attacker-")).map(paidBytes));
  const honestPaid = sum(net.channels.filter((c) => !c.provider.startsWith("attacker-")).map(paidBytes));
  const attackerBond = sum(s.entries.filter((e) => isAttacker(e.account)).map((e) => e.bond));
  const allBonds = sum(s.entries.map((e) => e.bond));
  const totalC = sum(s.entries.map((e) => e.uncapped));
  return {
    saturated: s,
    attackerShare: ratio(attackerShare, SHARE_SCALE),
    /** The share the attacker's own consumers' pots hold (what its self-paid fees buy back at most). */
    attackerOwnPots: totalC === 0n ? 0 : ratio(attackerOwnShare, totalC),
    attackerBondShare: attackerBond === 0n ? 0 : ratio(attackerBond, allBonds),
    honestVsPaid: ratio(honestShare, SHARE_SCALE) / ratio(honestPaid, honestPaid + attackerPaid),
  };
}

// The honest network's seed (printed; LUMORA_TEST_SEED overrides it). The 0.9 goal on the honest figure is not
// guaranteed for every draw of the network: docs/security.md ("Farming: the simulation") gives its spread over seeds.
const SEED = Number(process.env.LUMORA_TEST_SEED ?? 1);
// Seeds on which the guaranteed bounds (no gain, share ≤ bond share) are checked.
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe("epochs/collect credit rules against farming", () => {
  const net = honestNetwork(SEED);

  it(`pays an honest network at least 0.9 of its paid-bytes share although bonds only follow expected demand (seed ${SEED})`, () => {
    const f = figures(net);
    assert.ok(f.honestVsPaid >= 0.9, `seed ${SEED}: honest share ÷ paid share = ${f.honestVsPaid}`);
  });

  it("pays honest providers at least 0.9 of their paid-bytes share on every seed, alone or beside a small bond with little volume", () => {
    // The honest network alone lost a tenth of R, and beside k = 100 identities at minBond (a sixth of the bonds, a
    // tenth of the volume) up to 0.86: a capped provider drew its cap in proportion from all its consumers' pots,
    // so pots that only capped providers could take kept their rest while their neighbours had room.
    for (const seed of SEEDS) {
      const alone = figures(honestNetwork(seed));
      assert.ok(alone.honestVsPaid >= 0.9, `seed ${seed}, alone: ${alone.honestVsPaid}`);
      for (const k of [1, 10, 100]) {
        const f = figures(withAttacker(honestNetwork(seed), k, 0.05, 0.1));
        assert.ok(f.honestVsPaid >= 0.9, `seed ${seed}, k = ${k}: ${f.honestVsPaid}`);
        assert.ok(f.attackerShare <= f.attackerBondShare + 1e-9, `seed ${seed}, k = ${k}: within its bond share`);
        assert.ok(f.attackerShare <= f.attackerOwnPots + 1e-9, `seed ${seed}, k = ${k}: within its own pots`);
      }
    }
  });

  for (const k of [1, 10, 100]) {
    it(`caps a busy self-dealer with k = ${k} identities on a small bond at its bond share, on every seed`, () => {
      for (const seed of SEEDS) {
        for (const volume of [0.1, 1, 10]) {
          const f = figures(withAttacker(honestNetwork(seed), k, 0.05, volume));
          const at = `seed ${seed}, volume ${volume}`;
          assert.ok(
            f.attackerShare <= f.attackerBondShare + 1e-9,
            `${at}: ${f.attackerShare} ≤ ${f.attackerBondShare}`,
          );
          assert.ok(f.attackerShare <= f.attackerOwnPots + 1e-9, `${at}: never more than its own consumers paid for`);
        }
      }
    });

    it(`does not let an idle bond with k = ${k} identities starve the honest providers' caps (seed ${SEED})`, () => {
      // Half the honest bonds, a tenth of their volume: under caps alone (min(s_i, β_i), nothing handed on) the
      // honest accounts, holding two thirds of the bonds for nine tenths of the paid bytes, got about 0.65.
      const f = figures(withAttacker(net, k, 0.5, 0.1));
      assert.ok(f.saturated.lift > 10n ** 9n, "the honest majority's caps were lifted");
      assert.ok(f.honestVsPaid >= 0.9, `honest share ÷ paid share = ${f.honestVsPaid}`);
      for (const seed of SEEDS) {
        const g = figures(withAttacker(honestNetwork(seed), k, 0.5, 0.1));
        assert.ok(g.attackerShare <= g.attackerOwnPots + 1e-9, `seed ${seed}: the attacker gains nothing from a lift`);
        assert.ok(g.attackerShare <= g.attackerBondShare, `seed ${seed}: and stays under its bond share`);
      }
    });
  }

  it("keeps a self-dealer with a large bond and large volume under its bond share, on every seed", () => {
    for (const seed of SEEDS) {
      for (const k of [1, 10, 100]) {
        for (const volume of [1, 10]) {
          const f = figures(withAttacker(honestNetwork(seed), k, 0.5, volume));
          const at = `seed ${seed}, k = ${k}, volume ${volume}`;
          assert.ok(
            f.attackerShare <= f.attackerBondShare + 1e-9,
            `${at}: ${f.attackerShare} ≤ ${f.attackerBondShare}`,
          );
          assert.ok(f.attackerShare <= f.attackerOwnPots + 1e-9, `${at}: never more than its own consumers paid for`);
        }
      }
    }
  });

  it("does not lift a busy self-dealer that joins the honest providers' blocked region by buying from one of them, on every seed", () => {
    // The honest providers are starved and lifted into an idle honest bond's unused capacity. The attacker's own
    // consumer buys a GiB from the busiest honest provider, which links its starved pots to theirs: the honest
    // region (with 60 % idle bond beside it, a majority only with the attacker; with 40 %, on its own) must not
    // carry the attacker's caps up with it.
    for (const seed of SEEDS) {
      for (const idle of [0.4, 0.6]) {
        for (const k of [1, 10]) {
          const f = figures(withJoin(withAttacker(withIdleBond(honestNetwork(seed), idle), k, 0.3, 1), GIB));
          const at = `seed ${seed}, idle ${idle}, k = ${k}`;
          assert.ok(
            f.attackerShare <= f.attackerBondShare + 1e-9,
            `${at}: ${f.attackerShare} ≤ ${f.attackerBondShare} (lift ${f.saturated.lift})`,
          );
        }
      }
    }
  });

  it("keeps an attacker that buys heavily from the starved honest providers under its bond share while the honest bond majority shares consumers", () => {
    // The residual of docs/security.md ("What remains"): beside an idle honest bond that serves only consumers of
    // its own, an attacker with more bond than the starved honest providers can tip their region over half with
    // paid purchases and become the lift's core. Tied to the honest network by shared consumers, the honest bond
    // majority is found as the core first, and the same purchases gain nothing.
    for (const seed of [1, 2, 3]) {
      for (const idle of [0.6, 1.0]) {
        for (const bond of [0.3, 0.5]) {
          for (const [n, factor] of [
            [1, 1],
            [3, 1],
            [5, 0.5],
          ] as const) {
            const f = figures(
              withPurchases(withAttacker(withConnectedIdleBond(honestNetwork(seed), idle), 10, bond, 1), n, factor),
            );
            const at = `seed ${seed}, idle ${idle}, bond ${bond}, ${n} × ${factor}`;
            assert.ok(
              f.attackerShare <= f.attackerBondShare + 1e-9,
              `${at}: ${f.attackerShare} ≤ ${f.attackerBondShare}`,
            );
          }
        }
      }
    }
  });
});
