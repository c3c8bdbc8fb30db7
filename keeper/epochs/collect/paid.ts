/**
 * Paid demand at the close: which channel each receipt's bytes travelled on, and what its consumer paid for the epoch
 * — settled on chain, not merely signed — then C_i through credit.ts (bytes bounded by payment, payment.ts). Pure; the
 * collector and the evidence recompute call the same functions, so a verifier reproduces C_i from the publication.
 * docs/epochs.md ("Paid demand") is the normative text.
 *
 * - A receipt's voucher counts only when its EIP-712 signature recovers to its consumer for the epoch's vault, it pays
 *   the channel of the receipt's provider (its reward account) and it is signed for the receipt's consumer peer (the
 *   voucher's `consumerPeer` is taken from the receipt, payment/voucher.ts): otherwise the receipt is unpaid (and a
 *   verifier reports it). So a voucher copied from published evidence pays nothing for another peer's receipts.
 * - A consumer peer pays through one address: the consumer of its receipts' valid vouchers. A peer naming two payers
 *   in one epoch is unpaid.
 * - Per channel c (payer, account), with `highest_c` the largest valid cumulative amount among the epoch's receipts and
 *   the vault's word (payment/settlement.ts) — `before_c`, settled when the previous epoch was committed, and
 *   `settled_c`, settled at the close —
 *     paidUpTo_c = max(before_c, min(highest_c, settled_c)),   paid_c = paidUpTo_c − before_c:
 *   bytes are paid only by vouchers the vault settled, a settled token pays one epoch only, and a voucher settled
 *   beyond what the epoch's receipts show pays for later bytes, not these.
 */
import { channelKey, verifyVoucher, type ChannelSettlement, type SignedVoucher } from "../../payment/index.ts";
import { computePaidContributions } from "./credit.ts";
import type { ChannelPayment, PaymentRule } from "../types.ts";
import type { AccountContribution, NodeOutcomes, VerifiedReceipt } from "./contribution.ts";

export type { ChannelPayment, PaymentRule };

/** A verified receipt with the voucher it carries (its own signature not yet checked). */
export interface PaidReceipt extends VerifiedReceipt {
  voucher?: SignedVoucher;
}

/** The epoch's receipts grouped into paid channels (first step, before the chain is read). */
export interface PaidChannels {
  /** The receipts that count (those of disqualified providers left out). */
  counted: VerifiedReceipt[];
  /** Payer address of each consumer peer; null when it named two. */
  payerOf: Map<string, string | null>;
  /** The highest valid voucher of each channel, by channel key (what to settle and read). */
  highest: Map<string, SignedVoucher>;
  problems: string[];
}

export interface PaidChannelsInput {
  receipts: readonly PaidReceipt[];
  addressOf: (peerId: string) => string | undefined;
  /** Providers whose credit the epoch's audits took: their receipts count nothing. */
  disqualified: ReadonlySet<string>;
  rule: PaymentRule;
}

/** Checks every receipt's voucher and keeps the highest valid one per channel (rules in the header). */
export function paidChannels(input: PaidChannelsInput): PaidChannels {
  const problems: string[] = [];
  const payerOf = new Map<string, string | null>();
  const highest = new Map<string, SignedVoucher>();
  const counted: VerifiedReceipt[] = [];
  for (const r of input.receipts) {
    if (input.disqualified.has(r.provider)) continue;
    counted.push(r);
    if (r.voucher === undefined) continue;
    const account = input.addressOf(r.provider);
    let v: SignedVoucher;
    try {
      if (account === undefined) throw new Error("its provider has no reward account");
      v = verifyVoucher(input.rule.domain, r.voucher, account);
    } catch (err) {
      problems.push(`receipt ${r.hash}: voucher does not count: ${(err as Error).message}`);
      continue;
    }
    const payer = payerOf.get(r.consumer);
    if (payer === undefined) payerOf.set(r.consumer, v.consumer);
    else if (payer !== null && payer !== v.consumer) {
      problems.push(`consumer ${r.consumer} names two payers (${payer}, ${v.consumer}): its receipts are unpaid`);
      payerOf.set(r.consumer, null);
    }
    const k = channelKey(v.consumer, v.provider);
    const h = highest.get(k);
    if (h === undefined || v.cumulativeAmount > h.cumulativeAmount) highest.set(k, v);
  }
  return { counted, payerOf, highest, problems };
}

export interface PaidInput {
  outcomes: readonly NodeOutcomes[];
  addressOf: (peerId: string) => string | undefined;
  rule: PaymentRule;
  /** What the vault settled on each channel (by channel key); a channel absent settled nothing. */
  settlement: ReadonlyMap<string, ChannelSettlement>;
}

export interface PaidResult {
  contributions: AccountContribution[];
  channels: ChannelPayment[];
}

/** C_i under paid demand (rules in the header), and each channel's payment. */
export function paidContributions(paid: PaidChannels, input: PaidInput): PaidResult {
  const channels: ChannelPayment[] = [];
  const amounts = new Map<string, bigint>();
  for (const [k, v] of [...paid.highest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { before, settled } = input.settlement.get(k) ?? { before: 0n, settled: 0n };
    const shown = v.cumulativeAmount < settled ? v.cumulativeAmount : settled;
    const upTo = shown > before ? shown : before;
    channels.push({ consumer: v.consumer, account: v.provider, paidBefore: before, paidUpTo: upTo });
    amounts.set(k, upTo - before);
  }
  const contributions = computePaidContributions({
    receipts: paid.counted,
    outcomes: input.outcomes,
    addressOf: input.addressOf,
    consumerAccountOf: (peerId) => paid.payerOf.get(peerId) ?? undefined,
    paidOf: (consumer, account) => amounts.get(channelKey(consumer, account)) ?? 0n,
    payment: { weiPerGiB: input.rule.weiPerGiB, subsidyBps: input.rule.subsidyBps },
  });
  return { contributions, channels };
}
