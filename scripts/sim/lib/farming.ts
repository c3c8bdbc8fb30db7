/**
 * The farming simulation (`npm run sim:farming`): an honest network with real paid demand and an attacker with k
 * identities and a bond B self-dealing any volume, run through the real pieces — the Ignition deployment
 * (NodeRegistry, CreditVault, RewardPool) on a Hardhat network, consumers' EIP-712 vouchers settled on chain, the
 * keeper's credit rules (keeper/epochs/collect: computePaidContributions, saturate), the keeper's reward tree
 * (buildEpoch), an on-chain commitment and on-chain claims. Nothing of the economics is re-implemented here: the
 * figures are read back from the chain (settled fees, bonds, claimed rewards).
 *
 * Per scenario the chain is restored to the honest network's snapshot, the attacker acts, one epoch is closed and
 * every leaf is claimed. Gas is not counted (it only makes the attack dearer).
 */
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { Wallet, getBytes, keccak256, toBeHex } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

import LumoraModule from "../../../ignition/modules/Lumora.js";
import { GIB, SHARE_SCALE } from "../../../keeper/epochs/collect/constants.ts";
import { computePaidContributions } from "../../../keeper/epochs/collect/credit.ts";
import { totalContribution, withIndices, type VerifiedReceipt } from "../../../keeper/epochs/collect/contribution.ts";
import { bytesPaidFor, type PaymentTerms } from "../../../keeper/epochs/collect/payment.ts";
import { LIFT_SCALE, saturate, type SaturationTerms } from "../../../keeper/epochs/collect/saturation.ts";
import { buildEpoch } from "../../../keeper/epochs/build.ts";
import type { CreditVault, LumoraToken, NodeRegistry, RewardPool } from "../../../types/ethers-contracts/index.js";
import { signVoucher, type SignedVoucher, type VaultDomain } from "../../../keeper/payment/voucher.ts";
import { mulberry32 } from "../../bench/lib/prng.ts";

const LUM = 10n ** 18n;
const CHALLENGE_WINDOW = 600n;

export interface FarmingParameters {
  seed: number;
  /** Honest providers (one reward account each). */
  providers: number;
  consumers: number;
  /** Providers each honest consumer buys from. */
  channelsPerConsumer: number;
  /** Mean GiB an honest channel carries in the epoch. */
  meanChannelGiB: number;
  /** Mean honest bond per provider, LUM. */
  meanBondLum: bigint;
  /** Share of an honest channel's bytes still unpaid at the close (the last voucher in flight), at most. */
  maxUnpaidShare: number;
  payment: PaymentTerms;
  saturation: Omit<SaturationTerms, "minBond">;
  minBond: bigint;
  burnBps: bigint;
  /** Emission added to the epoch's reward, as a multiple of the honest fees of the epoch. */
  emissionPerHonestFee: number;
}

export interface Scenario {
  /** Attacker identities (reward accounts), each with B/k bonded. */
  identities: number;
  /** Attacker bond B as a share of the honest bonds. */
  bondShare: number;
  /** Self-dealt volume as a multiple of the honest volume. */
  volume: number;
  /** Share of its self-dealt bytes the attacker pays for (1/(1+σ) buys the whole subsidy). */
  paidShare: number;
  /**
   * The attacker's consumers also buy this share of its self-dealt volume, paid, from the honest provider with the
   * most demand: a link into the honest network's blocked region, to be lifted with it (docs/security.md).
   */
  join?: number;
  /**
   * Honest idle bond: ten more honest providers holding this share of the honest bonds, each serving a consumer of
   * its own a tenth of a GiB — unused capacity that a starved region can be lifted into.
   */
  idleBond?: number;
  /** Overrides the emission (see {@link FarmingParameters.emissionPerHonestFee}). */
  emissionPerHonestFee?: number;
  /** Overrides μ (see {@link FarmingParameters.saturation}). */
  saturationBps?: bigint;
}

