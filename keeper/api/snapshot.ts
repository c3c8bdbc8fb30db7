/**
 * What the operator sees, read from a running keeper's public fields and its store: peers with their score
 * inputs, tasks by state, transfers with progress, epochs and rewards. Read-only; one function per section so
 * the JSON endpoints, the dashboard and /metrics share them.
 */
import { readdir } from "node:fs/promises";

import { DirectoryProofSource } from "../epochs/proofs.ts";
import { readEpochSummary, type EpochTransactions } from "../epochs/publish.ts";
import type { Keeper, KeeperChainStatus } from "../keeper.ts";
import { routingTableSize } from "../p2p/bootstrap.ts";
import type { BanStats } from "../p2p/gater.ts";
import { connectionLimits } from "../p2p/node.ts";
import { scoreUnchecked } from "../routing/index.ts";
import { Manifest } from "../transfer/pb/transfer.ts";
import { RECENT_TASKS, RECENT_TRANSFERS } from "./constants.ts";

export interface PeerView {
  peerId: string;
  capabilities: string[];
  /** B: advertised bandwidth, bytes/s. */
  bandwidthBps: number;
  /** P: DHT hops (undefined until measured). */
  proximity: number | null;
  /** L: smoothed RTT, ms. */
  latencyMs: number | null;
  score: number | null;
  shard: number | null;
  load: number;
  capacity: number;
  rewardAddress: string;
  /** Flagged by Reputation: never routed to. */
  flagged: boolean;
  health: string;
  connected: boolean;
  /** Task outcomes this epoch (the Reputation report inputs). */
  successes: number;
  failures: number;
}

export type TaskState = "queued" | "assigned" | "running" | "succeeded" | "failed" | "expired";
export const TASK_STATES: readonly TaskState[] = ["queued", "assigned", "running", "succeeded", "failed", "expired"];

export interface TaskView {
  id: string;
  status: TaskState;
  executor: string | null;
  attempts: number;
  size: number;
  bytes: number | null;
  createdAt: number;
  endedAt: number | null;
  reason: string | null;
}

export interface TasksView {
  byState: Record<TaskState, number>;
  /** Tasks that needed more than one attempt. */
  reassigned: number;
  /** Attempts after the first, over all tasks. */
  reassignments: number;
  inFlight: number;
  recent: TaskView[];
}

export interface TransferView {
  objectId: string;
  /** "download": fetched here (executor/consumer); "published": served from here (provider). */
  kind: "download" | "published";
  size: number;
  parts: number;
  partsDone: number;
  bytesDone: number;
  completed: boolean;
  startedAt: number;
}

export interface TransfersView {
  items: TransferView[];
  /** Plaintext bytes served to consumers / verified from providers. */
  bytesServed: number;
  bytesFetched: number;
  partsServed: number;
}

export interface EpochView {
  epoch: number;
  status: string;
  startMs?: number;
  endMs?: number;
  rewardTotal?: string;
  totalContribution?: string;
  tasks?: number;
  transactions?: EpochTransactions;
  /** Claimable once the challenge window passed (from the chain, when a source provides it). */
  claimable?: boolean;
}

export interface RewardView {
  epoch: number;
  account: string;
  contribution: string;
  amount: string | null;
}

/** Pluggable epoch status (the chain/epoch submission modules know pending vs claimable). */
export interface EpochSource {
  epochs(options?: { signal?: AbortSignal }): Promise<EpochView[]>;
}

function hasTable(keeper: Keeper, name: string): boolean {
  return (
    keeper.store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  );
}

export function peersView(keeper: Keeper): PeerView[] {
  const self = keeper.peerId.toString();
  const connected = new Set(keeper.node.getPeers().map((p) => p.toString()));
  const bMax = keeper.routing.maxBandwidth();
  const out: PeerView[] = [];
  for (const record of keeper.discovery.peers()) {
    if (record.peerId === self) continue;
    const routed = keeper.routing.get(record.peerId);
    const near = keeper.proximity.view(record.peerId);
    const counts = keeper.counters.get(keeper.epoch, record.peerId);
    const flagged = keeper.flagged.has(record.rewardAddress.toLowerCase());
    let score: number | null = null;
    if (routed !== undefined) {
      const s = scoreUnchecked(routed, bMax, keeper.routing.weights);
      score = Number.isFinite(s) ? s : null;
    }
    out.push({
      peerId: record.peerId,
      capabilities: [...record.capabilities],
      bandwidthBps: record.bandwidthBps,
      proximity: near.proximity ?? null,
      latencyMs: near.latencyMs ?? null,
      score,
      shard: routed?.shard ?? null,
      load: routed?.load ?? record.load,
      capacity: record.capacity,
      rewardAddress: record.rewardAddress,
      flagged,
      health: keeper.health.status(record.peerId) ?? "unknown",
      connected: connected.has(record.peerId),
      successes: counts.successes,
      failures: counts.failures,
    });
  }
  return out.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || a.peerId.localeCompare(b.peerId));
}

