/**
 * Publication of an epoch: a directory `<base>/<epoch>/` (default base `deployments/<network>/epochs`) with
 *   - rewards.json: the reward tree as a StandardMerkleTree dump (`StandardMerkleTree.load` accepts it),
 *   - tasks.json:   the task-record tree as a StandardMerkleTree dump,
 *   - epoch.json:   the summary (roots, totals, counts, Reputation reports, transaction hashes, URI).
 * Every file is written next to its final name and renamed into place; the summary last, so a reader that
 * finds epoch.json finds the dumps it names.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { ZeroHash } from "ethers";

import { writeDump } from "./dump.ts";
import {
  DEFAULT_PROOFS_ROOT,
  EPOCH_SUMMARY_FILE,
  EPOCH_SUMMARY_FORMAT,
  EVIDENCE_FILE,
  EVIDENCE_FORMAT,
  EVIDENCE_FORMAT_V2,
  REWARDS_DUMP_FILE,
  TASKS_DUMP_FILE,
} from "./constants.ts";
import { EpochUnknownError } from "../collect/errors.ts";
import { PublishedEpochError } from "./errors.ts";
import type { StandardMerkleTreeDump } from "../merkle/tree.ts";
import type { BuiltEpoch, EpochEvidence, ReputationReport } from "../types.ts";
import { encodeEvidence, evidenceHash, parseEvidence } from "./evidence.ts";

/** Transaction hashes of an epoch's on-chain submission, filled in when known. */
export interface EpochTransactions {
  taskLog?: string;
  rewardPool?: string;
  reputation?: string[];
}

/** `epoch.json`. Amounts are decimal strings (JSON has no bigint). */
export interface EpochSummary {
  format: typeof EPOCH_SUMMARY_FORMAT;
  epoch: number;
  startMs: number;
  endMs: number;
  rewards: {
    root: string;
    totalContribution: string;
    rewardTotal: string;
    accounts: number;
    file: string;
  } | null;
  tasks: { root: string; count: number; file: string } | null;
  /**
   * The receipts the epoch counted (evidence.json); absent in summaries published before it existed. With
   * `format` lumora-evidence-v2 the file holds the signed receipts, records and outcomes too, and `hash` is the
   * keccak256 of its bytes. `observations`: the identity of the epoch's observation set (observe/observation.ts
   * `observationSetHash`) when it merged one, what the commitment's evidence hash binds beside the receipts.
   */
  evidence?: { receipts: number; file: string; format?: string; hash?: string; observations?: string };
  reputation: ReputationReport[];
  transactions: EpochTransactions;
  /** Where the full record set is published (the URI committed to TaskLog). */
  uri?: string;
  publishedAt: string;
}

/** Values of rewards.json as JSON holds them: [epoch, index, account, contribution], numbers as strings. */
export type RewardDumpValue = [string, string, string, string];

/** `<root>/<network>/epochs`: where a network's epochs are published by default. */
export function defaultEpochsDir(network: string, root: string = DEFAULT_PROOFS_ROOT): string {
  return path.join(root, network, "epochs");
}

