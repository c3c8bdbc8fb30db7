/**
 * Paid demand at the close: which channel each receipt's bytes travelled on, and what its consumer paid for the epoch,
 * from the vouchers the receipts carry — then C_i through credit.ts (bytes bounded by payment, payment.ts). Pure; the
 * collector and the evidence recompute call the same function, so a verifier reproduces C_i from the publication.
 * docs/epochs.md ("Paid demand") is the normative text.
 *
 * - A receipt's voucher counts only when its EIP-712 signature recovers to its consumer for the epoch's vault and it
 *   pays the channel of the receipt's provider (its reward account); otherwise the receipt is unpaid (and a verifier
 *   reports it).
 * - A consumer peer pays through one address: the consumer of its receipts' valid vouchers. A peer naming two payers
 *   in one epoch is unpaid.
 * - Per channel c (payer, account): `highest_c` = the largest valid cumulative amount among the epoch's receipts,
 *   `paidBefore_c` = the largest counted by an earlier epoch (the keeper's history; published with the evidence), and
 *   `paid_c = max(0, highest_c − paidBefore_c)`: a cumulative voucher pays an epoch only for its increase, so one
 *   voucher shown in two epochs is paid once.
 */
import { getAddress } from "ethers";

import { verifyVoucher, type SignedVoucher, type VaultDomain } from "../../payment/index.ts";
import { computePaidContributions } from "./credit.ts";
import type { ChannelPayment, PaymentRule } from "../types.ts";
import type { AccountContribution, NodeOutcomes, VerifiedReceipt } from "./contribution.ts";

export type { ChannelPayment, PaymentRule };

/** A verified receipt with the voucher it carries (its own signature not yet checked). */
export interface PaidReceipt extends VerifiedReceipt {
  voucher?: SignedVoucher;
}

export interface PaidInput {
  receipts: readonly PaidReceipt[];
  outcomes: readonly NodeOutcomes[];
  addressOf: (peerId: string) => string | undefined;
  /** Providers whose credit the epoch's audits took: their receipts count nothing. */
  disqualified: ReadonlySet<string>;
  rule: PaymentRule;
  /** Cumulative amount of channel (consumer, account) counted by earlier epochs (0 when none). */
  paidBefore: (consumer: string, account: string) => bigint;
}

export interface PaidResult {
  contributions: AccountContribution[];
  channels: ChannelPayment[];
  /** Vouchers that do not count, and why (a verifier reports them; the collector logs them). */
  problems: string[];
}

const key = (consumer: string, account: string) => `${consumer}>${account}`;

/** C_i under paid demand (rules in the header), and each channel's payment. */
export function paidContributions(input: PaidInput): PaidResult {
  const problems: string[] = [];
  const payerOf = new Map<string, string | null>();
  const highest = new Map<string, { consumer: string; account: string; amount: bigint }>();
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
    const k = key(v.consumer, v.provider);
    const h = highest.get(k);
    if (h === undefined || v.cumulativeAmount > h.amount)
      highest.set(k, { consumer: v.consumer, account: v.provider, amount: v.cumulativeAmount });
  }
  const channels: ChannelPayment[] = [];
  const paid = new Map<string, bigint>();
  for (const [k, h] of [...highest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const before = input.paidBefore(h.consumer, h.account);
    const upTo = h.amount > before ? h.amount : before;
    channels.push({ consumer: h.consumer, account: h.account, paidBefore: before, paidUpTo: upTo });
    paid.set(k, upTo - before);
  }
  const contributions = computePaidContributions({
    receipts: counted,
    outcomes: input.outcomes,
    addressOf: input.addressOf,
    consumerAccountOf: (peerId) => payerOf.get(peerId) ?? undefined,
    paidOf: (consumer, account) => paid.get(key(getAddress(consumer), getAddress(account))) ?? 0n,
    payment: { weiPerGiB: input.rule.weiPerGiB, subsidyBps: input.rule.subsidyBps },
  });
  return { contributions, channels, problems };
}
