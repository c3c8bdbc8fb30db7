/**
 * The epoch collector: closes epochs over the keeper's store. Closing freezes the window [startMs, endMs)
 * and its evidence atomically (see collect/store.ts), then computes C_i, ΣC, R_total and the Reputation
 * reports from the frozen copy and returns the epoch's bundle.
 *
 * Window rule: a task belongs to the epoch its `ended_at` falls in; a receipt to the epoch its keeper stored it
 * in (`transfer_receipts.issued_at`, the keeper's clock); health counts to the epoch that was open when they
 * were counted (`currentEpoch()`, which moves to the next epoch in the same synchronous step as the freeze).
 */
import { getAddress, isAddress } from "ethers";

import { DEFAULT_DISQUALIFY_FAILURE_RATIO, DEFAULT_DISQUALIFY_MIN_FAILURES } from "../../audit/constants.ts";
import {
  auditOutcomeHash,
  decodeAuditOutcome,
  verifyAuditOutcome,
  type SignedAuditOutcome,
} from "../../audit/outcome.ts";
import { auditVerdicts, checkDisqualifyRule, type DisqualifyRule, type JudgedAudit } from "../../audit/verdict.ts";
import type { HealthCounters } from "../../health/counters.ts";
import type { Logger } from "../../logger.ts";
import type { ChannelSettlement, SignedVoucher } from "../../payment/index.ts";
import type { Store } from "../../store/index.ts";
import { epochTaskRecords, toLeafValue } from "../../tasks/records.ts";
import type { TaskStore } from "../../tasks/store.ts";
import { receiptId, verifyReceipt } from "../../transfer/receipt.ts";
import { TransferStore } from "../../transfer/store.ts";
import { AccountIndex } from "./accounts.ts";
import { applyBonds } from "./bonded.ts";
import { DEFAULT_SATURATION_BPS } from "./constants.ts";
import { EPOCH_TABLES, epochRow, lastEpochRow, migrateEpochs, recentEpochRows, type EpochRow } from "./store.ts";
import {
  compareAddresses,
  computeContributions,
  reputationReports,
  rewardTotalFor,
  totalContribution,
  type NodeOutcomes,
} from "./contribution.ts";
import { EpochUnknownError, EpochWindowError } from "./errors.ts";
import { paidChannels, paidContributions, type PaidReceipt, type PaymentRule } from "./paid.ts";
import { migratePaidEpochs, paidOf, savePaid } from "./paid-store.ts";
import type {
  ContributionEntry,
  EpochBonds,
  EpochBundle,
  EpochEvidence,
  ReputationReport,
  SettleTerms,
  TaskRecordValue,
} from "../types.ts";

/** A receipt row as the transfer module stores it. */
export interface RawReceipt {
  provider: string;
  body: Uint8Array;
  signature: Uint8Array;
}

/**
 * How many epochs a receipt waits for its provider's account to become known (the provider's signed peer
 * record not found yet, e.g. right after a restart). A record is republished every few minutes and epochs are
 * an hour by default, so 24 epochs is a day: a provider unknown for a day is gone, and its receipt is dropped
 * (logged).
 */
export const HELD_EPOCHS = 24;

/**
 * A receipt counts only in an epoch at most this many epochs after the one it is stamped with (the chain's open
 * epoch when its consumer signed it). Keepers pull every receipt their peers hold, so without an age bound a
 * keeper that joins late would count the network's history again; with it, a newcomer only needs to mirror the
 * last RECEIPT_MAX_AGE_EPOCHS chain epochs (EvidenceAdopter.catchUp). Longer than HELD_EPOCHS, so a held
 * receipt is still young enough when its provider's account turns up.
 */
export const RECEIPT_MAX_AGE_EPOCHS = HELD_EPOCHS + 2;

export interface EpochCollectorInit {
  /** R_total per epoch before the pool's caps (token base units). */
  rewardPerEpoch: bigint;
  /** Start of epoch 1 (Unix ms) on a fresh store; default: when the store is first opened. */
  genesisMs?: number;
  /** When the epoch's audits take a provider's credit away (keeper/audit/verdict.ts; defaults in its constants). */
  auditRule?: Partial<DisqualifyRule>;
  /** μ of the bond rule in basis points (default DEFAULT_SATURATION_BPS); used only with `bondsOf`. */
  saturationBps?: bigint;
  /**
   * Paid demand (collect/paid.ts): bytes count only up to what their consumer's vouchers paid, plus the subsidy share.
   * Absent (no CreditVault in the deployment): receipts count in full.
   */
  payment?: PaymentRule;
}

/** Bonds read from NodeRegistry for a freeze: the minimum bond and the active bond of each account read. */
export interface BondSnapshot {
  minBond: bigint;
  /** By checksummed account; an account absent was not read. */
  bonds: ReadonlyMap<string, bigint>;
}

