/**
 * C_i under paid demand: the epoch's verified receipts, grouped into CreditVault channels (consumer → provider
 * account), credited only as far as paid (payment.ts), then weighted by the account's outcomes exactly as
 * contribution.ts weights bytes. Pure; stake saturation (saturation.ts) applies to its result.
 */
import { getAddress } from "ethers";

import {
  consumerList,
  contributionOf,
  type AccountContribution,
  type NodeOutcomes,
  type VerifiedReceipt,
} from "./contribution.ts";
import { bytesPaidFor, creditBytes, type ChannelFlow, type PaymentTerms } from "./payment.ts";

export interface PaidContributionInput {
  /** The epoch's verified receipts; `bytes` are the bytes carried on the wire. */
  receipts: readonly VerifiedReceipt[];
  outcomes: readonly NodeOutcomes[];
  /** On-chain reward account of a provider peer; undefined when unknown (its receipts count nothing). */
  addressOf: (peerId: string) => string | undefined;
  /** Voucher address of a consumer peer; undefined when it has none (its receipts are unpaid). */
  consumerAccountOf: (peerId: string) => string | undefined;
  /** Token units `consumer` paid on its channel to `account` for this epoch. */
  paidOf: (consumer: string, account: string) => bigint;
  payment: PaymentTerms;
}

/** The channel key of receipts whose consumer has no voucher address: unpaid, credited within the subsidy only. */
const unpaidConsumer = "0x0000000000000000000000000000000000000000";

/**
 * How an account's credited bytes split over its channels: each channel's paid bytes, plus the account's subsidised
 * bytes shared out in proportion to each channel's unpaid bytes (the saturation's per-consumer pots, saturation.ts).
 */
function creditedByConsumer(
  flows: readonly ChannelFlow[],
  credited: { account: string; bytes: bigint; paidBytes: bigint; subsidisedBytes: bigint },
  payment: PaymentTerms,
) {
  const unpaid = credited.bytes - credited.paidBytes;
  const byConsumer = new Map<string, bigint>();
  for (const f of flows) {
    const bought = bytesPaidFor(f.paid, payment.weiPerGiB);
    const paid = f.bytes < bought ? f.bytes : bought;
    const subsidy = unpaid === 0n ? 0n : (credited.subsidisedBytes * (f.bytes - paid)) / unpaid;
    // Unpaid bytes of different providers share no consumer who paid: each account's are a pot of its own.
    const pot = f.consumer === unpaidConsumer ? `unpaid:${credited.account}` : f.consumer;
    byConsumer.set(pot, (byConsumer.get(pot) ?? 0n) + paid + subsidy);
  }
  return consumerList(byConsumer);
}

/**
 * C_i per account from credited bytes, ascending by address, zero contributions dropped. Receipts count once (by
 * hash); a receipt whose consumer is its provider, or whose provider has no reward account, counts nothing; a
 * receipt whose consumer has no voucher address is unpaid (credited only within the subsidy).
 */
export function computePaidContributions(input: PaidContributionInput): AccountContribution[] {
  const seen = new Set<string>();
  const flows = new Map<string, ChannelFlow>();
  for (const r of input.receipts) {
    if (seen.has(r.hash) || r.consumer === r.provider || r.bytes <= 0n) continue;
    seen.add(r.hash);
    const provider = input.addressOf(r.provider);
    if (provider === undefined) continue;
    const account = getAddress(provider);
    const voucher = input.consumerAccountOf(r.consumer);
    const consumer = voucher === undefined ? unpaidConsumer : getAddress(voucher);
    const key = `${consumer}>${account}`;
    const flow = flows.get(key) ?? { consumer, account, bytes: 0n, paid: 0n };
    flow.bytes += r.bytes;
    flows.set(key, flow);
  }
  for (const flow of flows.values()) {
    if (flow.consumer !== unpaidConsumer) flow.paid = input.paidOf(flow.consumer, flow.account);
  }
  const outcomes = new Map<string, { successes: number; failures: number }>();
  for (const o of input.outcomes) {
    const a = input.addressOf(o.peerId);
    if (a === undefined) continue;
    const account = getAddress(a);
    const c = outcomes.get(account) ?? { successes: 0, failures: 0 };
    c.successes += o.successes;
    c.failures += o.failures;
    outcomes.set(account, c);
  }
  const flowsOf = new Map<string, ChannelFlow[]>();
  for (const f of flows.values()) flowsOf.set(f.account, [...(flowsOf.get(f.account) ?? []), f]);
  const result: AccountContribution[] = [];
  for (const credited of creditBytes([...flows.values()], input.payment)) {
    const o = outcomes.get(credited.account) ?? { successes: 0, failures: 0 };
    const contribution = contributionOf(credited.credited, o.successes, o.failures);
    if (contribution > 0n) {
      const consumers = creditedByConsumer(flowsOf.get(credited.account) ?? [], credited, input.payment);
      result.push({ account: credited.account, bytes: credited.credited, ...o, contribution, consumers });
    }
  }
  return result;
}
