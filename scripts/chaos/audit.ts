/**
 * The chaos run's verdict, read after the keepers stopped: the chain (TaskLog, RewardPool), what each keeper
 * published (`<publishDir>/<epoch>/epoch.json`) and what each keeper's database froze, against the ledger of
 * every transfer the run asked for.
 *
 * - Commitments: every epoch 1..target committed exactly once (one EpochCommitted event) on each contract, and
 *   nothing but consecutive epochs. A missing one is stranded; a missing or doubled event is a commit error.
 * - Roots: each committed epoch's roots (both contracts) must be the roots some keeper published for it (the
 *   empty-epoch marker when the publication has no tasks / no rewards). Publications that differ from the chain
 *   are counted as disagreements (that keeper raised an alarm), not as failures.
 * - Bytes: what is compared is, per transfer (each moves its own random object, so the object id names it), the
 *   bytes of the consumer-signed receipts for that object that the CHAIN's epochs counted, i.e. the rows of
 *   `epoch_receipts` (the evidence a close froze and computed C_i = f(B_i) from) of the keeper whose
 *   publication matches the committed root, for every committed epoch, whose `account` is the provider's
 *   reward account (a receipt whose provider had no known account at the freeze earns nothing). A transfer that
 *   succeeded with an executor other than its provider must be credited exactly `size` bytes once:
 *   lost = what is missing, double = what is credited beyond `size` (the same receipt counted by two chain
 *   epochs, or the object served twice). A failed transfer may be credited at most once (bytes really served).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import type { JsonRpcProvider } from "ethers";

import type { DeploymentRecord } from "../../keeper/chain/index.ts";
import type { EpochSummary } from "../../keeper/epochs/proofs/publish.ts";
import { rewardCommitmentOf, taskCommitmentOf } from "../../keeper/epochs/submit/submitter.ts";
import type { BuiltEpoch } from "../../keeper/epochs/types.ts";
import { verifyReceipt } from "../../keeper/transfer/index.ts";
import { RewardPool__factory, TaskLog__factory } from "../../types/ethers-contracts/index.ts";

export interface LedgerEntry {
  taskId: string;
  objectId: string;
  size: number;
  provider: string;
  providerPeerId: string;
  providerAccount: string;
  coordinator: string;
  /** succeeded | failed | expired, or in-doubt until resolved after the run. */
  status: string;
  executor: string | null;
  at: number;
}

export interface AuditKeeper {
  name: string;
  dataDir: string;
  publishDir: string;
}

export interface AuditFinding {
  kind: string;
  detail: string;
}

export interface AuditResult {
  lastEpoch: { taskLog: number; rewardPool: number };
  stranded: number[];
  commitErrors: number;
  unpublishedRoots: number[];
  disagreements: { keeper: string; epoch: number }[];
  lostBytes: number;
  doubleCounted: number;
  creditedTransfers: number;
  findings: AuditFinding[];
}

interface ChainEpoch {
  taskRoot: string;
  rewardRoot: string;
}

/** Object ids as one spelling: lower-case hex without 0x. */
const norm = (id: string) => id.replace(/^0x/, "").toLowerCase();