export interface ScenarioResult {
  scenario: Scenario;
  attackerRewards: bigint;
  attackerFees: bigint;
  attackerBond: bigint;
  honestBond: bigint;
  /** Σ claimed. */
  distributed: bigint;
  honestRewards: bigint;
  honestPaidBytes: bigint;
  attackerPaidBytes: bigint;
  rewardConfigured: bigint;
  rewardCommitted: bigint;
  /** The saturation's majority lift ℓ (1: none). */
  lift: number;
  /** (attacker rewards − fees) / fees (0 when it paid and earned nothing). */
  netGainPerLum: number;
  /** (attacker rewards ÷ the epoch's reward R) ÷ the attacker's share of the contributing bonds. */
  shareVsBondShare: number;
  /** The same with the share taken of what was distributed (R minus what the caps withheld). */
  distributedShareVsBondShare: number;
  /** (honest rewards ÷ the epoch's reward R) ÷ honest share of paid bytes. */
  honestShareVsPaidBytes: number;
  /** The same with the share taken of what was distributed. */
  honestDistributedShareVsPaidBytes: number;
}

interface Channel {
  consumer: Wallet;
  consumerPeer: string;
  account: string;
  providerPeer: string;
  receipts: VerifiedReceipt[];
}

/** The honest network, deployed and settled; scenarios restore its snapshot. */
export interface HonestNetwork {
  connection: NetworkConnection;
  parameters: FarmingParameters;
  token: LumoraToken;
  registry: NodeRegistry;
  vault: CreditVault;
  pool: RewardPool;
  domain: VaultDomain;
  accounts: string[];
  bonds: Map<string, bigint>;
  channels: Channel[];
  honestFees: bigint;
  restore(): Promise<void>;
}

/** A key derived from a label, so runs are reproducible. */
function walletOf(label: string): Wallet {
  return new Wallet(keccak256(new TextEncoder().encode(`lumora-sim:${label}`)));
}

/** A peer id derived from a label (the consumer peer a voucher is signed for). */
async function peerOf(label: string): Promise<string> {
  const key = await generateKeyPairFromSeed(
    "Ed25519",
    getBytes(keccak256(new TextEncoder().encode(`lumora-sim:${label}`))),
  );
  return peerIdFromPrivateKey(key).toString();
}

let receiptCounter = 0;
function receipt(provider: string, consumer: string, bytes: bigint): VerifiedReceipt {
  receiptCounter += 1;
  return { hash: keccak256(toBeHex(receiptCounter, 32)), provider, consumer, bytes };
}

/** Token units that buy `bytes` at the price, rounded up (a consumer paying for all its bytes). */
function priceOf(bytes: bigint, terms: PaymentTerms): bigint {
  return (bytes * terms.weiPerGiB + GIB - 1n) / GIB;
}

async function settleChannel(
  net: { vault: CreditVault; domain: VaultDomain },
  consumer: Wallet,
  account: string,
  cumulative: bigint[],
  consumerPeer: string,
): Promise<void> {
  // The consumer signed one voucher per delivery; only the highest is settled (the lower ones are worthless).
  let highest: SignedVoucher | null = null;
  const peer = await peerOf(consumerPeer);
  for (const amount of cumulative) highest = await signVoucher(consumer, net.domain, account, amount, peer);
  if (highest !== null && highest.cumulativeAmount > 0n) {
    const { signature, ...voucher } = highest;
    await (await net.vault.settle(voucher, signature)).wait();
  }
}