export function tasksView(keeper: Keeper, limit = RECENT_TASKS): TasksView {
  const db = keeper.store.db;
  const byState = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const row of db.prepare("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status").all() as Array<{
    status: TaskState;
    n: number;
  }>) {
    byState[row.status] = row.n;
  }
  const reassigned = (db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE attempts > 1").get() as { n: number }).n;
  const reassignments = (db.prepare("SELECT COUNT(*) AS n FROM task_attempts WHERE attempt > 1").get() as { n: number })
    .n;
  const rows = db
    .prepare(
      "SELECT t.id, t.status, t.attempts, t.size, t.bytes, t.created_at, t.ended_at, t.reason, " +
        "COALESCE(t.executor, (SELECT a.executor FROM task_attempts a WHERE a.task_id = t.id ORDER BY a.attempt DESC LIMIT 1)) AS executor " +
        "FROM tasks t ORDER BY t.seq DESC LIMIT ?",
    )
    .all(limit) as Array<Record<string, unknown>>;
  return {
    byState,
    reassigned,
    reassignments,
    inFlight: keeper.tasks.stats().inflight,
    recent: rows.map((r) => ({
      id: String(r.id),
      status: r.status as TaskState,
      executor: (r.executor as string | null) ?? null,
      attempts: Number(r.attempts),
      size: Number(r.size),
      bytes: r.bytes === null ? null : Number(r.bytes),
      createdAt: Number(r.created_at),
      endedAt: r.ended_at === null ? null : Number(r.ended_at),
      reason: (r.reason as string | null) ?? null,
    })),
  };
}

/** One task by id (what `transfer --wait` polls), or undefined when this keeper does not know it. */
export function taskView(keeper: Keeper, id: string): TaskView | undefined {
  const t = keeper.tasks.taskStore.task(id);
  if (t === undefined) return undefined;
  const last = keeper.tasks.taskStore.attemptsOf(id).at(-1);
  return {
    id: t.id,
    status: t.status as TaskState,
    executor: t.executor ?? last?.executor ?? null,
    attempts: t.attempts,
    size: t.size,
    bytes: t.bytes,
    createdAt: t.created_at,
    endedAt: t.ended_at,
    reason: t.reason,
  };
}

export function transfersView(keeper: Keeper, limit = RECENT_TRANSFERS): TransfersView {
  const db = keeper.store.db;
  const items: TransferView[] = [];
  const downloads = db
    .prepare(
      "SELECT d.object_id, d.manifest, d.started_at, d.completed_at, " +
        "(SELECT COUNT(*) FROM transfer_parts p WHERE p.download_id = d.id) AS parts_done, " +
        "(SELECT COALESCE(SUM(bytes), 0) FROM transfer_parts p WHERE p.download_id = d.id) AS bytes_done " +
        "FROM transfer_downloads d ORDER BY d.id DESC LIMIT ?",
    )
    .all(limit) as Array<{
    object_id: string;
    manifest: Uint8Array;
    started_at: number;
    completed_at: number | null;
    parts_done: number;
    bytes_done: number;
  }>;
  for (const d of downloads) {
    const m = Manifest.decode(d.manifest);
    const size = Number(m.size);
    const parts = m.partHashes.length;
    const completed = d.completed_at !== null;
    items.push({
      objectId: d.object_id,
      kind: "download",
      size,
      parts,
      partsDone: completed ? parts : d.parts_done,
      bytesDone: completed ? size : d.bytes_done,
      completed,
      startedAt: d.started_at,
    });
  }
  const published = db
    .prepare("SELECT object_id, manifest, published_at FROM transfer_objects ORDER BY published_at DESC LIMIT ?")
    .all(limit) as Array<{ object_id: string; manifest: Uint8Array; published_at: number }>;
  for (const p of published) {
    const m = Manifest.decode(p.manifest);
    const size = Number(m.size);
    const parts = m.partHashes.length;
    items.push({
      objectId: p.object_id,
      kind: "published",
      size,
      parts,
      partsDone: parts,
      bytesDone: size,
      completed: true,
      startedAt: p.published_at,
    });
  }
  const fetched = (db.prepare("SELECT COALESCE(SUM(bytes), 0) AS n FROM transfer_contributions").get() as { n: number })
    .n;
  const served = keeper.transfer.providerStats;
  return { items, bytesServed: served.bytesServed, bytesFetched: fetched, partsServed: served.partsServed };
}

/**
 * Epochs as this keeper knows them: its own epoch rows (when the epochs module migrated its tables), the
 * summaries published in `epochsDir` (roots, tx hashes), and whatever `source` says about on-chain status.
 */
