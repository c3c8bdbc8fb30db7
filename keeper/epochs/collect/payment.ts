/**
 * Paid demand: bytes count toward C_i only up to what their consumer paid for them, plus a bounded subsidy for
 * unpaid bytes. Pure; docs/security.md ("Paid demand") is the normative text.
 *
 * A channel is one (consumer, provider account) pair, the channel of CreditVault's vouchers. Per channel c in the
 * epoch, with `bytes_c` the verified bytes carried and `paid_c` the token units its consumer paid (the settled
 * increase of its voucher):
 *
 *   paidBytes_c = min(bytes_c, ⌊paid_c · GiB / price⌋)                   price: token units per GiB
 *   P_i = Σ paidBytes_c over account i's channels
 *   U_i = Σ (bytes_c − paidBytes_c) over account i's channels              (unpaid bytes)
 *   credited_i = P_i + min(U_i, ⌊P_i · subsidyBps / 10,000⌋)
 *
 * So an account that was paid nothing is credited nothing, whatever its receipts say, and unpaid bytes add at most
 * `subsidyBps` of what was paid. Paying for a channel beyond its bytes credits nothing extra: a payment buys credit
 * only for bytes a consumer verified on that very channel.
 */
import { getAddress } from "ethers";

import { BPS, GIB } from "./constants.ts";
import { compareAddresses } from "./contribution.ts";

/** What one channel carried and was paid in the epoch. Several flows of one channel are summed. */
export interface ChannelFlow {
  /** The consumer's voucher address. */
  consumer: string;
  /** The provider's reward account (the voucher's `provider`). */
  account: string;
  /** Verified bytes carried on the wire to the consumer. */
  bytes: bigint;
  /** Token units the consumer paid on this channel for the epoch. */
  paid: bigint;
}

export interface PaymentTerms {
  /** Token units per GiB (> 0). */
  weiPerGiB: bigint;
  /** Unpaid bytes credited per account, at most this share of its paid bytes, in basis points (≥ 0). */
  subsidyBps: bigint;
}

/** Per account: what it carried, what of it was paid, and what is credited. */
export interface CreditedBytes {
  account: string;
  bytes: bigint;
  paidBytes: bigint;
  subsidisedBytes: bigint;
  credited: bigint;
}

/** Checks the terms once, at the boundary. */
export function checkPaymentTerms(terms: PaymentTerms): void {
  if (terms.weiPerGiB <= 0n) throw new RangeError(`weiPerGiB must be > 0, got ${terms.weiPerGiB}`);
  if (terms.subsidyBps < 0n) throw new RangeError(`subsidyBps must be ≥ 0, got ${terms.subsidyBps}`);
}

/** Bytes that `paid` token units buy at `weiPerGiB`. */
export function bytesPaidFor(paid: bigint, weiPerGiB: bigint): bigint {
  return paid <= 0n ? 0n : (paid * GIB) / weiPerGiB;
}

/** Credited bytes per account (formula in the header), ascending by address; accounts credited nothing dropped. */
export function creditBytes(flows: readonly ChannelFlow[], terms: PaymentTerms): CreditedBytes[] {
  checkPaymentTerms(terms);
  const channels = new Map<string, { account: string; bytes: bigint; paid: bigint }>();
  for (const f of flows) {
    if (f.bytes < 0n || f.paid < 0n) throw new RangeError(`negative flow ${f.bytes} bytes / ${f.paid} paid`);
    const account = getAddress(f.account);
    const key = `${getAddress(f.consumer)}>${account}`;
    const c = channels.get(key) ?? { account, bytes: 0n, paid: 0n };
    c.bytes += f.bytes;
    c.paid += f.paid;
    channels.set(key, c);
  }
  const perAccount = new Map<string, { bytes: bigint; paidBytes: bigint }>();
  for (const c of channels.values()) {
    const bought = bytesPaidFor(c.paid, terms.weiPerGiB);
    const a = perAccount.get(c.account) ?? { bytes: 0n, paidBytes: 0n };
    a.bytes += c.bytes;
    a.paidBytes += c.bytes < bought ? c.bytes : bought;
    perAccount.set(c.account, a);
  }
  const out: CreditedBytes[] = [];
  for (const [account, a] of perAccount) {
    const unpaid = a.bytes - a.paidBytes;
    const allowance = (a.paidBytes * terms.subsidyBps) / BPS;
    const subsidisedBytes = unpaid < allowance ? unpaid : allowance;
    const credited = a.paidBytes + subsidisedBytes;
    if (credited > 0n) out.push({ account, bytes: a.bytes, paidBytes: a.paidBytes, subsidisedBytes, credited });
  }
  return out.sort((x, y) => compareAddresses(x.account, y.account));
}
