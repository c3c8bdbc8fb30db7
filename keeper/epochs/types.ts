/**
 * What an epoch close produces and what the chain submission consumes. Shared by the epoch collection,
 * publication, submission and claim tooling.
 */
import type { MerkleTree } from "./merkle/tree.ts";
import type { SettleTerms } from "../payment/settlement.ts";
import type { VaultDomain } from "../payment/voucher.ts";

export type { SettleTerms };

/** One contributor of an epoch. `index` is the account's stable index (assigned once, reused every epoch). */
export interface ContributionEntry {
  /** Checksummed on-chain reward address. */
  account: string;
  /** Stable leaf index of the account (keys RewardPool's claimed bitmap). */
  index: number;
  /** C_i (see docs/epochs.md for its definition). */
  contribution: bigint;
}

/** One node's health counts for the epoch (input to Reputation.applyReports). */
export interface ReputationReport {
  /** Checksummed on-chain address of the node. */
  node: string;
  successes: number;
  failures: number;
}

/**
 * A TaskLog record as a leaf value, in TASK_LEAF_ENCODING order:
 * [taskId, consumer, executor, bytesMoved, startedAt, endedAt, status, dataSha256, attempts, evidence].
 */
export type TaskRecordValue = readonly [string, string, string, bigint, bigint, bigint, number, string, number, string];

/** A RewardPool leaf value: [epoch, index, account, contribution]. */
export type RewardLeafValue = readonly [bigint, bigint, string, bigint];

/** Everything frozen at an epoch's close. */
export interface EpochBundle {
  epoch: number;
  /** Unix ms bounds of the epoch: [start, end). */
  startMs: number;
  endMs: number;
  tasks: TaskRecordValue[];
  contributions: ContributionEntry[];
  reputation: ReputationReport[];
  /** R_total committed to RewardPool for this epoch. */
  rewardTotal: bigint;
  /** keccak256 of each signed receipt body the epoch counted: its evidence, published as evidence.json. */
  receiptHashes?: string[];
  /**
   * The identity of the observation set the reports and C_i were merged from (observe/observation.ts
   * `observationSetHash`), bound by the commitment's evidence hash; absent or zero without one.
   */
  observationsHash?: string;
  /** Providers (peer ids) whose receipts counted nothing because they failed the epoch's audits (the audits
   * themselves are in the epoch's evidence). */
  disqualified?: string[];
}

/** An epoch with its trees built. */
export interface BuiltEpoch {
  bundle: EpochBundle;
  taskTree?: MerkleTree<TaskRecordValue>;
  rewardTree?: MerkleTree<RewardLeafValue>;
  totalContribution: bigint;
}

/** A counted receipt in full, as published in an epoch's evidence. */
export interface EvidenceReceipt {
  /** Provider peer id. */
  provider: string;
  /** The signed ReceiptBody and its consumer's signature. */
  body: Uint8Array;
  signature: Uint8Array;
}

/** What an epoch counted, in full (proofs/evidence.ts publishes and checks it). */
export interface EpochEvidence {
  receipts: EvidenceReceipt[];
  /** Signed peer records by peer id, as frozen. */
  records: Array<{ peerId: string; record: Uint8Array }>;
  /** Health counts per peer, as frozen. */
  outcomes: Array<{ peerId: string; successes: number; failures: number }>;
  /** The signed audit outcomes the epoch judged (keeper/audit); absent in evidence published before audits. */
  audits?: Array<{ body: Uint8Array; signature: Uint8Array }>;
  /** The rule that turned them into lost credit (keeper/audit/verdict.ts). */
  auditRule?: { minFailures: number; failureRatio: number };
  /**
   * The bond rule the epoch was closed under (collect/bonded.ts), absent when the keeper had no registry (then
   * nothing was gated): the bonds read before the freeze, the terms, and R_total before the caps.
   */
  bonds?: EpochBonds;
  /**
   * The keepers' signed health observations the reports were merged from (keeper/epochs/observe), the merge rule
   * and the deployment they are signed for. Absent (no quorum, or published before merged reports): the reports are
   * the publishing keeper's own `outcomes`.
   */
  observations?: SignedObservation[];
  observationRule?: ObservationRule;
  observationDomain?: ObservationDomain;
  /**
   * The paid-demand rule the epoch was closed under (collect/paid.ts) and, per channel, what earlier epochs counted
   * as paid and what this one counts up to; absent when receipts counted in full.
   */
  payment?: { rule: PaymentRule; channels: ChannelPayment[] };
}

/** The paid-demand rule an epoch is closed under. */
export interface PaymentRule {
  /** Token units per GiB (the price consumers pay at). */
  weiPerGiB: bigint;
  /** Unpaid bytes credited, at most this share of the paid ones, in basis points. */
  subsidyBps: bigint;
  /** The vault the vouchers are signed for. */
  domain: VaultDomain;
  /**
   * When the vault is read (payment/settlement.ts `settleCutoff`): absent in evidence published before the rule
   * (then the close read the vault at its own time, and a verifier only bounds what it counted).
   */
  settle?: SettleTerms;
}

/** One channel's payment in an epoch. */
export interface ChannelPayment {
  consumer: string;
  account: string;
  /** What CreditVault had settled on the channel at the previous epoch's first commitment (earlier epochs' share). */
  paidBefore: bigint;
  /**
   * What this epoch counts up to: the largest valid cumulative amount its receipts carry, at most what the vault had
   * settled at the close, and never below paidBefore.
   */
  paidUpTo: bigint;
}

/** An epoch's frozen bonds and the terms of the bond rule (docs/security.md, "Identities cost capital"). */
export interface EpochBonds {
  /** NodeRegistry.minBond when the bonds were read. */
  minBond: bigint;
  /** μ in basis points: the largest reward share as a multiple of the bond share. */
  saturationBps: bigint;
  /** R_total before the caps (the configured reward under the pool's limit); R' is what the epoch committed. */
  rewardOffered: bigint;
  /** The active bond of every account the epoch credits or reports, as read. */
  accounts: Array<{ account: string; bond: bigint }>;
}

/** One keeper's signed statement of one peer's health outcomes in one epoch (keeper/epochs/observe/observation.ts). */
export interface HealthObservation {
  epoch: number;
  /** Checksummed chain address of the observing keeper (the signer). */
  observer: string;
  /** Peer id of the observed peer. */
  subject: string;
  /** Checksummed reward account of the observed peer, as its signed record named it at the freeze. */
  account: string;
  successes: number;
  failures: number;
  /** Audits of the peer this observer made in the epoch (keeper/audit) and how many failed; absent means 0. Under
   * merged observations they decide the epoch's lost credit (observe/merge.ts `auditDisqualified`). */
  audits?: number;
  auditFailures?: number;
}

export interface SignedObservation extends HealthObservation {
  /** 65-byte signature (r‖s‖v), 0x-hex, by `observer`'s chain key over the observation's EIP-712 digest. */
  signature: string;
}

/** The deployment observations are signed for: the chain id and EpochQuorum's address. */
export interface ObservationDomain {
  chainId: number;
  quorum: string;
}

/** The merge rule's parameter (keeper/epochs/observe/merge.ts), published with the epoch's evidence. */
export interface ObservationRule {
  /** f: lying observers withstood. */
  maxFaulty: number;
}