/** The directory of one epoch. */
export function epochDir(base: string, epoch: number): string {
  return path.join(base, String(epoch));
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

export interface PublishOptions {
  uri?: string;
  /** What the epoch counted, in full: published as lumora-evidence-v2 (else only the receipt hashes, v1). */
  evidence?: EpochEvidence;
  transactions?: EpochTransactions;
  signal?: AbortSignal;
}

/** Writes an epoch's dumps and summary under `<base>/<epoch>/`; returns the summary. */
export async function publishEpoch(
  built: BuiltEpoch,
  base: string,
  options: PublishOptions = {},
): Promise<EpochSummary> {
  const { bundle, rewardTree, taskTree } = built;
  const dir = epochDir(base, bundle.epoch);
  await mkdir(dir, { recursive: true });
  if (rewardTree !== undefined) await writeDump(rewardTree, path.join(dir, REWARDS_DUMP_FILE), options);
  if (taskTree !== undefined) await writeDump(taskTree, path.join(dir, TASKS_DUMP_FILE), options);
  const receipts = bundle.receiptHashes ?? [];
  const observed = bundle.observationsHash !== undefined && bundle.observationsHash !== ZeroHash;
  const evidenceText =
    options.evidence !== undefined
      ? encodeEvidence(bundle.epoch, options.evidence)
      : JSON.stringify({ format: EVIDENCE_FORMAT, epoch: bundle.epoch, receipts }) + "\n";
  await writeAtomic(path.join(dir, EVIDENCE_FILE), evidenceText);
  const summary: EpochSummary = {
    format: EPOCH_SUMMARY_FORMAT,
    epoch: bundle.epoch,
    startMs: bundle.startMs,
    endMs: bundle.endMs,
    rewards:
      rewardTree === undefined
        ? null
        : {
            root: rewardTree.root,
            totalContribution: built.totalContribution.toString(),
            rewardTotal: bundle.rewardTotal.toString(),
            accounts: rewardTree.size,
            file: REWARDS_DUMP_FILE,
          },
    tasks: taskTree === undefined ? null : { root: taskTree.root, count: taskTree.size, file: TASKS_DUMP_FILE },
    evidence:
      options.evidence !== undefined
        ? {
            receipts: options.evidence.receipts.length,
            file: EVIDENCE_FILE,
            format: EVIDENCE_FORMAT_V2,
            hash: evidenceHash(evidenceText),
            ...(observed && { observations: bundle.observationsHash }),
          }
        : {
            receipts: receipts.length,
            file: EVIDENCE_FILE,
            ...(observed && { observations: bundle.observationsHash }),
          },
    reputation: bundle.reputation,
    transactions: options.transactions ?? {},
    ...(options.uri !== undefined && { uri: options.uri }),
    publishedAt: new Date().toISOString(),
  };
  await writeAtomic(path.join(dir, EPOCH_SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** Adds transaction hashes (or a URI) to a published summary, once the submission knows them. */
export async function updateEpochSummary(
  base: string,
  epoch: number,
  patch: { transactions?: EpochTransactions; uri?: string },
): Promise<EpochSummary> {
  const summary = await readEpochSummary(base, epoch);
  const next: EpochSummary = {
    ...summary,
    transactions: { ...summary.transactions, ...patch.transactions },
    ...(patch.uri !== undefined && { uri: patch.uri }),
  };
  await writeAtomic(path.join(epochDir(base, epoch), EPOCH_SUMMARY_FILE), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw err;
    throw new PublishedEpochError(file, (err as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PublishedEpochError(file, `not JSON: ${(err as Error).message}`);
  }
}

/** Reads `epoch.json`; EpochUnknownError when the epoch was not published there. */
export async function readEpochSummary(base: string, epoch: number): Promise<EpochSummary> {
  const file = path.join(epochDir(base, epoch), EPOCH_SUMMARY_FILE);
  let summary: EpochSummary;
  try {
    summary = (await readJson(file)) as EpochSummary;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new EpochUnknownError(epoch);
    throw err;
  }
  if (summary.format !== EPOCH_SUMMARY_FORMAT || summary.epoch !== epoch) {
    throw new PublishedEpochError(file, `not a ${EPOCH_SUMMARY_FORMAT} summary of epoch ${epoch}`);
  }
  return summary;
}

/** Reads one of the epoch's dumps (undefined when the epoch has none of that kind). */
export async function readEpochDump<T extends readonly unknown[]>(
  base: string,
  epoch: number,
  kind: "rewards" | "tasks",
): Promise<StandardMerkleTreeDump<T> | undefined> {
  const summary = await readEpochSummary(base, epoch);
  const entry = kind === "rewards" ? summary.rewards : summary.tasks;
  if (entry === null) return undefined;
  const file = path.join(epochDir(base, epoch), path.basename(entry.file));
  let dump: StandardMerkleTreeDump<T>;
  try {
    dump = (await readJson(file)) as StandardMerkleTreeDump<T>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new PublishedEpochError(file, "missing");
    throw err;
  }
  if (dump.format !== "standard-v1" || !Array.isArray(dump.tree) || !Array.isArray(dump.values)) {
    throw new PublishedEpochError(file, "not a StandardMerkleTree dump");
  }
  return dump;
}

/** Reads an epoch's evidence (the receipt hashes it counted); EpochUnknownError when it has none published. */
export async function readEpochEvidence(base: string, epoch: number): Promise<string[]> {
  const file = path.join(epochDir(base, epoch), EVIDENCE_FILE);
  let v: { format?: unknown; epoch?: unknown; receipts?: unknown };
  try {
    v = (await readJson(file)) as typeof v;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new EpochUnknownError(epoch);
    throw err;
  }
  if (
    (v.format !== EVIDENCE_FORMAT && v.format !== EVIDENCE_FORMAT_V2) ||
    v.epoch !== epoch ||
    !Array.isArray(v.receipts)
  )
    throw new PublishedEpochError(file, `not a ${EVIDENCE_FORMAT} file of epoch ${epoch}`);
  return v.receipts.map(String);
}

/** Reads an epoch's full evidence (lumora-evidence-v2); undefined when it published only hashes (v1) or none. */
export async function readFullEvidence(
  base: string,
  epoch: number,
): Promise<(EpochEvidence & { ids: string[] }) | undefined> {
  const file = path.join(epochDir(base, epoch), EVIDENCE_FILE);
  let v: { format?: unknown };
  try {
    v = (await readJson(file)) as typeof v;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (v.format !== EVIDENCE_FORMAT_V2) return undefined;
  try {
    return parseEvidence(v, epoch);
  } catch (err) {
    throw new PublishedEpochError(file, (err as Error).message);
  }
}
