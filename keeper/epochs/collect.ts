/**
 * The epoch collector: closes epochs over the keeper's store. Closing freezes the window [startMs, endMs)
 * and its evidence atomically (see collect-store.ts), then computes C_i, ΣC, R_total and the Reputation
 * reports from the frozen copy and returns the epoch's bundle.
 *
 * Window rule: a task belongs to the epoch its `ended_at` falls in; a receipt to the epoch its keeper stored it
 * in (`transfer_receipts.issued_at`, the keeper's clock); health counts to the epoch that was open when they
 * were counted (`currentEpoch()`, which moves to the next epoch in the same synchronous step as the freeze).
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { getAddress } from "ethers";

import type { HealthCounters } from "../health/counters.ts";
import type { Logger } from "../logger.ts";
import type { Store } from "../store/index.ts";
import { epochTaskRecords, toLeafValue } from "../tasks/records.ts";
import type { TaskStore } from "../tasks/store.ts";
import { verifyReceipt } from "../transfer/receipt.ts";
import { AccountIndex } from "./accounts.ts";
import { epochRow, lastEpochRow, migrateEpochs, type EpochRow } from "./collect-store.ts";
import {
  computeContributions,
  reputationReports,
  rewardTotalFor,
  totalContribution,
  type NodeOutcomes,
  type VerifiedReceipt,
} from "./contribution.ts";
import { EpochUnknownError, EpochWindowError } from "./epoch-errors.ts";
import type { ContributionEntry, EpochBundle, ReputationReport, TaskRecordValue } from "./types.ts";

/** A receipt row as the transfer module stores it. */
export interface RawReceipt {
  provider: string;
  body: Uint8Array;
  signature: Uint8Array;
}

export interface EpochCollectorInit {
  /** R_total per epoch before the pool's caps (token base units). */
  rewardPerEpoch: bigint;
  /** Start of epoch 1 (Unix ms) on a fresh store; default: when the store is first opened. */
  genesisMs?: number;
}

export interface EpochCollectorComponents {
  store: Store;
  logger: Logger;
  /** On-chain reward address of a peer (from its signed peer record); undefined when unknown. */
  addressOf: (peerId: string) => string | undefined;
  /** The task store; its queued writes are flushed before a freeze so no finished task is missed. */
  tasks?: TaskStore;
  /** Per-epoch health counters (Reputation inputs and the success weight of C_i). */
  counters?: HealthCounters;
  /** Task records other coordinators hold for [fromMs, toMs) (gathered before the close); merged by task id. */
  remoteTaskValues?: (fromMs: number, toMs: number) => TaskRecordValue[];
  /** Receipts stored in [fromMs, toMs); default: the transfer module's `transfer_receipts` table. */
  receiptsBetween?: (fromMs: number, toMs: number) => RawReceipt[];
  /**
   * The largest R_total the pool accepts now (RewardPool.maxRewardTotal: the unreserved balance under the pool's
   * absolute and share caps), which caps R_total; no cap when absent.
   */
  maxRewardTotal?: (options: { signal?: AbortSignal }) => Promise<bigint>;
}