export interface EpochCollectorComponents {
  store: Store;
  logger: Logger;
  /** On-chain reward address of a peer (from its signed peer record); undefined when unknown. */
  addressOf: (peerId: string) => string | undefined;
  /** A peer's signed peer record (the bytes that bind it to its reward account), published as evidence. */
  recordOf?: (peerId: string) => Uint8Array | undefined;
  /** The task store; its queued writes are flushed before a freeze so no finished task is missed. */
  tasks?: TaskStore;
  /** Per-epoch health counters (Reputation inputs and the success weight of C_i). */
  counters?: HealthCounters;
  /** Task records other coordinators hold for [fromMs, toMs) (gathered before the close); merged by task id. */
  remoteTaskValues?: (fromMs: number, toMs: number) => TaskRecordValue[];
  /** Signed audit outcomes stored in [fromMs, toMs) (keeper/audit); none when absent. */
  auditsBetween?: (fromMs: number, toMs: number) => SignedAuditOutcome[];
  /** Receipts stored in [fromMs, toMs); default: the transfer module's `transfer_receipts` table. */
  receiptsBetween?: (fromMs: number, toMs: number) => RawReceipt[];
  /**
   * The largest R_total the pool accepts now (RewardPool.maxRewardTotal: the unreserved balance under the pool's
   * absolute and share caps), which caps R_total; no cap when absent.
   */
  maxRewardTotal?: (options: { signal?: AbortSignal }) => Promise<bigint>;
  /**
   * Reads the bonds of `accounts` from NodeRegistry (fresh, not cached). When given, every epoch is closed under
   * the bond rule (collect/bonded.ts): `close` reads the bonds of the accounts its window names before the freeze,
   * the freeze keeps them with the epoch, and only bonded accounts are credited (saturated) and reported. Absent
   * (no registry in the deployment): nothing is gated.
   */
  bondsOf?: (accounts: string[], options: { signal?: AbortSignal }) => Promise<BondSnapshot>;
  /**
   * The epoch's Reputation reports merged from the keepers' signed health observations (observe/observer.ts),
   * before the bond rule; they are also C_i's success weight. Absent: both use this keeper's own frozen counts.
   */
  mergedReports?: (epoch: number) => ReputationReport[];
  /**
   * The identity of the observation set `mergedReports` merges (observe/observation.ts `observationSetHash`): each
   * bundle carries it, so its commitment's evidence hash binds the set (review M-3). Given with `mergedReports`; the
   * set changes only before a (re-)finalize (a union round, an adoption), so the bundle read after it names it.
   */
  observationsHash?: (epoch: number) => string;
  /**
   * The providers that lose the epoch's credit by the keepers' merged audits (observe/merge.ts `auditDisqualified`,
   * under this collector's audit rule). Given with `mergedReports`: one keeper's own audits then take no credit.
   * Absent: this keeper's own audits of the epoch decide (keeper/audit/verdict.ts).
   */
  mergedDisqualified?: (
    epoch: number,
    rule: DisqualifyRule,
  ) => Array<{ provider: string; audits: number; failures: number }>;
  /**
   * Paid demand's view of the vault (payment/settlement.ts `VaultSettlement.settleAndRead`): settles the epoch's highest
   * vouchers where it can, waits for the previous epoch's commitment, and returns per channel what was settled then
   * and now. Required with `payment`: bytes count only as far as the vault settled their vouchers.
   */
  settlement?: (
    epoch: number,
    vouchers: readonly SignedVoucher[],
    options: { signal?: AbortSignal; read?: { endMs: number; terms: SettleTerms } },
  ) => Promise<ReadonlyMap<string, ChannelSettlement>>;
}

/** The transfer module's stored receipts of a window, through its own query (the table belongs to keeper/transfer). */
export function transferReceiptsBetween(store: Store): (fromMs: number, toMs: number) => RawReceipt[] {
  const transfers = new TransferStore(store);
  return (fromMs, toMs) => transfers.receiptsBetween(fromMs, toMs);
}

function checksummed(addressOf: (peerId: string) => string | undefined, peerId: string): string | null {
  const a = addressOf(peerId);
  if (a === undefined) return null;
  try {
    return getAddress(a);
  } catch {
    return null;
  }
}

/** The provider an outcome body names, for the index column only ("" when the body does not decode). */
function providerHint(body: Uint8Array): string {
  try {
    return decodeAuditOutcome(body).provider;
  } catch {
    return "";
  }
}

/** JSON for leaf values: bigints as decimal strings. */
function encodeTaskValue(v: TaskRecordValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
}

function decodeTaskValue(text: string): TaskRecordValue {
  const v = JSON.parse(text) as [string, string, string, string, string, string, number, string, number, string];
  return [v[0], v[1], v[2], BigInt(v[3]), BigInt(v[4]), BigInt(v[5]), v[6], v[7], v[8], v[9]];
}

export class EpochCollector {
  private readonly log: Logger;
  private readonly accounts: AccountIndex;
  private readonly receiptsBetween: (fromMs: number, toMs: number) => RawReceipt[];
  private readonly finalizing = new Map<number, Promise<EpochBundle>>();
  private readonly auditRule: DisqualifyRule;

  constructor(
    private readonly components: EpochCollectorComponents,
    private readonly init: EpochCollectorInit,
  ) {
    this.log = components.logger.child("epochs");
    migrateEpochs(components.store, init.genesisMs ?? Date.now());
    migratePaidEpochs(components.store);
    if (init.payment !== undefined && components.settlement === undefined)
      throw new Error("paid demand needs the vault's settlement view (collector component `settlement`)");
    this.accounts = new AccountIndex(components.store);
    this.receiptsBetween = components.receiptsBetween ?? transferReceiptsBetween(components.store);
    this.auditRule = checkDisqualifyRule({
      minFailures: init.auditRule?.minFailures ?? DEFAULT_DISQUALIFY_MIN_FAILURES,
      failureRatio: init.auditRule?.failureRatio ?? DEFAULT_DISQUALIFY_FAILURE_RATIO,
    });
  }

  /** The rule the epoch's audits are judged by (published with them). */
  get disqualifyRule(): DisqualifyRule {
    return { ...this.auditRule };
  }

  /**
   * Takes the epoch numbering from the chain: a keeper that never closed an epoch and joins a network whose
   * contracts already hold epochs 1..`chainLastEpoch` numbers its open epoch `chainLastEpoch + 1`. Returns
   * whether the numbering moved; a keeper with epochs of its own keeps them (and the caller is told it lags).
   */
  alignWithChain(chainLastEpoch: number): boolean {
    const { store } = this.components;
    return store.transaction(() => {
      const last = lastEpochRow(store);
      if (last.status !== "genesis" || last.epoch >= chainLastEpoch) return false;
      store.db
        .prepare("UPDATE epochs SET epoch = ? WHERE epoch = ? AND status = 'genesis'")
        .run(chainLastEpoch, last.epoch);
      this.log.info("epoch numbering taken from the chain", { nextEpoch: chainLastEpoch + 1 });
      return true;
    });
  }

  /** The open epoch: the one new work is counted in (health counters, receipts' epoch stamp). */
  currentEpoch(): number {
    return lastEpochRow(this.components.store).epoch + 1;
  }

  /** Start (Unix ms) of the open epoch. */
  currentEpochStartMs(): number {
    return lastEpochRow(this.components.store).end_ms;
  }

