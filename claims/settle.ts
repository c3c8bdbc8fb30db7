/**
 * Settling an epoch's vouchers (anyone may): the vouchers are read from the epoch's published evidence — each counted
 * receipt carries its channel's latest voucher, signed by the consumer — checked against the vault of the deployment,
 * and the highest of each channel is settled on CreditVault (keeper/payment/settle.ts). Fees go to the RewardPool.
 */
import { getAddress } from "ethers";

import type { EpochEvidence } from "../keeper/epochs/types.ts";
import { settleVouchers, verifyVoucher, type SettleOutcome, type SignedVoucher } from "../keeper/payment/index.ts";
import { verifyReceipt } from "../keeper/transfer/receipt.ts";
import type { CreditVault } from "../types/ethers-contracts/index.ts";
import { formatLum } from "./context.ts";

export interface EpochVouchers {
  /** Valid vouchers, as carried by the receipts (several per channel). */
  vouchers: SignedVoucher[];
  /** Receipts or vouchers that were left out, and why. */
  skipped: string[];
}

/** The vouchers of an epoch's evidence that verify for `vault` on `chainId`. */
export async function vouchersOfEvidence(
  evidence: EpochEvidence,
  vault: { chainId: bigint; address: string },
): Promise<EpochVouchers> {
  const domain = { chainId: vault.chainId, vault: getAddress(vault.address) };
  const vouchers: SignedVoucher[] = [];
  const skipped: string[] = [];
  for (const r of evidence.receipts) {
    try {
      const v = (await verifyReceipt(r)).voucher;
      if (v !== undefined) vouchers.push(verifyVoucher(domain, v));
    } catch (err) {
      skipped.push((err as Error).message);
    }
  }
  return { vouchers, skipped };
}

export interface SettleResult {
  outcomes: SettleOutcome[];
  lines: string[];
  paid: bigint;
}

/** Settles the highest voucher per channel of `vouchers`; one line per channel for the operator. */
export async function settleEpochVouchers(vault: CreditVault, vouchers: SignedVoucher[]): Promise<SettleResult> {
  const outcomes = await settleVouchers(vault, vouchers);
  const lines = outcomes.map((o) =>
    o.skipped !== undefined
      ? `${o.consumer} → ${o.provider}: ${formatLum(o.cumulativeAmount)} not settled (${o.skipped === "settled" ? "already settled" : "no deposit left"})`
      : `${o.consumer} → ${o.provider}: settled ${formatLum(o.paid)} (channel now ${formatLum(o.settledBefore + o.paid)}, tx ${o.txHash})`,
  );
  return { outcomes, lines, paid: outcomes.reduce((n, o) => n + o.paid, 0n) };
}