/** Reads the transfer module's stored receipts of a window (read-only; the table belongs to keeper/transfer). */
export function transferReceiptsBetween(store: Store): (fromMs: number, toMs: number) => RawReceipt[] {
  return (fromMs, toMs) => {
    const exists = store.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transfer_receipts'")
      .get();
    if (exists === undefined) return [];
    return (
      store.db
        .prepare(
          "SELECT provider, body, signature FROM transfer_receipts WHERE issued_at >= ? AND issued_at < ? ORDER BY id",
        )
        .all(fromMs, toMs) as Array<{ provider: string; body: Uint8Array; signature: Uint8Array }>
    ).map((r) => ({ provider: r.provider, body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) }));
  };
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

  constructor(
    private readonly components: EpochCollectorComponents,
    private readonly init: EpochCollectorInit,
  ) {
    this.log = components.logger.child("epochs");
    migrateEpochs(components.store, init.genesisMs ?? Date.now());
    this.accounts = new AccountIndex(components.store);
    this.receiptsBetween = components.receiptsBetween ?? transferReceiptsBetween(components.store);
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

  /** Freezes and finalizes the open epoch at `endMs` (default now); returns its bundle. */
  async close(options: { endMs?: number; signal?: AbortSignal } = {}): Promise<EpochBundle> {
    const epoch = this.freeze(options.endMs ?? Date.now());
    return this.finalize(epoch, options);
  }

  /**
   * Closes the window of the open epoch at `endMs` and copies its evidence, in one synchronous transaction:
   * from here on, new work is counted in the next epoch. Returns the frozen epoch.
   */
  freeze(endMs: number): number {
    const { store, tasks, counters, addressOf } = this.components;
    // Queued task writes (finished tasks not yet flushed) belong to this window: commit them first.
    tasks?.flush();
    return store.transaction(() => {
      const last = lastEpochRow(store);
      const epoch = last.epoch + 1;
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
      // A receipt counts once ever: the same signed body stored again later is ignored (primary key).
      const insertReceipt = db.prepare(
        "INSERT OR IGNORE INTO epoch_receipts (hash, epoch, provider, account, body, signature) VALUES (?, ?, ?, ?, ?, ?)",
      );
      for (const r of this.receiptsBetween(startMs, endMs)) {
        const hash = "0x" + bytesToHex(keccak_256(r.body));
        insertReceipt.run(hash, epoch, r.provider, checksummed(addressOf, r.provider), r.body, r.signature);
      }
      if (counters !== undefined) {
        const insert = db.prepare(
          "INSERT INTO epoch_health (epoch, peer_id, account, successes, failures) VALUES (?, ?, ?, ?, ?)",
        );
        for (const h of counters.reports(epoch)) {
          insert.run(epoch, h.peerId, checksummed(addressOf, h.peerId), h.successes, h.failures);
        }
      }
      this.log.info("epoch frozen", { epoch, startMs, endMs });
      return epoch;
    });
  }

  /**
   * Computes a frozen epoch's contributions, indices, R_total and reports and marks it closed (one
   * transaction). Idempotent: a closed epoch returns its stored bundle.
   */
  finalize(epoch: number, options: { signal?: AbortSignal } = {}): Promise<EpochBundle> {
    let running = this.finalizing.get(epoch);
    if (running === undefined) {
      running = this.doFinalize(epoch, options).finally(() => this.finalizing.delete(epoch));
      this.finalizing.set(epoch, running);
    }
    return running;
  }

  private async doFinalize(epoch: number, options: { signal?: AbortSignal }): Promise<EpochBundle> {
    const { store } = this.components;
    const row = epochRow(store, epoch);
    if (row === undefined || row.status === "genesis") throw new EpochUnknownError(epoch);
    if (row.status === "closed") return this.bundle(epoch);

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

    const contributions = computeContributions({ receipts, outcomes, addressOf });
    const reports = reputationReports(outcomes, addressOf);
    const totalC = totalContribution(contributions);
    const maxReward =
      totalC > 0n && this.components.maxRewardTotal !== undefined
        ? await this.components.maxRewardTotal(options)
        : this.init.rewardPerEpoch;
    const rewardTotal = rewardTotalFor(this.init, maxReward, totalC);
    options.signal?.throwIfAborted();

    store.transaction(() => {
      const current = epochRow(store, epoch);
      if (current?.status !== "frozen") return;
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
      store.db
        .prepare("UPDATE epochs SET status = 'closed', reward_total = ?, closed_at = ? WHERE epoch = ?")
        .run(rewardTotal.toString(), Date.now(), epoch);
    });
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
  ): Promise<(VerifiedReceipt & { account: string | null })[]> {
    const rows = this.components.store.db
      .prepare("SELECT hash, provider, account, body, signature FROM epoch_receipts WHERE epoch = ? ORDER BY hash")
      .all(epoch) as {
      hash: string;
      provider: string;
      account: string | null;
      body: Uint8Array;
      signature: Uint8Array;
    }[];
    const out: (VerifiedReceipt & { account: string | null })[] = [];
    for (const row of rows) {
      options.signal?.throwIfAborted();
      try {
        const r = await verifyReceipt({ body: new Uint8Array(row.body), signature: new Uint8Array(row.signature) });
        // The provider must be the one the keeper stored it for, and the consumer cannot date it in the future.
        if (r.provider !== row.provider || r.epoch > BigInt(epoch)) {
          this.log.warn("receipt ignored", { epoch, hash: row.hash, reason: "provider or epoch mismatch" });
          continue;
        }
        out.push({ hash: row.hash, provider: r.provider, consumer: r.consumer, bytes: r.bytes, account: row.account });
      } catch (err) {
        this.log.warn("receipt ignored", { epoch, hash: row.hash, reason: (err as Error).message });
      }
    }
    return out;
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
    };
  }
}

/** Service factory (composition in keeper/index.ts). */
export function epochCollector(init: EpochCollectorInit): (components: EpochCollectorComponents) => EpochCollector {
  return (components) => new EpochCollector(components, init);
}