  /** The latest epochs this keeper froze or closed, newest first (the operator's view). */
  recentEpochs(limit: number): EpochRow[] {
    return recentEpochRows(this.components.store, limit);
  }

  /** The latest closed epoch (0 when none). */
  lastClosedEpoch(): number {
    const row = this.components.store.db
      .prepare("SELECT COALESCE(MAX(epoch), 0) AS e FROM epochs WHERE status = 'closed'")
      .get() as { e: number };
    return row.e;
  }

  /** Closed epochs after `epoch`, oldest first. */
  closedEpochsAfter(epoch: number): number[] {
    return (
      this.components.store.db
        .prepare("SELECT epoch FROM epochs WHERE status = 'closed' AND epoch > ? ORDER BY epoch")
        .all(epoch) as { epoch: number }[]
    ).map((r) => r.epoch);
  }

  /** Epochs frozen but not finalized (a crash between the two steps); finalize them at start. */
  unfinalizedEpochs(): number[] {
    return (
      this.components.store.db.prepare("SELECT epoch FROM epochs WHERE status = 'frozen' ORDER BY epoch").all() as {
        epoch: number;
      }[]
    ).map((r) => r.epoch);
  }

  /** The stable index of an account (undefined before its first contribution). */
  indexOf(account: string): number | undefined {
    return this.accounts.indexOf(account);
  }

  /**
   * Freezes and finalizes the open epoch at `endMs` (default now); returns its bundle. `minEpoch` (the chain's
   * open epoch) numbers it at least that high: a keeper that missed closes while it was down skips the epochs
   * others committed instead of numbering behind them.
   */
  async close(
    options: {
      endMs?: number;
      minEpoch?: number;
      signal?: AbortSignal;
      /** Runs between the freeze and the finalize (e.g. gathering the keepers' observations of the frozen epoch). */
      beforeFinalize?: (epoch: number) => Promise<void>;
    } = {},
  ): Promise<EpochBundle> {
    const endMs = options.endMs ?? Date.now();
    const { bondsOf } = this.components;
    // Freezing is synchronous: the bonds are read first. A failed read fails the close (nothing frozen, retried).
    const bonds =
      bondsOf === undefined ? undefined : await bondsOf(this.accountsToFreeze(endMs, options.minEpoch), options);
    const epoch = this.freeze(endMs, options.minEpoch, bonds);
    await options.beforeFinalize?.(epoch);
    return this.finalize(epoch, options);
  }

  /**
   * The accounts a freeze at `endMs` would credit or report as things stand (the providers of the window's and of
   * the held receipts, the peers with health counts), checksummed, ascending: whose bonds to read first.
   */
  accountsToFreeze(endMs: number, minEpoch = 0): string[] {
    const { store, counters, addressOf } = this.components;
    const last = lastEpochRow(store);
    const epoch = Math.max(last.epoch + 1, minEpoch);
    const peers = new Set<string>();
    for (const r of this.receiptsBetween(last.end_ms, endMs)) peers.add(r.provider);
    const held = store.db.prepare("SELECT DISTINCT provider FROM epoch_held_receipts").all() as { provider: string }[];
    for (const h of held) peers.add(h.provider);
    for (const h of counters?.reports(epoch) ?? []) peers.add(h.peerId);
    const accounts = new Set<string>();
    for (const p of peers) {
      const a = checksummed(addressOf, p);
      if (a !== null) accounts.add(a);
    }
    return [...accounts].sort();
  }

  /**
   * Closes the window of the open epoch at `endMs` and copies its evidence, in one synchronous transaction:
   * from here on, new work is counted in the next epoch. Returns the frozen epoch.
   *
   * With `bondsOf` configured, the epoch is frozen under the bond rule with `bonds` (read by `close`; none read
   * counts as no bond known): a receipt whose provider's account was not read is held for the next epoch like one of
   * an unknown provider, so a receipt stored between the read and the freeze is not lost.
   */
  freeze(endMs: number, minEpoch = 0, bonds?: BondSnapshot): number {
    const { store, tasks, counters, addressOf } = this.components;
    // Queued task writes (finished tasks not yet flushed) belong to this window: commit them first.
    tasks?.flush();
    return store.transaction(() => {
      const last = lastEpochRow(store);
      const epoch = Math.max(last.epoch + 1, minEpoch);
      if (epoch > last.epoch + 1)
        this.log.info("epochs committed by others skipped", { from: last.epoch + 1, to: epoch - 1 });
      const startMs = last.end_ms;
      if (!(endMs > startMs)) throw new EpochWindowError(epoch, startMs, endMs);
      const db = store.db;
      db.prepare("INSERT INTO epochs (epoch, start_ms, end_ms, status) VALUES (?, ?, ?, 'frozen')").run(
        epoch,
        startMs,
        endMs,
      );
      const values: TaskRecordValue[] =
        tasks === undefined
          ? []
          : epochTaskRecords(tasks, { fromMs: startMs, toMs: endMs }, { addressOf }).map((r) => toLeafValue(r));
      const seen = new Set(values.map((v) => v[0]));
      for (const v of this.components.remoteTaskValues?.(startMs, endMs) ?? []) {
        if (!seen.has(v[0])) (values.push(v), seen.add(v[0]));
      }
      if (values.length > 0) {
        const insert = db.prepare("INSERT INTO epoch_tasks (epoch, position, value) VALUES (?, ?, ?)");
        values.forEach((v, i) => insert.run(epoch, i, encodeTaskValue(v)));
      }
      const gate =
        this.components.bondsOf === undefined
          ? undefined
          : (bonds ?? { minBond: 0n, bonds: new Map<string, bigint>() });
      this.freezeReceipts(epoch, startMs, endMs, gate === undefined ? undefined : (a) => gate.bonds.has(a));
      const audit = db.prepare(
        "INSERT OR IGNORE INTO epoch_audits (epoch, hash, provider, body, signature) VALUES (?, ?, ?, ?, ?)",
      );
      for (const a of this.components.auditsBetween?.(startMs, endMs) ?? []) {
        // The provider is read from the body at finalize (after the signature check); here it only indexes.
        audit.run(epoch, auditOutcomeHash(a.body), providerHint(a.body), a.body, a.signature);
      }
      if (counters !== undefined) {
        const insert = db.prepare(
          "INSERT INTO epoch_health (epoch, peer_id, account, successes, failures) VALUES (?, ?, ?, ?, ?)",
        );
        for (const h of counters.reports(epoch)) {
          insert.run(epoch, h.peerId, checksummed(addressOf, h.peerId), h.successes, h.failures);
        }
      }
      this.freezeRecords(epoch);
      if (gate !== undefined) this.freezeBonds(epoch, gate);
      this.log.info("epoch frozen", { epoch, startMs, endMs });
      return epoch;
    });
  }

