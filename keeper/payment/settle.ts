/**
 * Settling vouchers on chain: of any set of vouchers (a provider's store, an epoch's published evidence), the highest
 * per channel is sent to CreditVault.settle — only where it is above what the channel settled and the consumer has a
 * deposit left, so nothing is sent that the vault would refuse. Anyone may settle; the fees go to the RewardPool
 * whoever sends the transaction. A channel settled twice is harmless: the second settle has nothing to take.
 */
import { getAddress } from "ethers";

import type { CreditVault } from "../../types/ethers-contracts/index.ts";
import type { SignedVoucher } from "./voucher.ts";

/** The highest voucher of each channel in `vouchers` (by consumer, then provider account). */
export function highestPerChannel(vouchers: Iterable<SignedVoucher>): SignedVoucher[] {
  const best = new Map<string, SignedVoucher>();
  for (const v of vouchers) {
    const k = `${getAddress(v.consumer)}>${getAddress(v.provider)}`;
    const b = best.get(k);
    if (b === undefined || v.cumulativeAmount > b.cumulativeAmount) best.set(k, v);
  }
  return [...best.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

export interface SettleOutcome {
  consumer: string;
  provider: string;
  cumulativeAmount: bigint;
  /** What the channel had settled before. */
  settledBefore: bigint;
  /** What this settlement took from the deposit (0 when skipped). */
  paid: bigint;
  /** Why nothing was sent: "settled" (nothing above what was settled) or "no deposit". */
  skipped?: "settled" | "no deposit";
  txHash?: string;
}

/**
 * Settles the highest voucher of each channel through `vault` (connected to the signer that pays the gas), one
 * transaction at a time, each awaited.
 */
export async function settleVouchers(
  vault: CreditVault,
  vouchers: Iterable<SignedVoucher>,
  options: { signal?: AbortSignal } = {},
): Promise<SettleOutcome[]> {
  const out: SettleOutcome[] = [];
  for (const v of highestPerChannel(vouchers)) {
    options.signal?.throwIfAborted();
    const [settledBefore, deposit] = await Promise.all([
      vault.settledOf(v.consumer, v.provider),
      vault.depositOf(v.consumer),
    ]);
    const base = { consumer: v.consumer, provider: v.provider, cumulativeAmount: v.cumulativeAmount, settledBefore };
    if (v.cumulativeAmount <= settledBefore) {
      out.push({ ...base, paid: 0n, skipped: "settled" });
      continue;
    }
    if (deposit.balance === 0n) {
      out.push({ ...base, paid: 0n, skipped: "no deposit" });
      continue;
    }
    const tx = await vault.settle(
      {
        consumer: v.consumer,
        provider: v.provider,
        consumerPeer: v.consumerPeer,
        cumulativeAmount: v.cumulativeAmount,
      },
      v.signature,
    );
    await tx.wait();
    const after = await vault.settledOf(v.consumer, v.provider);
    out.push({ ...base, paid: after - settledBefore, txHash: tx.hash });
  }
  return out;
}
