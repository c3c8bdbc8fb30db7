/**
 * Paid demand on the keeper's side (DESIGN §3b "Demand is paid"): CreditVault vouchers defined once (voucher.ts), the
 * consumer's payer and the provider's per-session ledger (channel.ts), what a provider keeps per consumer across
 * sessions (limits.ts), the highest vouchers kept per channel (store.ts), their settlement on chain (settle.ts) and
 * what the vault settled for an epoch (settlement.ts).
 */
export * from "./constants.ts";
export * from "./errors.ts";
export {
  SessionLedger,
  VoucherPayer,
  type LedgerComponents,
  type LedgerStats,
  type LedgerTerms,
  type PayerInit,
} from "./channel.ts";
export {
  ConsumerDebts,
  CreditCache,
  LruMap,
  UnfundedBudget,
  vaultCredit,
  type CreditCacheStats,
  type CreditVaultReads,
} from "./limits.ts";
export { PaymentStore, type ReceivedVoucher } from "./store.ts";
export {
  VOUCHER_TYPES,
  bytesPaidBy,
  costOf,
  fromWire,
  peerHash,
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
export {
  VaultSettlement,
  channelKey,
  commitBlockOf,
  settleCutoff,
  settledAtCommits,
  type ChannelSettlement,
  type SettleRead,
  type SettleTx,
} from "./settlement.ts";