  /**
   * Copies the window's receipts into the epoch, in the freeze's transaction. A receipt counts once ever: the same
   * signed body stored again later is ignored (primary key, and the archive of an earlier era). One whose
   * provider's account is not known yet is held (not counted, not lost) and joins the first epoch frozen after
   * the account becomes known, for at most HELD_EPOCHS epochs.
   */
  private freezeReceipts(epoch: number, startMs: number, endMs: number, bondRead?: (account: string) => boolean): void {
    const { store } = this.components;
    // Under the bond rule, an account whose bond was not read is, for this freeze, as good as unknown.
    const addressOf = (peerId: string) => {
      const a = checksummed(this.components.addressOf, peerId);
      return a !== null && (bondRead === undefined || bondRead(a)) ? a : undefined;
    };
    const db = store.db;
    const counted = db.prepare(
      "SELECT 1 FROM epoch_receipts WHERE hash = ?1 UNION ALL SELECT 1 FROM epoch_receipts_archive WHERE hash = ?1 " +
        "UNION ALL SELECT 1 FROM epoch_counted_elsewhere WHERE hash = ?1",
    );
    const insert = db.prepare(
      "INSERT OR IGNORE INTO epoch_receipts (hash, epoch, provider, account, body, signature) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const hold = db.prepare(
      "INSERT OR IGNORE INTO epoch_held_receipts (hash, provider, body, signature, first_epoch) VALUES (?, ?, ?, ?, ?)",
    );
    const release = db.prepare("DELETE FROM epoch_held_receipts WHERE hash = ?");
    const held = db
      .prepare("SELECT hash, provider, body, signature, first_epoch FROM epoch_held_receipts ORDER BY hash")
      .all() as { hash: string; provider: string; body: Uint8Array; signature: Uint8Array; first_epoch: number }[];
    let credited = 0;
    let dropped = 0;
    for (const h of held) {
      const account = checksummed(addressOf, h.provider);
      if (account !== null) {
        if (counted.get(h.hash) === undefined)
          (insert.run(h.hash, epoch, h.provider, account, h.body, h.signature), credited++);
        release.run(h.hash);
      } else if (epoch - h.first_epoch >= HELD_EPOCHS) {
        release.run(h.hash);
        dropped++;
        this.log.warn("held receipt dropped: its provider's account stayed unknown", {
          hash: h.hash,
          provider: h.provider,
          heldSince: h.first_epoch,
        });
      }
    }
    let newlyHeld = 0;
    for (const r of this.receiptsBetween(startMs, endMs)) {
      const hash = receiptId(r.body);
      if (counted.get(hash) !== undefined) continue;
      const account = checksummed(addressOf, r.provider);
      if (account === null) newlyHeld += Number(hold.run(hash, r.provider, r.body, r.signature, epoch).changes);
      else insert.run(hash, epoch, r.provider, account, r.body, r.signature);
    }
    if (credited + dropped + newlyHeld > 0)
      this.log.info("receipts of unknown providers", { epoch, held: newlyHeld, credited, dropped });
  }

  /** Keeps, with the epoch, the bond of every account it credits or reports (0 when the read did not name it). */
  private freezeBonds(epoch: number, snapshot: BondSnapshot): void {
    const db = this.components.store.db;
    db.prepare("INSERT INTO epoch_bond_terms (epoch, min_bond, saturation_bps) VALUES (?, ?, ?)").run(
      epoch,
      snapshot.minBond.toString(),
      (this.init.saturationBps ?? DEFAULT_SATURATION_BPS).toString(),
    );
    const accounts = db
      .prepare(
        "SELECT account FROM epoch_receipts WHERE epoch = ?1 AND account IS NOT NULL " +
          "UNION SELECT account FROM epoch_health WHERE epoch = ?1 AND account IS NOT NULL",
      )
      .all(epoch) as { account: string }[];
    const insert = db.prepare("INSERT INTO epoch_bonds (epoch, account, bond) VALUES (?, ?, ?)");
    for (const { account } of accounts) insert.run(epoch, account, (snapshot.bonds.get(account) ?? 0n).toString());
  }

  /** The bond rule epoch `epoch` was frozen under (with the reward offered once finalized); none when ungated. */
  private frozenBonds(epoch: number): EpochBonds | undefined {
    const db = this.components.store.db;
    const terms = db
      .prepare("SELECT min_bond, saturation_bps, reward_offered FROM epoch_bond_terms WHERE epoch = ?")
      .get(epoch) as { min_bond: string; saturation_bps: string; reward_offered: string | null } | undefined;
    if (terms === undefined) return undefined;
    const accounts = (
      db.prepare("SELECT account, bond FROM epoch_bonds WHERE epoch = ?").all(epoch) as {
        account: string;
        bond: string;
      }[]
    )
      .map((r) => ({ account: r.account, bond: BigInt(r.bond) }))
      .sort((x, y) => compareAddresses(x.account, y.account));
    return {
      minBond: BigInt(terms.min_bond),
      saturationBps: BigInt(terms.saturation_bps),
      rewardOffered: BigInt(terms.reward_offered ?? "0"),
      accounts,
    };
  }

  /** The epoch's receipt rows, as one comparable string (what a finalize computed from). */
  private receiptSetOf(epoch: number): string {
    const row = this.components.store.db
      .prepare(
        "SELECT COUNT(*) AS n, COALESCE(GROUP_CONCAT(hash, ','), '') AS h FROM (SELECT hash FROM epoch_receipts WHERE epoch = ? ORDER BY hash)",
      )
      .get(epoch) as { n: number; h: string };
    return `${row.n}:${row.h}`;
  }

