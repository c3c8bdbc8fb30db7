/**
 * Paid demand on the keeper's side (DESIGN §3b "Demand is paid"): CreditVault vouchers defined once (voucher.ts), the
 * consumer's payer and the provider's per-session ledger (channel.ts), the highest vouchers kept per channel
 * (store.ts), and their settlement on chain (settle.ts).
 */
export * from "./constants.ts";
export * from "./errors.ts";
export { SessionLedger, VoucherPayer, type LedgerStats, type LedgerTerms, type PayerInit } from "./channel.ts";
export { PaymentStore, type ReceivedVoucher } from "./store.ts";
export {
  VOUCHER_TYPES,
  bytesPaidBy,
  costOf,
  fromWire,
  signVoucher,
  toWire,
  verifyVoucher,
  voucherDigest,
  voucherDomain,
  type SignedVoucher,
  type TypedDataSigner,
  type VaultDomain,
  type Voucher,
  type WireVoucher,
} from "./voucher.ts";
export { highestPerChannel, settleVouchers, type SettleOutcome } from "./settle.ts";
