/**
 * The contribution metric C_i, ΣC, the reward policy R_total and the Reputation reports of an epoch. Pure:
 * inputs are the epoch's frozen, verified evidence; docs/epochs.md is the normative definition.
 *
 *   B_i = Σ bytes of the distinct consumer-signed receipts naming a provider of account i
 *   S_i, F_i = successes and failures counted for account i's nodes in the epoch (health counters)
 *   C_i = ⌊ B_i · (S_i + 1) / (S_i + F_i + 1) ⌋
 *
 * A provider that served verified bytes and never failed keeps all of them; one that failed as often as it
 * succeeded keeps about half. The +1 keeps a node with no counted outcomes at full weight (no evidence of
 * failure is not a failure).
 */
import { getAddress } from "ethers";

import type { ContributionEntry, ReputationReport } from "../types.ts";

/** One verified receipt, reduced to what the metric needs. */
export interface VerifiedReceipt {
  /** keccak256 of the signed receipt body (deduplication key). */
  hash: string;
  /** Provider peer id. */
  provider: string;
  /** Consumer peer id (signer). */
  consumer: string;
  bytes: bigint;
}

/** One node's counted outcomes in the epoch. */
export interface NodeOutcomes {
  peerId: string;
  successes: number;
  failures: number;
}

/** Bytes credited to an account that one consumer received (the consumer's peer id or voucher address). */
export interface ConsumerBytes {
  consumer: string;
  bytes: bigint;
}

/** Per account: the metric's inputs and result (for logs, docs and the summary). */
export interface AccountContribution {
  account: string;
  bytes: bigint;
  successes: number;
  failures: number;
  contribution: bigint;
  /**
   * How `bytes` split over the consumers that received them, ascending by consumer: the stake saturation hands a
   * capped account's excess only to the other providers of the same consumers (saturation.ts). Absent: one pot.
   */
  consumers?: ConsumerBytes[];
}

export interface ContributionInput {
  receipts: readonly VerifiedReceipt[];
  outcomes: readonly NodeOutcomes[];
  /** On-chain reward address of a peer (its signed peer record); undefined when unknown. */
  addressOf: (peerId: string) => string | undefined;
  /** Providers (peer ids) whose receipts count nothing this epoch: they failed its audits. */
  disqualified?: ReadonlySet<string>;
}

/** Largest count Reputation's packed report holds (uint32). */
const MAX_COUNT = 0xffff_ffff;

/** C_i from its inputs. */
export function contributionOf(bytes: bigint, successes: number, failures: number): bigint {
  if (bytes <= 0n) return 0n;
  return (bytes * BigInt(successes + 1)) / BigInt(successes + failures + 1);
}

function addressOrUndefined(addressOf: (peerId: string) => string | undefined, peerId: string): string | undefined {
  const a = addressOf(peerId);
  return a === undefined ? undefined : getAddress(a);
}

/** Health counts summed per account (several peers may share a reward address). */
function outcomesByAccount(input: ContributionInput): Map<string, { successes: number; failures: number }> {
  const out = new Map<string, { successes: number; failures: number }>();
  for (const o of input.outcomes) {
    const account = addressOrUndefined(input.addressOf, o.peerId);
    if (account === undefined) continue;
    const c = out.get(account) ?? { successes: 0, failures: 0 };
    c.successes += o.successes;
    c.failures += o.failures;
    out.set(account, c);
  }
  return out;
}

/**
 * C_i per account, ascending by address, zero contributions dropped. Receipts count once (by hash); a
 * receipt whose consumer is the provider itself, whose provider has no known reward address, or whose provider
 * is disqualified by the epoch's audits, counts nothing.
 */
export function computeContributions(input: ContributionInput): AccountContribution[] {
  const bytes = new Map<string, Map<string, bigint>>();
  const seen = new Set<string>();
  for (const r of input.receipts) {
    if (seen.has(r.hash) || r.consumer === r.provider || r.bytes <= 0n) continue;
    seen.add(r.hash);
    if (input.disqualified?.has(r.provider) === true) continue;
    const account = addressOrUndefined(input.addressOf, r.provider);
    if (account === undefined) continue;
    const byConsumer = bytes.get(account) ?? new Map<string, bigint>();
    byConsumer.set(r.consumer, (byConsumer.get(r.consumer) ?? 0n) + r.bytes);
    bytes.set(account, byConsumer);
  }
  const outcomes = outcomesByAccount(input);
  const result: AccountContribution[] = [];
  for (const [account, byConsumer] of bytes) {
    const consumers = consumerList(byConsumer);
    const b = consumers.reduce((sum, c) => sum + c.bytes, 0n);
    const o = outcomes.get(account) ?? { successes: 0, failures: 0 };
    const contribution = contributionOf(b, o.successes, o.failures);
    if (contribution > 0n) result.push({ account, bytes: b, ...o, contribution, consumers });
  }
  return result.sort((a, b) => compareAddresses(a.account, b.account));
}

/** The per-consumer split of an account's bytes, ascending by consumer (so equal inputs give equal output). */
export function consumerList(byConsumer: ReadonlyMap<string, bigint>): ConsumerBytes[] {
  return [...byConsumer]
    .filter(([, bytes]) => bytes > 0n)
    .map(([consumer, bytes]) => ({ consumer, bytes }))
    .sort((a, b) => (a.consumer < b.consumer ? -1 : a.consumer > b.consumer ? 1 : 0));
}

/** ΣC over the entries. */
export function totalContribution(entries: readonly { contribution: bigint }[]): bigint {
  let sum = 0n;
  for (const e of entries) sum += e.contribution;
  return sum;
}

/**
 * R_total for an epoch: the configured reward per epoch, capped by the largest reward the pool accepts
 * (RewardPool.maxRewardTotal: its unreserved balance under its absolute and share caps; a commitment above it
 * reverts), and zero when nobody contributed (nothing to distribute).
 */
export function rewardTotalFor(policy: { rewardPerEpoch: bigint }, maxRewardTotal: bigint, totalC: bigint): bigint {
  if (totalC === 0n || policy.rewardPerEpoch <= 0n || maxRewardTotal <= 0n) return 0n;
  return policy.rewardPerEpoch < maxRewardTotal ? policy.rewardPerEpoch : maxRewardTotal;
}

/** Reputation reports per account (counts summed, clamped to uint32), ascending by address, idle nodes dropped. */
export function reputationReports(
  outcomes: readonly NodeOutcomes[],
  addressOf: (peerId: string) => string | undefined,
): ReputationReport[] {
  const byAccount = outcomesByAccount({ receipts: [], outcomes, addressOf });
  return [...byAccount]
    .filter(([, c]) => c.successes + c.failures > 0)
    .map(([node, c]) => ({
      node,
      successes: Math.min(c.successes, MAX_COUNT),
      failures: Math.min(c.failures, MAX_COUNT),
    }))
    .sort((a, b) => compareAddresses(a.node, b.node));
}

/** The reward an entry receives: R_total · C_i / ΣC rounded down, exactly as RewardPool computes it. */
export function rewardOf(rewardTotal: bigint, contribution: bigint, totalC: bigint): bigint {
  return totalC === 0n ? 0n : (rewardTotal * contribution) / totalC;
}

/** Orders checksummed addresses by their numeric value. */
export function compareAddresses(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Attaches stable indices to the contributions (every account must have one). */
export function withIndices(
  contributions: readonly AccountContribution[],
  indexOf: (account: string) => number,
): ContributionEntry[] {
  return contributions.map((c) => ({ account: c.account, index: indexOf(c.account), contribution: c.contribution }));
}