export async function epochsView(
  keeper: Keeper,
  epochsDir: string | undefined,
  source: EpochSource | undefined,
): Promise<EpochView[]> {
  const byEpoch = new Map<number, EpochView>();
  if (hasTable(keeper, "epochs")) {
    const rows = keeper.store.db
      .prepare("SELECT * FROM epochs WHERE status != 'genesis' ORDER BY epoch DESC LIMIT 50")
      .all() as Array<Record<string, unknown>>;
    for (const r of rows) {
      byEpoch.set(Number(r.epoch), {
        epoch: Number(r.epoch),
        status: String(r.status),
        startMs: Number(r.start_ms),
        endMs: Number(r.end_ms),
        rewardTotal: r.reward_total === null ? undefined : String(r.reward_total),
      });
    }
  }
  for (const summary of await publishedSummaries(epochsDir)) {
    const prev = byEpoch.get(summary.epoch);
    byEpoch.set(summary.epoch, {
      ...prev,
      epoch: summary.epoch,
      status: Object.keys(summary.transactions).length > 0 ? "submitted" : "published",
      startMs: summary.startMs,
      endMs: summary.endMs,
      rewardTotal: summary.rewards?.rewardTotal ?? prev?.rewardTotal,
      totalContribution: summary.rewards?.totalContribution,
      tasks: summary.tasks?.count,
      transactions: summary.transactions,
    });
  }
  for (const e of (await source?.epochs().catch(() => [])) ?? [])
    byEpoch.set(e.epoch, { ...byEpoch.get(e.epoch), ...e });
  return [...byEpoch.values()].sort((a, b) => b.epoch - a.epoch);
}

async function publishedSummaries(dir: string | undefined) {
  if (dir === undefined) return [];
  const names = await readdir(dir).catch(() => [] as string[]);
  const epochs = names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => b - a)
    .slice(0, 50);
  const out = [];
  for (const epoch of epochs) {
    try {
      out.push(await readEpochSummary(dir, epoch));
    } catch {
      // An epoch being written, or not one of ours: not shown.
    }
  }
  return out;
}

/** This node's rewards per published epoch (its reward address's leaf), from the publication directory. */
export async function rewardsView(
  keeper: Keeper,
  epochsDir: string | undefined,
  epochs: readonly EpochView[],
): Promise<RewardView[]> {
  if (epochsDir === undefined) return [];
  const source = new DirectoryProofSource(epochsDir);
  const account = keeper.config.rewardAddress;
  const out: RewardView[] = [];
  for (const e of epochs) {
    if (e.totalContribution === undefined) continue;
    try {
      const proof = await source.proof(e.epoch, account);
      out.push({ epoch: e.epoch, account, contribution: proof.contribution, amount: proof.amount ?? null });
    } catch {
      // Not a contributor in that epoch.
    }
  }
  return out;
}

export interface StatusView {
  peerId: string;
  addresses: string[];
  epoch: number;
  startedAt: number;
  now: number;
  rewardAddress: string;
  capabilities: string[];
  dht: { routingTableSize: number };
  connections: number;
  peers: PeerView[];
  tasks: TasksView;
  transfers: TransfersView & { throughputBps: number };
  epochs: EpochView[];
  rewards: RewardView[];
  counters: Record<string, number>;
  /** The chain side: reachability, last on-chain epoch, epochs waiting for their hand-over, last commit. */
  chain: KeeperChainStatus;
  /** Task requests refused by admission, per code (execution/admission.ts). */
  refusals: Record<string, number>;
  limits: LimitsView;
}

/** Bans and every cap hit since start (config `limits`): what lumora_bans_* and lumora_limit_hits_total show. */
export interface LimitsView {
  bans: BanStats;
  /** Times each cap was hit, by its config name (`connections.perIp`, `transfer.maxSessions`, …). */
  hits: Record<string, number>;
}

export function limitsView(keeper: Keeper): LimitsView {
  const conns = connectionLimits(keeper.node)?.stats;
  const transfer = keeper.transfer.providerStats;
  const lookups = keeper.discovery.lookups.stats;
  const exchange = keeper.exchange.stats;
  const bans = keeper.bans.stats();
  return {
    bans,
    hits: {
      "connections.perIp": conns?.refusedPerIp ?? 0,
      "connections.reservedForKeepers": conns?.refusedReserved ?? 0,
      "connections.idleTimeoutMs": conns?.reaped ?? 0,
      "transfer.maxSessions": transfer.sessionsRefused - transfer.sessionsRefusedPerConnection,
      "transfer.maxSessionsPerConnection": transfer.sessionsRefusedPerConnection,
      "transfer.writeTimeoutMs": transfer.writeTimeouts,
      "transfer.idleTimeoutMs": transfer.idleTimeouts,
      "bans.max": bans.evicted,
      "recordLookups.maxQueue": lookups.dropped,
      "exchange.registeredKeepersOnly": exchange.refusedStrangers,
      "exchange.maxWindowMs": exchange.refusedWindow,
      "exchange.maxEntriesPerResponse": exchange.truncated,
    },
  };
}

export function dhtSize(keeper: Keeper): number {
  return routingTableSize(keeper.node);
}

/** `/healthz`: the process is up; the chain side as it was last checked (never a chain read on this path). */
export function healthView(chain: KeeperChainStatus): Record<string, unknown> {
  return {
    status: "ok",
    chain: chain.configured
      ? {
          reachable: chain.reachable ?? false,
          problem: chain.problem ?? null,
          message: chain.message ?? null,
          lastOnChainEpoch: chain.lastOnChainEpoch ?? null,
          epochsWaiting: chain.pending.length,
          stalled: chain.stall?.alarm ?? false,
          secondsSinceLastCommit: chain.secondsSinceLastCommit ?? null,
        }
      : null,
  };
}