  /** Keeps, with the epoch, the signed record of every peer the epoch credits or reports (evidence of its account). */
  private freezeRecords(epoch: number): void {
    const { store, recordOf } = this.components;
    if (recordOf === undefined) return;
    const peers = store.db
      .prepare(
        "SELECT provider AS peer FROM epoch_receipts WHERE epoch = ?1 AND account IS NOT NULL " +
          "UNION SELECT peer_id AS peer FROM epoch_health WHERE epoch = ?1 AND account IS NOT NULL",
      )
      .all(epoch) as { peer: string }[];
    const insert = store.db.prepare("INSERT OR REPLACE INTO epoch_records (epoch, peer_id, record) VALUES (?, ?, ?)");
    for (const { peer } of peers) {
      const record = recordOf(peer);
      if (record !== undefined) insert.run(epoch, peer, record);
    }
  }

  /**
   * The health counts `epoch` froze for peers whose account was known, with that account, and this keeper's audits
   * of each frozen with the epoch (what this keeper observed; its signed observations state these).
   */
  frozenOutcomes(epoch: number): Array<{
    peerId: string;
    account: string;
    successes: number;
    failures: number;
    audits: number;
    auditFailures: number;
  }> {
    const audits = new Map<string, { audits: number; failures: number }>();
    for (const a of this.frozenAudits(epoch)) {
      try {
        const o = decodeAuditOutcome(a.body);
        const c = audits.get(o.provider) ?? { audits: 0, failures: 0 };
        c.audits++;
        if (o.outcome !== "pass") c.failures++;
        audits.set(o.provider, c);
      } catch {
        // not an outcome this keeper could have stored; the finalize logs it
      }
    }
    return (
      this.components.store.db
        .prepare(
          "SELECT peer_id, account, successes, failures FROM epoch_health WHERE epoch = ? AND account IS NOT NULL " +
            "ORDER BY peer_id",
        )
        .all(epoch) as { peer_id: string; account: string; successes: number; failures: number }[]
    ).map((h) => ({
      peerId: h.peer_id,
      account: h.account,
      successes: h.successes,
      failures: h.failures,
      audits: audits.get(h.peer_id)?.audits ?? 0,
      auditFailures: audits.get(h.peer_id)?.failures ?? 0,
    }));
  }