function readSummary(publishDir: string, epoch: number): EpochSummary | undefined {
  const file = join(publishDir, String(epoch), "epoch.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as EpochSummary) : undefined;
}

/** The roots a keeper's publication commits to (the submitter's markers when it has no tasks or rewards). */
function publishedRoots(s: EpochSummary, pool: string): ChainEpoch {
  const empty: BuiltEpoch = {
    bundle: {
      epoch: s.epoch,
      startMs: s.startMs,
      endMs: s.endMs,
      tasks: [],
      contributions: [],
      reputation: [],
      rewardTotal: 0n,
    },
    totalContribution: 0n,
  };
  const rewardsEmpty = s.rewards === null || s.rewards.rewardTotal === "0" || s.rewards.totalContribution === "0";
  return {
    taskRoot: s.tasks?.root ?? taskCommitmentOf(empty).root,
    rewardRoot: rewardsEmpty ? rewardCommitmentOf(empty, pool).root : s.rewards!.root,
  };
}

export async function audit(
  provider: JsonRpcProvider,
  record: DeploymentRecord,
  keepers: readonly AuditKeeper[],
  ledger: readonly LedgerEntry[],
  target: number,
): Promise<AuditResult> {
  const findings: AuditFinding[] = [];
  const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, provider);
  const pool = RewardPool__factory.connect(record.contracts.RewardPool, provider);
  const lastEpoch = { taskLog: Number(await taskLog.lastEpoch()), rewardPool: Number(await pool.lastEpoch()) };

  // ── commitments: once each, consecutive ──
  let commitErrors = 0;
  const events = {
    TaskLog: await taskLog.queryFilter(taskLog.filters.EpochCommitted(), 0),
    RewardPool: await pool.queryFilter(pool.filters.EpochCommitted(), 0),
  };
  for (const [contract, list] of Object.entries(events)) {
    const count = new Map<number, number>();
    for (const e of list) count.set(Number(e.args.epoch), (count.get(Number(e.args.epoch)) ?? 0) + 1);
    const last = contract === "TaskLog" ? lastEpoch.taskLog : lastEpoch.rewardPool;
    for (let e = 1; e <= last; e++) {
      if (count.get(e) !== 1) {
        commitErrors++;
        findings.push({ kind: "commit", detail: `${contract} epoch ${e} committed ${count.get(e) ?? 0} times` });
      }
    }
    for (const e of count.keys()) {
      if (e < 1 || e > last) {
        commitErrors++;
        findings.push({ kind: "commit", detail: `${contract} event for epoch ${e} outside 1..${last}` });
      }
    }
  }
  const stranded: number[] = [];
  for (let e = 1; e <= target; e++) {
    if (e > lastEpoch.taskLog || e > lastEpoch.rewardPool) stranded.push(e);
  }
  if (stranded.length > 0)
    findings.push({ kind: "stranded", detail: `epochs ${stranded.join(",")} not committed on both contracts` });

  // ── roots: the chain's are some keeper's published ones ──
  const committed = Math.min(lastEpoch.taskLog, lastEpoch.rewardPool);
  const unpublishedRoots: number[] = [];
  const disagreements: { keeper: string; epoch: number }[] = [];
  /** Per committed epoch, a keeper whose publication the chain holds: its frozen evidence is the chain's. */
  const source = new Map<number, AuditKeeper>();
  for (let e = 1; e <= committed; e++) {
    const onChain: ChainEpoch = {
      taskRoot: await taskLog.rootOf(e),
      rewardRoot: (await pool.epochOf(e))[0].root,
    };
    for (const k of keepers) {
      const s = readSummary(k.publishDir, e);
      if (s === undefined) continue;
      const ours = publishedRoots(s, record.contracts.RewardPool);
      if (ours.taskRoot === onChain.taskRoot && ours.rewardRoot === onChain.rewardRoot) {
        if (!source.has(e)) source.set(e, k);
      } else disagreements.push({ keeper: k.name, epoch: e });
    }
    if (!source.has(e)) {
      unpublishedRoots.push(e);
      findings.push({ kind: "root", detail: `epoch ${e}: no keeper published the roots the chain holds` });
    }
  }

  // ── bytes: each transfer credited once, by the chain's epochs ──
  const credits = new Map<string, { epoch: number; bytes: number; consumer: string; hash: string; source: string }[]>();
  const dbs = new Map<string, DatabaseSync>();
  try {
    for (const [epoch, k] of source) {
      let db = dbs.get(k.name);
      if (db === undefined) {
        db = new DatabaseSync(join(k.dataDir, "keeper.db"), { readOnly: true });
        dbs.set(k.name, db);
      }
      const rows = db
        .prepare("SELECT hash, account, body, signature FROM epoch_receipts WHERE epoch = ? AND account IS NOT NULL")
        .all(epoch) as { hash: string; account: string; body: Uint8Array; signature: Uint8Array }[];
      for (const row of rows) {
        const r = await verifyReceipt({ body: new Uint8Array(row.body), signature: new Uint8Array(row.signature) });
        const list = credits.get(norm(r.objectId)) ?? [];
        // The ledger counts each object's bytes once: the receipts' plaintext, as the object's size is (the
        // credit itself, r.bytes, is what was carried on the wire: plaintext + a GCM tag per part for random data).
        list.push({ epoch, bytes: Number(r.plainBytes), consumer: r.consumer, hash: row.hash, source: k.name });
        credits.set(norm(r.objectId), list);
      }
    }
  } finally {
    for (const db of dbs.values()) db.close();
  }
  let lostBytes = 0;
  let doubleCounted = 0;
  let creditedTransfers = 0;
  for (const t of ledger) {
    const got = credits.get(norm(t.objectId)) ?? [];
    const bytes = got.reduce((n, c) => n + c.bytes, 0);
    const mustCredit = t.status === "succeeded" && t.executor !== null && t.executor !== t.providerPeerId;
    const where = got
      .map(
        (c) =>
          `chain epoch ${c.epoch} (as ${c.source} froze it) receipt ${c.hash.slice(0, 10)} by ${c.consumer.slice(-6)}`,
      )
      .join("; ");
    if (bytes > 0) creditedTransfers++;
    if (mustCredit && bytes < t.size) {
      lostBytes += t.size - bytes;
      findings.push({
        kind: "lost",
        detail: `${t.taskId} (${t.size} B from ${t.provider}, coordinated by ${t.coordinator}, executor ${t.executor?.slice(-6)}) credited ${bytes} B${where ? `: ${where}` : ""}`,
      });
    }
    if (bytes > t.size || got.length > 1) {
      doubleCounted += Math.max(0, bytes - t.size);
      findings.push({
        kind: "double",
        detail: `${t.taskId} (${t.size} B from ${t.provider}, ${t.status}) credited ${got.length}× = ${bytes} B: ${where}`,
      });
    }
  }
  return {
    lastEpoch,
    stranded,
    commitErrors,
    unpublishedRoots,
    disagreements,
    lostBytes,
    doubleCounted,
    creditedTransfers,
    findings,
  };
}