/** Deploys with Ignition, bonds the honest providers, runs and settles their demand, and takes a snapshot. */
export async function honestNetwork(
  connection: NetworkConnection,
  parameters: FarmingParameters,
): Promise<HonestNetwork> {
  const { ethers, ignition, networkHelpers } = connection;
  const rng = mulberry32(parameters.seed);
  const deployed = await ignition.deploy(LumoraModule, {
    parameters: {
      LumoraModule: {
        challengeWindow: CHALLENGE_WINDOW,
        claimPeriod: 30n * 86_400n,
        minBond: parameters.minBond,
        burnBps: parameters.burnBps,
        rewardCapBps: 10_000n,
      },
    },
  });
  const at = async (c: { getAddress(): Promise<string> }) => c.getAddress();
  const token = (await ethers.getContractAt("LumoraToken", await at(deployed.token))) as LumoraToken;
  const registry = (await ethers.getContractAt("NodeRegistry", await at(deployed.nodeRegistry))) as NodeRegistry;
  const vault = (await ethers.getContractAt("CreditVault", await at(deployed.creditVault))) as CreditVault;
  const pool = (await ethers.getContractAt("RewardPool", await at(deployed.rewardPool))) as RewardPool;
  const { chainId } = await ethers.provider.getNetwork();
  const domain: VaultDomain = { chainId, vault: await vault.getAddress() };
  await (await token.approve(await registry.getAddress(), 2n ** 255n)).wait();
  await (await token.approve(await vault.getAddress(), 2n ** 255n)).wait();

  // Providers: popularity weights; each operator bonds in proportion to the demand it expects, ± 20 %.
  const weights = Array.from({ length: parameters.providers }, () => 0.5 + rng());
  const meanWeight = weights.reduce((a, b) => a + b, 0) / weights.length;
  const accounts: string[] = [];
  const bonds = new Map<string, bigint>();
  for (let i = 0; i < parameters.providers; i++) {
    const account = walletOf(`provider-${i}`).address;
    const scale = (weights[i]! / meanWeight) * (0.8 + 0.4 * rng());
    let bond = (parameters.meanBondLum * LUM * BigInt(Math.round(scale * 1000))) / 1000n;
    if (bond < parameters.minBond) bond = parameters.minBond;
    await (await registry.bondFor(account, bond)).wait();
    accounts.push(account);
    bonds.set(account, bond);
  }

  // Consumers: each buys from a few providers chosen by popularity, pays by cumulative vouchers per delivery.
  const channels: Channel[] = [];
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const pick = () => {
    let x = rng() * totalWeight;
    for (let i = 0; i < weights.length; i++) if ((x -= weights[i]!) <= 0) return i;
    return weights.length - 1;
  };
  let honestFees = 0n;
  for (let c = 0; c < parameters.consumers; c++) {
    const consumer = walletOf(`consumer-${c}`);
    const chosen = new Set<number>();
    while (chosen.size < parameters.channelsPerConsumer) chosen.add(pick());
    const plans: { provider: number; deliveries: bigint[]; unpaid: bigint }[] = [];
    let spend = 0n;
    for (const p of chosen) {
      const gib = parameters.meanChannelGiB * (0.25 + 1.5 * rng()) * (weights[p]! / meanWeight);
      const total = (GIB * BigInt(Math.round(gib * 1000))) / 1000n;
      const deliveries = [total / 3n, total / 3n, total - 2n * (total / 3n)];
      const unpaid = (total * BigInt(Math.round(rng() * parameters.maxUnpaidShare * 10_000))) / 10_000n;
      plans.push({ provider: p, deliveries, unpaid });
      spend += priceOf(total, parameters.payment);
    }
    await (await vault.depositFor(consumer.address, 2n * spend + LUM)).wait();
    for (const plan of plans) {
      const account = accounts[plan.provider]!;
      const channel: Channel = {
        consumer,
        consumerPeer: `consumer-${c}`,
        account,
        providerPeer: `provider-${plan.provider}`,
        receipts: [],
      };
      const cumulative: bigint[] = [];
      let carried = 0n;
      for (const bytes of plan.deliveries) {
        channel.receipts.push(receipt(channel.providerPeer, channel.consumerPeer, bytes));
        carried += bytes;
        // The voucher for the last delivery may still be in flight at the close: the unpaid tail.
        const payable = carried === plan.deliveries.reduce((a, b) => a + b, 0n) ? carried - plan.unpaid : carried;
        cumulative.push(priceOf(payable, parameters.payment));
      }
      await settleChannel({ vault, domain }, consumer, account, cumulative, channel.consumerPeer);
      honestFees += await vault.settledOf(consumer.address, account);
      channels.push(channel);
    }
  }
  const snapshot = await networkHelpers.takeSnapshot();
  return {
    connection,
    parameters,
    token,
    registry,
    vault,
    pool,
    domain,
    accounts,
    bonds,
    channels,
    honestFees,
    restore: () => snapshot.restore(),
  };
}

