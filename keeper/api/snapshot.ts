/**
 * What the operator sees, read from a running keeper through the narrow `KeeperReadView` (never its tables:
 * each module answers its own queries): peers with their score inputs, tasks by state, transfers with
 * progress, epochs and rewards. Read-only; one function per section so the JSON endpoints, the dashboard and
 * /metrics share them.
 */
import { readdir } from "node:fs/promises";

import { DirectoryProofSource } from "../epochs/proofs/source.ts";
import type { EpochSource, EpochView, KeeperChainStatus } from "../epochs/operator.ts";
import { readEpochSummary } from "../epochs/proofs/publish.ts";
import type { DirectoryExchangeStats } from "../discovery/exchange.ts";
import type { HealthMetrics } from "../health/health.ts";
import type { Keeper } from "../keeper.ts";
import { routingTableSize } from "../p2p/bootstrap.ts";
import type { BanStats } from "../p2p/gater.ts";
import { connectionLimits } from "../p2p/node.ts";
import { scoreUnchecked } from "../routing/index.ts";
import { Manifest } from "../transfer/pb/transfer.ts";
import { EPOCHS_SHOWN, RECENT_TASKS, RECENT_TRANSFERS } from "./constants.ts";

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

export interface RewardView {
  epoch: number;
  account: string;
  contribution: string;
  amount: string | null;
}

export type { EpochSource, EpochView };

/** What the snapshots read of a keeper: its services' read side, nothing else. */
export type KeeperReadView = Pick<
  Keeper,
  | "peerId"
  | "node"
  | "config"
  | "epoch"
  | "flagged"
  | "routing"
  | "discovery"
  | "proximity"
  | "counters"
  | "health"
  | "tasks"
  | "transfer"
  | "transfers"
  | "collector"
>;

export function peersView(keeper: KeeperReadView): PeerView[] {
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

export function tasksView(keeper: KeeperReadView, limit = RECENT_TASKS): TasksView {
  const store = keeper.tasks.taskStore;
  const byState = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const [state, n] of Object.entries(store.countByState())) byState[state as TaskState] = n;
  const { tasks: reassigned, attempts: reassignments } = store.reassignments();
  return {
    byState,
    reassigned,
    reassignments,
    inFlight: keeper.tasks.stats().inflight,
    recent: store.recent(limit).map((t) => ({
      id: t.id,
      status: t.status as TaskState,
      executor: t.executor ?? null,
      attempts: t.attempts,
      size: t.size,
      bytes: t.bytes,
      createdAt: t.created_at,
      endedAt: t.ended_at,
      reason: t.reason ?? null,
    })),
  };
}

/** One task by id (what `transfer --wait` polls), or undefined when this keeper does not know it. */
export function taskView(keeper: KeeperReadView, id: string): TaskView | undefined {
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

export function transfersView(keeper: KeeperReadView, limit = RECENT_TRANSFERS): TransfersView {
  const items: TransferView[] = [];
  for (const d of keeper.transfers.recentDownloads(limit)) {
    const m = Manifest.decode(d.manifest);
    const size = Number(m.size);
    const parts = m.partHashes.length;
    const completed = d.completedAt !== null;
    items.push({
      objectId: d.objectId,
      kind: "download",
      size,
      parts,
      partsDone: completed ? parts : d.partsDone,
      bytesDone: completed ? size : d.bytesDone,
      completed,
      startedAt: d.startedAt,
    });
  }
  for (const p of keeper.transfers.recentPublished(limit)) {
    const m = Manifest.decode(p.manifest);
    const size = Number(m.size);
    const parts = m.partHashes.length;
    items.push({
      objectId: p.objectId,
      kind: "published",
      size,
      parts,
      partsDone: parts,
      bytesDone: size,
      completed: true,
      startedAt: p.publishedAt,
    });
  }
  const served = keeper.transfer.providerStats;
  return {
    items,
    bytesServed: served.bytesServed,
    bytesFetched: keeper.transfers.bytesFetched(),
    partsServed: served.partsServed,
  };
}

/**
 * Epochs as this keeper knows them: its own epoch rows (when the epochs module migrated its tables), the
 * summaries published in `epochsDir` (roots, tx hashes), and whatever `source` says about on-chain status.
 */
export async function epochsView(
  keeper: KeeperReadView,
  epochsDir: string | undefined,
  source: EpochSource | undefined,
): Promise<EpochView[]> {
  const byEpoch = new Map<number, EpochView>();
  for (const r of keeper.collector.recentEpochs(EPOCHS_SHOWN)) {
    byEpoch.set(r.epoch, {
      epoch: r.epoch,
      status: r.status,
      startMs: r.start_ms,
      endMs: r.end_ms,
      rewardTotal: r.reward_total ?? undefined,
    });
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
    .slice(0, EPOCHS_SHOWN);
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
  keeper: KeeperReadView,
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
  /** Audits this keeper ran since start, by outcome (keeper/audit/judge.ts). */
  audits?: Record<string, number>;
  limits: LimitsView;
  /** Failure detection since start: messages sent, suspicions, verdicts, refutations (health/health.ts). */
  health: HealthMetrics;
  /** Members in failure detection's view now, by state, and forgotten ones remembered (Health.counts). */
  healthMembers?: Record<"alive" | "suspect" | "failed" | "forgotten", number>;
  /** The directory exchange since start: exchanges and records (discovery/exchange.ts). */
  directory?: DirectoryExchangeStats;
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
      "payment.voucherFrames": transfer.voucherFramesRefused,
      "payment.unpaidAllowanceBytes": transfer.sessionsUnpaid - transfer.unfundedBudgetRefused,
      "payment.unfundedBudgetBytes": transfer.unfundedBudgetRefused,
      "payment.creditReads": transfer.creditReadsLimited,
      "bans.max": bans.evicted,
      "recordLookups.maxQueue": lookups.dropped,
      "exchange.registeredKeepersOnly": exchange.refusedStrangers,
      "exchange.maxWindowMs": exchange.refusedWindow,
      "exchange.maxEntriesPerResponse": exchange.truncated,
      "health.relays": keeper.health.metrics.relaysRefused,
    },
  };
}

export function dhtSize(keeper: KeeperReadView): number {
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