  /** What epoch `epoch` counted, in full: signed receipts, the peers' signed records, the health outcomes. */
  evidence(epoch: number): EpochEvidence {
    const db = this.components.store.db;
    const receipts = (
      db
        .prepare(
          "SELECT provider, body, signature FROM epoch_receipts WHERE epoch = ? AND account IS NOT NULL ORDER BY hash",
        )
        .all(epoch) as { provider: string; body: Uint8Array; signature: Uint8Array }[]
    ).map((r) => ({ provider: r.provider, body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) }));
    const records = (
      db.prepare("SELECT peer_id, record FROM epoch_records WHERE epoch = ? ORDER BY peer_id").all(epoch) as {
        peer_id: string;
        record: Uint8Array;
      }[]
    ).map((r) => ({ peerId: r.peer_id, record: new Uint8Array(r.record) }));
    const outcomes = (
      db
        .prepare(
          "SELECT peer_id, successes, failures FROM epoch_health WHERE epoch = ? AND account IS NOT NULL ORDER BY peer_id",
        )
        .all(epoch) as { peer_id: string; successes: number; failures: number }[]
    ).map((h) => ({ peerId: h.peer_id, successes: h.successes, failures: h.failures }));
    const bonds = this.frozenBonds(epoch);
    const payment = paidOf(this.components.store, epoch);
    return {
      receipts,
      records,
      outcomes,
      audits: this.frozenAudits(epoch),
      auditRule: this.disqualifyRule,
      ...(bonds !== undefined && { bonds }),
      ...(payment !== undefined && { payment }),
    };
  }

  /** Hashes of the receipts epoch `epoch` counted (its evidence, published beside its trees). */
  receiptHashes(epoch: number): string[] {
    return (
      this.components.store.db
        .prepare("SELECT hash FROM epoch_receipts WHERE epoch = ? AND account IS NOT NULL ORDER BY hash")
        .all(epoch) as { hash: string }[]
    ).map((r) => r.hash);
  }

  /**
   * Takes the chain's word for epoch `epoch`, which another keeper committed from its own view: `committed` are
   * the receipt hashes that commitment counted. Receipts this keeper counted in its own epoch `epoch` but the
   * chain did not are released (held, so the next close counts them); receipts the chain counted that this keeper
   * did not are mirrored, so it never counts them later. Returns how many moved each way.
   */
  adopt(epoch: number, committed: ReadonlySet<string>): { released: number; mirrored: number; reopened: number[] } {
    const { store } = this.components;
    const db = store.db;
    return store.transaction(() => {
      const open = lastEpochRow(store).epoch + 1;
      const local = db
        .prepare("SELECT hash, provider, body, signature FROM epoch_receipts WHERE epoch = ? AND account IS NOT NULL")
        .all(epoch) as { hash: string; provider: string; body: Uint8Array; signature: Uint8Array }[];
      const hold = db.prepare(
        "INSERT OR IGNORE INTO epoch_held_receipts (hash, provider, body, signature, first_epoch) VALUES (?, ?, ?, ?, ?)",
      );
      const forget = db.prepare("DELETE FROM epoch_receipts WHERE hash = ?");
      let released = 0;
      for (const r of local) {
        if (committed.has(r.hash)) continue;
        forget.run(r.hash);
        hold.run(r.hash, r.provider, r.body, r.signature, open);
        released++;
      }
      const localSet = new Set(local.map((r) => r.hash));
      const mirror = db.prepare("INSERT OR IGNORE INTO epoch_counted_elsewhere (hash, chain_epoch) VALUES (?, ?)");
      const unhold = db.prepare("DELETE FROM epoch_held_receipts WHERE hash = ?");
      const later = db.prepare("SELECT epoch FROM epoch_receipts WHERE hash = ? AND epoch > ?");
      const reopen = new Set<number>();
      let mirrored = 0;
      for (const hash of committed) {
        if (localSet.has(hash)) continue;
        // Counted here too, in a later epoch not on chain yet: the chain counted it first, so that epoch drops it.
        const row = later.get(hash, epoch) as { epoch: number } | undefined;
        if (row !== undefined) (forget.run(hash), reopen.add(row.epoch));
        mirrored += Number(mirror.run(hash, epoch).changes);
        unhold.run(hash);
      }
      for (const e of reopen) {
        db.prepare("DELETE FROM epoch_contributions WHERE epoch = ?").run(e);
        db.prepare("DELETE FROM epoch_reputation WHERE epoch = ?").run(e);
        db.prepare("UPDATE epochs SET status = 'frozen', reward_total = NULL, closed_at = NULL WHERE epoch = ?").run(e);
      }
      this.log.info("epoch adopted from the chain", { epoch, released, mirrored, reopened: [...reopen] });
      return { released, mirrored, reopened: [...reopen].sort((a, b) => a - b) };
    });
  }

  /** Whether this keeper holds epoch `epoch` (frozen or closed). */
  hasEpoch(epoch: number): boolean {
    const row = epochRow(this.components.store, epoch);
    return row !== undefined && row.status !== "genesis";
  }

  /** Whether chain epoch `epoch` (never closed here) was mirrored already. */
  isMirrored(epoch: number): boolean {
    return (
      this.components.store.db.prepare("SELECT 1 FROM epoch_mirrored WHERE chain_epoch = ?").get(epoch) !== undefined
    );
  }

  /** The number of the last epoch row (closed, frozen, or the genesis/alignment mark). */
  lastEpochNumber(): number {
    return lastEpochRow(this.components.store).epoch;
  }

  /** Mirrors the receipts a chain epoch this keeper never closed counted (see `adopt`). */
  mirror(chainEpoch: number, committed: Iterable<string>): number {
    const { store } = this.components;
    return store.transaction(() => {
      const mirror = store.db.prepare(
        "INSERT OR IGNORE INTO epoch_counted_elsewhere (hash, chain_epoch) VALUES (?, ?)",
      );
      const unhold = store.db.prepare("DELETE FROM epoch_held_receipts WHERE hash = ?");
      let n = 0;
      for (const hash of committed) {
        n += Number(mirror.run(hash, chainEpoch).changes);
        unhold.run(hash);
      }
      store.db
        .prepare("INSERT OR REPLACE INTO epoch_mirrored (chain_epoch, receipts) VALUES (?, ?)")
        .run(chainEpoch, n);
      return n;
    });
  }

  /** Receipts waiting for their provider's account (see freezeReceipts). */
  heldReceipts(): number {
    return (this.components.store.db.prepare("SELECT COUNT(*) AS n FROM epoch_held_receipts").get() as { n: number }).n;
  }

  /**
   * Starts a new era against a new deployment: every epoch so far moves to the archive tables (never counted or
   * submitted again), and numbering restarts after `chainLastEpoch` with a window that begins where the last
   * one ended — so no task or receipt of the old era is committed again. Returns the new era's number.
   */
  startNewEra(chainLastEpoch: number, reason: string): number {
    const { store } = this.components;
    const db = store.db;
    return store.transaction(() => {
      // A frozen epoch (a crash mid-close) belongs to the old deployment too: it is archived as it is.
      const last = lastEpochRow(store);
      const era = (db.prepare("SELECT COALESCE(MAX(era), 0) + 1 AS e FROM epoch_eras").get() as { e: number }).e;
      for (const table of EPOCH_TABLES) {
        db.prepare(`INSERT INTO ${table}_archive SELECT ?, * FROM ${table}`).run(era);
        db.prepare(`DELETE FROM ${table}`).run();
      }
      db.prepare("INSERT INTO epochs (epoch, start_ms, end_ms, status) VALUES (?, ?, ?, 'genesis')").run(
        chainLastEpoch,
        last.end_ms,
        last.end_ms,
      );
      db.prepare("INSERT INTO epoch_eras (era, last_epoch, end_ms, reason, at) VALUES (?, ?, ?, ?, ?)").run(
        era,
        last.epoch,
        last.end_ms,
        reason,
        Date.now(),
      );
      this.log.warn("started a new era: earlier epochs archived, numbering follows the new deployment", {
        era,
        archivedThrough: last.epoch,
        nextEpoch: chainLastEpoch + 1,
        reason,
      });
      return era;
    });
  }

  /**
   * Computes a frozen epoch's contributions, indices, R_total and reports and marks it closed (one
   * transaction). Idempotent: a closed epoch returns its stored bundle.
   */
  finalize(epoch: number, options: { signal?: AbortSignal; maxReward?: bigint } = {}): Promise<EpochBundle> {
    let running = this.finalizing.get(epoch);
    if (running === undefined) {
      running = this.doFinalize(epoch, options).finally(() => this.finalizing.delete(epoch));
      this.finalizing.set(epoch, running);
    }
    return running;
  }

  /**
   * Computes closed epoch `epoch` again, and every closed epoch after it, from what is held now — after its
   * observation set changed (a union round, or the set a commitment was approved under: docs/epochs.md "Union
   * rounds", "After a commitment"). Leaf indices first handed out in those epochs are handed out anew, so later
   * epochs index accounts as the committed set did; R_total stays what each epoch read (the pool is not read
   * again: its maximum moved with every commitment since). Returns the epoch's new bundle.
   */
  async refinalize(epoch: number, options: { signal?: AbortSignal } = {}): Promise<EpochBundle> {
    const { store } = this.components;
    const db = store.db;
    const redo = store.transaction(() => {
      if (epochRow(store, epoch)?.status !== "closed") throw new EpochUnknownError(epoch);
      const rows = db
        .prepare(
          "SELECT e.epoch, e.reward_total, b.reward_offered FROM epochs e " +
            "LEFT JOIN epoch_bond_terms b ON b.epoch = e.epoch WHERE e.status = 'closed' AND e.epoch >= ? ORDER BY e.epoch",
        )
        .all(epoch) as { epoch: number; reward_total: string | null; reward_offered: string | null }[];
      for (const { epoch: e } of rows) {
        for (const table of ["epoch_contributions", "epoch_reputation", "epoch_disqualified", "epoch_paid_channels"])
          db.prepare(`DELETE FROM ${table} WHERE epoch = ?`).run(e);
        db.prepare("UPDATE epochs SET status = 'frozen', reward_total = NULL, closed_at = NULL WHERE epoch = ?").run(e);
      }
      db.prepare("DELETE FROM epoch_accounts WHERE first_epoch >= ?").run(epoch);
      return rows.map((r) => {
        const read = BigInt(r.reward_offered ?? r.reward_total ?? "0");
        return { epoch: r.epoch, ...(read > 0n && { maxReward: read }) };
      });
    });
    this.log.info("epochs re-finalized from a changed observation set", { epochs: redo.map((r) => r.epoch) });
    for (const r of redo)
      await this.finalize(r.epoch, { ...options, ...(r.maxReward !== undefined && { maxReward: r.maxReward }) });
    return this.bundle(epoch);
  }

  private async doFinalize(epoch: number, options: { signal?: AbortSignal; maxReward?: bigint }): Promise<EpochBundle> {
    const { store } = this.components;
    const row = epochRow(store, epoch);
    if (row === undefined || row.status === "genesis") throw new EpochUnknownError(epoch);
    if (row.status === "closed") return this.bundle(epoch);

    const counted = this.receiptSetOf(epoch);
    const receipts = await this.verifiedReceipts(epoch, options);
    const health = store.db
      .prepare("SELECT peer_id, account, successes, failures FROM epoch_health WHERE epoch = ? ORDER BY peer_id")
      .all(epoch) as { peer_id: string; account: string | null; successes: number; failures: number }[];
    // Addresses were resolved at the freeze, so a re-run after a crash computes the same result.
    const frozenAddress = new Map<string, string>();
    for (const r of receipts) if (r.account !== null) frozenAddress.set(r.provider, r.account);
    for (const h of health) if (h.account !== null) frozenAddress.set(h.peer_id, h.account);
    const addressOf = (peerId: string) => frozenAddress.get(peerId);
    const outcomes: NodeOutcomes[] = health.map((h) => ({
      peerId: h.peer_id,
      successes: h.successes,
      failures: h.failures,
    }));

    // Under merged observations the keepers' audits decide together (f+1 judges); alone, this keeper's own do.
    const verdicts =
      this.components.mergedDisqualified?.(epoch, this.auditRule) ??
      auditVerdicts(await this.verifiedAudits(epoch, options), this.auditRule).filter((v) => v.disqualified);
    const disqualified = new Set(verdicts.map((v) => v.provider));
    const merged = this.components.mergedReports?.(epoch);
    // With merged reports, C_i's success weight is the merged counts too (so keepers with different views of a
    // provider still build one reward root): per account, keyed by the account itself, which `weightOf` passes
    // through (a peer id is never an address).
    const weights =
      merged === undefined
        ? { outcomes, addressOf }
        : {
            outcomes: merged.map((r) => ({ peerId: r.node, successes: r.successes, failures: r.failures })),
            addressOf: (id: string) => (isAddress(id) ? id : addressOf(id)),
          };
    const rule = this.init.payment;
    let paid: ReturnType<typeof paidContributions> | undefined;
    if (rule !== undefined) {
      const channels = paidChannels({ receipts, addressOf: weights.addressOf, disqualified, rule });
      for (const problem of channels.problems) this.log.warn("voucher not counted", { epoch, problem });
      // Settle before credit: what the vault settled, not what was signed (payment/settlement.ts).
      // At the epoch's settlement block under the rule's terms (payment/settlement.ts), so keepers agree.
      const read = rule.settle === undefined ? {} : { read: { endMs: row.end_ms, terms: rule.settle } };
      const settlement = await this.components.settlement!(epoch, [...channels.highest.values()], {
        ...options,
        ...read,
      });
      paid = paidContributions(channels, { ...weights, rule, settlement });
    }
    let contributions = paid?.contributions ?? computeContributions({ receipts, ...weights, disqualified });
    let reports = merged ?? reputationReports(outcomes, addressOf);
    let totalC = totalContribution(contributions);
    const maxReward =
      options.maxReward ??
      (totalC > 0n && this.components.maxRewardTotal !== undefined
        ? await this.components.maxRewardTotal(options)
        : this.init.rewardPerEpoch);
    const rewardOffered = rewardTotalFor(this.init, maxReward, totalC);
    let rewardTotal = rewardOffered;
    const bonds = this.frozenBonds(epoch);
    if (bonds !== undefined) {
      const bonded = applyBonds(contributions, reports, { ...bonds, rewardOffered });
      ({ contributions, reports, rewardTotal } = bonded);
      totalC = totalContribution(contributions);
    }
    options.signal?.throwIfAborted();

    // Adopting the chain's view of an earlier epoch may take receipts out of this one while it is computed (the
    // settle loop and a close overlap): then the result is stale, and the epoch is computed again.
    let stale = false;
    store.transaction(() => {
      const current = epochRow(store, epoch);
      if (current?.status !== "frozen") return;
      if (this.receiptSetOf(epoch) !== counted) {
        stale = true;
        return;
      }
      const indices = this.accounts.assign(
        contributions.map((c) => c.account),
        epoch,
      );
      const insert = store.db.prepare(
        "INSERT INTO epoch_contributions (epoch, account, idx, bytes, successes, failures, contribution) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      for (const c of contributions) {
        insert.run(
          epoch,
          c.account,
          indices.get(c.account)!,
          c.bytes.toString(),
          c.successes,
          c.failures,
          c.contribution.toString(),
        );
      }
      const report = store.db.prepare(
        "INSERT INTO epoch_reputation (epoch, node, successes, failures) VALUES (?, ?, ?, ?)",
      );
      for (const r of reports) report.run(epoch, r.node, r.successes, r.failures);
      const out = store.db.prepare(
        "INSERT OR REPLACE INTO epoch_disqualified (epoch, provider, audits, failures) VALUES (?, ?, ?, ?)",
      );
      for (const v of verdicts) out.run(epoch, v.provider, v.audits, v.failures);
      if (rule !== undefined && paid !== undefined) savePaid(store, epoch, rule, paid.channels);
      if (bonds !== undefined)
        store.db
          .prepare("UPDATE epoch_bond_terms SET reward_offered = ? WHERE epoch = ?")
          .run(rewardOffered.toString(), epoch);
      store.db
        .prepare("UPDATE epochs SET status = 'closed', reward_total = ?, closed_at = ? WHERE epoch = ?")
        .run(rewardTotal.toString(), Date.now(), epoch);
    });
    if (stale) return this.doFinalize(epoch, options);
    if (disqualified.size > 0)
      this.log.info("providers lost the epoch's credit: they failed its audits", { epoch, providers: verdicts });
    const bundle = this.bundle(epoch);
    this.log.info("epoch closed", {
      epoch,
      contributors: bundle.contributions.length,
      tasks: bundle.tasks.length,
      totalContribution: totalC,
      rewardTotal,
    });
    return bundle;
  }

  private async verifiedReceipts(
    epoch: number,
    options: { signal?: AbortSignal },
  ): Promise<(PaidReceipt & { account: string | null })[]> {
    const rows = this.components.store.db
      .prepare("SELECT hash, provider, account, body, signature FROM epoch_receipts WHERE epoch = ? ORDER BY hash")
      .all(epoch) as {
      hash: string;
      provider: string;
      account: string | null;
      body: Uint8Array;
      signature: Uint8Array;
    }[];
    const out: (PaidReceipt & { account: string | null })[] = [];
    for (const row of rows) {
      options.signal?.throwIfAborted();
      try {
        const r = await verifyReceipt({ body: new Uint8Array(row.body), signature: new Uint8Array(row.signature) });
        // The provider must be the one the keeper stored it for. The receipt's own epoch stamp (the chain's
        // epoch as its consumer saw it) is informational: the window it was stored in decides its epoch, and it
        // counts once ever (hash), so a consumer on another schedule or a lagging view loses nothing.
        if (r.provider !== row.provider) {
          this.log.warn("receipt ignored", { epoch, hash: row.hash, reason: "provider mismatch" });
          continue;
        }
        if (r.epoch + BigInt(RECEIPT_MAX_AGE_EPOCHS) < BigInt(epoch)) {
          // Too old to be new to the network: counted (or dropped) long ago; never evidence of this epoch.
          this.components.store.db.prepare("UPDATE epoch_receipts SET account = NULL WHERE hash = ?").run(row.hash);
          this.log.debug("receipt ignored", { epoch, hash: row.hash, reason: "older than RECEIPT_MAX_AGE_EPOCHS" });
          continue;
        }
        out.push({
          hash: row.hash,
          provider: r.provider,
          consumer: r.consumer,
          bytes: r.bytes,
          account: row.account,
          ...(r.voucher !== undefined && { voucher: r.voucher }),
        });
      } catch (err) {
        this.log.warn("receipt ignored", { epoch, hash: row.hash, reason: (err as Error).message });
      }
    }
    return out;
  }

  /** The epoch's frozen audit outcomes whose signature and fields check (an invalid one is logged and ignored). */
  private async verifiedAudits(epoch: number, options: { signal?: AbortSignal }): Promise<JudgedAudit[]> {
    const out: JudgedAudit[] = [];
    for (const a of this.frozenAudits(epoch)) {
      options.signal?.throwIfAborted();
      try {
        const o = await verifyAuditOutcome(a);
        out.push({ hash: auditOutcomeHash(a.body), provider: o.provider, outcome: o.outcome });
      } catch (err) {
        this.log.warn("audit outcome ignored", { epoch, reason: (err as Error).message });
      }
    }
    return out;
  }

  private frozenAudits(epoch: number): SignedAuditOutcome[] {
    return (
      this.components.store.db
        .prepare("SELECT body, signature FROM epoch_audits WHERE epoch = ? ORDER BY hash")
        .all(epoch) as { body: Uint8Array; signature: Uint8Array }[]
    ).map((r) => ({ body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) }));
  }

  /** The bundle of a closed epoch, from the store. */
  bundle(epoch: number): EpochBundle {
    const { store } = this.components;
    const row: EpochRow | undefined = epochRow(store, epoch);
    if (row?.status !== "closed") throw new EpochUnknownError(epoch);
    const tasks = (
      store.db.prepare("SELECT value FROM epoch_tasks WHERE epoch = ? ORDER BY position").all(epoch) as {
        value: string;
      }[]
    ).map((r) => decodeTaskValue(r.value));
    const contributions: ContributionEntry[] = (
      store.db
        .prepare("SELECT account, idx, contribution FROM epoch_contributions WHERE epoch = ? ORDER BY idx")
        .all(epoch) as { account: string; idx: number; contribution: string }[]
    ).map((r) => ({ account: r.account, index: r.idx, contribution: BigInt(r.contribution) }));
    const reputation: ReputationReport[] = store.db
      .prepare("SELECT node, successes, failures FROM epoch_reputation WHERE epoch = ? ORDER BY node")
      .all(epoch) as unknown as ReputationReport[];
    return {
      epoch,
      startMs: row.start_ms,
      endMs: row.end_ms,
      tasks,
      contributions,
      reputation: reputation.map((r) => ({ node: r.node, successes: r.successes, failures: r.failures })),
      rewardTotal: BigInt(row.reward_total ?? "0"),
      receiptHashes: this.receiptHashes(epoch),
      ...(this.components.observationsHash !== undefined && {
        observationsHash: this.components.observationsHash(epoch),
      }),
      disqualified: (
        store.db.prepare("SELECT provider FROM epoch_disqualified WHERE epoch = ? ORDER BY provider").all(epoch) as {
          provider: string;
        }[]
      ).map((r) => r.provider),
    };
  }
}

/** Service factory (wired in keeper/components.ts). */
export function epochCollector(init: EpochCollectorInit): (components: EpochCollectorComponents) => EpochCollector {
  return (components) => new EpochCollector(components, init);
}