/** One scenario on a restored honest network: the attacker acts, an epoch closes, every leaf is claimed. */
export async function runScenario(net: HonestNetwork, scenario: Scenario): Promise<ScenarioResult> {
  await net.restore();
  const { connection, parameters, token, registry, vault, pool } = net;
  const { ethers, networkHelpers } = connection;
  const [treasury, attacker] = await ethers.getSigners();
  if (treasury === undefined || attacker === undefined) throw new Error("the network needs two accounts");

  // ── the attacker: k bonded identities and self-dealt traffic, partly paid ───────────────────────────────────
  const honestBond = [...net.bonds.values()].reduce((a, b) => a + b, 0n);
  const k = scenario.identities;
  let perIdentity = (BigInt(Math.round(scenario.bondShare * 1e6)) * honestBond) / 1_000_000n / BigInt(k);
  if (perIdentity < parameters.minBond) perIdentity = parameters.minBond;
  const attackerBond = perIdentity * BigInt(k);
  const honestBytes = net.channels.reduce((s, c) => s + c.receipts.reduce((x, r) => x + r.bytes, 0n), 0n);
  const volume = (honestBytes * BigInt(Math.round(scenario.volume * 1e6))) / 1_000_000n;
  const perIdentityBytes = volume / BigInt(k);
  const paidBytesEach = (perIdentityBytes * BigInt(Math.round(scenario.paidShare * 1e6))) / 1_000_000n;
  const feesEach = paidBytesEach > 0n ? priceOf(paidBytesEach, parameters.payment) : 0n;
  const consumerCount = Math.min(k, 10);
  const budget = attackerBond + feesEach * BigInt(k) + LUM * BigInt(consumerCount);
  await (await token.connect(treasury).transfer(attacker.address, budget)).wait();
  await (await token.connect(attacker).approve(await registry.getAddress(), attackerBond)).wait();
  await (await token.connect(attacker).approve(await vault.getAddress(), budget - attackerBond)).wait();

  const attackerAccounts: string[] = [];
  const attackerConsumers = Array.from({ length: consumerCount }, (_, i) => walletOf(`attacker-consumer-${i}`));
  const consumerSpend = new Map<string, bigint>();
  for (let j = 0; j < k; j++) {
    const c = attackerConsumers[j % consumerCount]!;
    consumerSpend.set(c.address, (consumerSpend.get(c.address) ?? 0n) + feesEach);
  }
  for (const c of attackerConsumers) {
    await (await vault.connect(attacker).depositFor(c.address, (consumerSpend.get(c.address) ?? 0n) + LUM)).wait();
  }
  const attackerChannels: Channel[] = [];
  for (let j = 0; j < k; j++) {
    const account = walletOf(`attacker-${j}`).address;
    await (await registry.connect(attacker).bondFor(account, perIdentity)).wait();
    attackerAccounts.push(account);
    const consumer = attackerConsumers[j % consumerCount]!;
    const channel: Channel = {
      consumer,
      consumerPeer: `attacker-consumer-${j % consumerCount}`,
      account,
      providerPeer: `attacker-${j}`,
      receipts: [receipt(`attacker-${j}`, `attacker-consumer-${j % consumerCount}`, perIdentityBytes)],
    };
    if (feesEach > 0n)
      await settleChannel({ vault, domain: net.domain }, consumer, account, [feesEach], channel.consumerPeer);
    attackerChannels.push(channel);
  }
  // Honest idle bond: providers bonded well beyond their demand, whose unused caps a lift can draw on.
  const idleChannels: Channel[] = [];
  const idleAccounts: string[] = [];
  if (scenario.idleBond !== undefined && scenario.idleBond > 0) {
    const each = (honestBond * BigInt(Math.round(scenario.idleBond * 1e6))) / 1_000_000n / 10n;
    const bytes = GIB / 10n;
    const fees = priceOf(bytes, parameters.payment);
    await (await token.connect(treasury).approve(await registry.getAddress(), 10n * each)).wait();
    await (await token.connect(treasury).approve(await vault.getAddress(), 10n * fees)).wait();
    for (let j = 0; j < 10; j++) {
      const account = walletOf(`idle-${j}`).address;
      await (await registry.connect(treasury).bondFor(account, each)).wait();
      const consumer = walletOf(`idle-consumer-${j}`);
      await (await vault.connect(treasury).depositFor(consumer.address, fees)).wait();
      const channel: Channel = {
        consumer,
        consumerPeer: `idle-consumer-${j}`,
        account,
        providerPeer: `idle-${j}`,
        receipts: [receipt(`idle-${j}`, `idle-consumer-${j}`, bytes)],
      };
      await settleChannel({ vault, domain: net.domain }, consumer, account, [fees], channel.consumerPeer);
      idleChannels.push(channel);
      idleAccounts.push(account);
    }
  }

  // The join: bytes an honest provider really carried to the attacker's consumer, paid (fees the attacker's).
  const joinChannels: Channel[] = [];
  if (scenario.join !== undefined && scenario.join > 0) {
    const carried = new Map<string, bigint>();
    for (const c of net.channels)
      carried.set(c.account, (carried.get(c.account) ?? 0n) + c.receipts.reduce((x, r) => x + r.bytes, 0n));
    const busiest = net.accounts.reduce((a, b) => ((carried.get(b) ?? 0n) > (carried.get(a) ?? 0n) ? b : a));
    const joinBytes = (volume * BigInt(Math.round(scenario.join * 1e9))) / 1_000_000_000n + 1n;
    const joinFees = priceOf(joinBytes, parameters.payment);
    const consumer = attackerConsumers[0]!;
    await (await token.connect(treasury).transfer(attacker.address, joinFees)).wait();
    await (await token.connect(attacker).approve(await vault.getAddress(), joinFees)).wait();
    await (await vault.connect(attacker).depositFor(consumer.address, joinFees)).wait();
    const channel: Channel = {
      consumer,
      consumerPeer: "attacker-consumer-0",
      account: busiest,
      providerPeer: `provider-${net.accounts.indexOf(busiest)}`,
      receipts: [receipt(`provider-${net.accounts.indexOf(busiest)}`, "attacker-consumer-0", joinBytes)],
    };
    await settleChannel({ vault, domain: net.domain }, consumer, busiest, [joinFees], channel.consumerPeer);
    joinChannels.push(channel);
  }

  // ── the epoch close: the keeper's credit rules on what the chain says was paid and bonded ───────────────────
  const channels = [...net.channels, ...idleChannels, ...joinChannels, ...attackerChannels];
  const peers = new Map<string, string>();
  const consumers = new Map<string, string>();
  for (const c of channels) {
    peers.set(c.providerPeer, c.account);
    consumers.set(c.consumerPeer, c.consumer.address);
  }
  const paid = new Map<string, bigint>();
  for (const c of channels) {
    paid.set(`${c.consumer.address}>${c.account}`, await vault.settledOf(c.consumer.address, c.account));
  }
  const contributions = computePaidContributions({
    receipts: channels.flatMap((c) => c.receipts),
    outcomes: channels.map((c) => ({ peerId: c.providerPeer, successes: c.receipts.length, failures: 0 })),
    addressOf: (peer) => peers.get(peer),
    consumerAccountOf: (peer) => consumers.get(peer),
    paidOf: (consumer, account) => paid.get(`${consumer}>${account}`) ?? 0n,
    payment: parameters.payment,
  });
  const accounts = contributions.map((c) => c.account);
  const chainBonds = await registry.bondsOf(accounts);
  const bondOf = new Map(accounts.map((a, i) => [a, chainBonds[i]!]));
  const fees = (await vault.totalSettled()) - (await vault.totalBurned());
  const emission =
    (net.honestFees *
      BigInt(Math.round((scenario.emissionPerHonestFee ?? parameters.emissionPerHonestFee) * 1_000_000))) /
    1_000_000n;
  const rewardConfigured = emission + fees;
  await (await token.connect(treasury).approve(await pool.getAddress(), emission + LUM)).wait();
  await (await pool.connect(treasury).fund(emission + LUM)).wait();
  const saturated = saturate(contributions, (a) => bondOf.get(a) ?? 0n, rewardConfigured, {
    saturationBps: scenario.saturationBps ?? parameters.saturation.saturationBps,
    minBond: await registry.minBond(),
  });
  const entries = withIndices(
    saturated.entries.map((e) => ({ bytes: 0n, successes: 0, failures: 0, ...e })),
    (account) => accounts.indexOf(account),
  );
  const built = await buildEpoch({
    epoch: 1,
    startMs: 0,
    endMs: 1,
    tasks: [],
    contributions: entries,
    reputation: [],
    rewardTotal: saturated.rewardTotal,
  });
  const tree = built.rewardTree;
  if (tree === undefined) throw new Error("nobody was credited");
  // The simulation is about the credit rules, not who signs: the admin lets its own key commit directly (the
  // deployment gives KEEPER_ROLE to EpochQuorum alone; the quorum path is tested in EpochQuorum.test.ts).
  await (await pool.connect(treasury).grantRole(await pool.KEEPER_ROLE(), treasury.address)).wait();
  await (
    await pool.connect(treasury).commitEpoch(1, tree.root, totalContribution(entries), saturated.rewardTotal)
  ).wait();
  await networkHelpers.time.increase(CHALLENGE_WINDOW);
  const { root, terms } = await pool.claimHeaderOf(1);
  for (let i = 0; i < tree.values.length; i++) {
    const [epoch, index, account, contribution] = tree.values[i]!;
    await (await pool.claim(epoch, { root, terms }, index, account, contribution, tree.getProof(i))).wait();
  }

  // ── the figures, read back from the chain ───────────────────────────────────────────────────────────────────
  const balances = async (list: string[]) => {
    let sum = 0n;
    for (const a of list) sum += await token.balanceOf(a);
    return sum;
  };
  const attackerRewards = await balances(attackerAccounts);
  const honestRewards = await balances([...net.accounts, ...idleAccounts]);
  const distributed = attackerRewards + honestRewards;
  let attackerFees = 0n;
  for (const c of [...attackerChannels, ...joinChannels])
    attackerFees += paid.get(`${c.consumer.address}>${c.account}`) ?? 0n;
  const paidBytesOf = (list: Channel[]) =>
    list.reduce((s, c) => {
      const carried = c.receipts.reduce((x, r) => x + r.bytes, 0n);
      const bought = bytesPaidFor(paid.get(`${c.consumer.address}>${c.account}`) ?? 0n, parameters.payment.weiPerGiB);
      return s + (carried < bought ? carried : bought);
    }, 0n);
  const honestPaidBytes = paidBytesOf([...net.channels, ...idleChannels, ...joinChannels]);
  const attackerPaidBytes = paidBytesOf(attackerChannels);
  const contributingHonestBond = [...net.accounts, ...idleAccounts]
    .filter((a) => bondOf.has(a))
    .reduce((s, a) => s + (bondOf.get(a) ?? 0n), 0n);
  const ratio = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * SHARE_SCALE) / b) / 1e18);
  const attackerShare = ratio(attackerRewards, rewardConfigured);
  const attackerDistributedShare = ratio(attackerRewards, distributed);
  const honestPaidShare = ratio(honestPaidBytes, honestPaidBytes + attackerPaidBytes);
  const attackerCounted = attackerPaidBytes > 0n ? attackerBond : 0n;
  const bondShare = ratio(attackerCounted, attackerCounted + contributingHonestBond);
  return {
    scenario,
    attackerRewards,
    attackerFees,
    attackerBond,
    honestBond,
    distributed,
    honestRewards,
    honestPaidBytes,
    attackerPaidBytes,
    rewardConfigured,
    rewardCommitted: saturated.rewardTotal,
    lift: Number((saturated.lift * 1_000_000n) / LIFT_SCALE) / 1_000_000,
    netGainPerLum:
      attackerFees === 0n ? (attackerRewards > 0n ? Infinity : 0) : ratio(attackerRewards - attackerFees, attackerFees),
    shareVsBondShare: bondShare === 0 ? (attackerShare > 0 ? Infinity : 0) : attackerShare / bondShare,
    distributedShareVsBondShare:
      bondShare === 0 ? (attackerDistributedShare > 0 ? Infinity : 0) : attackerDistributedShare / bondShare,
    honestShareVsPaidBytes: ratio(honestRewards, rewardConfigured) / honestPaidShare,
    honestDistributedShareVsPaidBytes: ratio(honestRewards, distributed) / honestPaidShare,
  };
}
