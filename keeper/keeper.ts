/**
 * The keeper: one process a node operator runs. Composition only — every job lives in its own module:
 * p2p (libp2p node, bans, bootstrap) → discovery (signed peer records), proximity (RTT, hops), health
 * (heartbeats, per-epoch counters) → routing (scores, shards) → tasks (queue, assignment, reassignment) over
 * execution (`/lumora/task/1.0.0`) and transfer (`/lumora/transfer/1.0.0`), all state in one SQLite store.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import type { PeerId, PrivateKey } from "@libp2p/interface";

import { OperatorCounters } from "./api/counters.ts";
import type { EpochSource, EpochView } from "./api/snapshot.ts";
import { Chain, type ChainInit } from "./chain/index.ts";
import { discovery, discoveryRecordHandlers, type Discovery } from "./discovery/index.ts";
import { epochCloser, type EpochCloser, type EpochCloseResult, type EpochStepDetail } from "./epochs/closer.ts";
import { epochCollector, transferReceiptsBetween, type EpochCollector } from "./epochs/collect.ts";
import { epochExchange, RemoteReceipts, RemoteTasks, type EpochExchange } from "./epochs/exchange.ts";
import { evidenceGatherer, type EvidenceGatherer } from "./epochs/gather.ts";
import { DirectoryProofSource } from "./epochs/proofs.ts";
import { proofsService, type ProofsService } from "./epochs/proofs-p2p.ts";
import { epochSchedule, type EpochSchedule } from "./epochs/schedule.ts";
import { epochSubmitter, type EpochSubmitter } from "./epochs/submit.ts";
import { epochTurns, type EpochTurns } from "./epochs/submit-turns.ts";
import {
  providerPeerIds,
  TaskExecutionError,
  TaskPayloads,
  taskExecution,
  transferPerformer,
  type Perform,
  type TaskExecutionService,
} from "./execution/index.ts";
import { HealthCounters, health, type Health, type HealthInit } from "./health/index.ts";
import { loadOrCreateIdentity } from "./identity.ts";
import { createLogger, type Logger } from "./logger.ts";
import { BanList, bootstrap, createLumoraNode, type Bootstrapper, type LumoraNode } from "./p2p/index.ts";
import { proximity, toNodeView, type Proximity, type ProximityInit } from "./proximity/index.ts";
import { routing, type RoutingTable, type ScoreWeights } from "./routing/index.ts";
import { openStore, type Store } from "./store/index.ts";
import { acquireDataDir, releaseDataDir } from "./store/lock.ts";
import {
  epochTaskRecords,
  taskManager,
  toLeafValue,
  type TaskManager,
  type TaskOutcome,
  type TaskSpec,
} from "./tasks/index.ts";
import { transferService, type PublishResult, type TransferService, type TransferTestHooks } from "./transfer/index.ts";
import type { Capability } from "./types.ts";

export interface KeeperConfig {
  /** Folder for the identity, the database and fetched objects. */
  dataDir: string;
  /** Listen multiaddrs (default one OS-chosen TCP port on 127.0.0.1). */
  listen?: string[];
  /** Public multiaddrs to advertise (behind NAT: the forwarded address), instead of the observed ones. */
  announce?: string[];
  /** Bootstrap multiaddrs with `/p2p/<peer id>`. */
  bootstrap?: string[];
  capabilities: Capability[];
  /** Advertised bandwidth B_i, bytes per second. */
  bandwidthBps: number;
  /** Tasks executed at once here. */
  capacity: number;
  /** 0x address that receives this node's rewards (and is reported to Reputation). */
  rewardAddress: string;
  /** Routing: Score = α·B/Bmax + β/P + γ/L, shards, backups. */
  weights?: Partial<ScoreWeights>;
  shards?: number;
  backups?: number;
  /** Task manager: attempts per task, timeout of one attempt (ms). */
  maxAttempts?: number;
  attemptTimeoutMs?: number;
  health?: HealthInit;
  proximity?: ProximityInit;
  /** Seconds between routing-table refreshes from discovery + proximity. */
  routingRefreshMs?: number;
  /** Keep 127.0.0.1 addresses in DHT peer info (loopback networks: tests, demo). */
  allowPrivateAddresses?: boolean;
  /** DHT self-query cadence; small loopback networks converge faster with short intervals. */
  dhtQuerySelfIntervalMs?: number;
  logger?: Logger;
  /** Fault injection, tests and demo only. */
  testHooks?: TransferTestHooks;
  /** Delay (ms) an executor adds before working: demo/test knob to make a node slow. */
  executionDelayMs?: number;
  /** Epochs: closing, publication and (with `chain`) submission. Every keeper records its epoch evidence. */
  epochs?: KeeperEpochsConfig;
}

export interface KeeperEpochsConfig {
  /** R_total per epoch before the cap by the pool's unreserved balance (token base units). */
  rewardPerEpoch?: bigint;
  /** node-cron expression of epoch closes (6 fields for seconds); without it only `closeEpoch()` closes. */
  cron?: string;
  /** Where epochs are published (dumps + epoch.json); default `<dataDir>/epochs`. */
  publishDir?: string;
  /** Chain access: submission (with a key holding KEEPER_ROLE) and the pool's balance. */
  chain?: Omit<ChainInit, "deployment"> & { deployment: ChainInit["deployment"] };
  /** Addresses of the network's keepers: submission rotates among those holding KEEPER_ROLE. */
  keepers?: string[];
  takeoverDeadlineMs?: number;
}

export type { EpochCloseResult, EpochStepDetail } from "./epochs/closer.ts";

export interface TransferRequest {
  /** SHA-256 of the object (hex). */
  objectId: string;
  size: number;
  /** Providers (multiaddrs with /p2p or peer ids). */
  providers: string[];
  priority?: number;
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Task id (default random). */
  id?: string;
}

const DEFAULT_ROUTING_REFRESH_MS = 2_000;
/** Reputation flags change once per epoch at most; a minute keeps routing current without loading the RPC. */
const FLAG_REFRESH_MS = 60_000;
/** How long a peer that failed at the connection level stays out of routing (health re-admits it after). */
const UNREACHABLE_BACKOFF_MS = 30_000;

/** Dispatches `epoch:step` (CustomEvent<EpochStepDetail>) during every epoch close. */
export class Keeper extends EventTarget {
  readonly log: Logger;
  readonly config: KeeperConfig;
  store!: Store;
  node!: LumoraNode;
  privateKey!: PrivateKey;
  readonly bans = new BanList();
  bootstrapper!: Bootstrapper;
  discovery!: Discovery;
  proximity!: Proximity;
  counters!: HealthCounters;
  health!: Health;
  routing!: RoutingTable;
  tasks!: TaskManager;
  payloads!: TaskPayloads;
  execution!: TaskExecutionService;
  private performer!: Perform;
  transfer!: TransferService;
  collector!: EpochCollector;
  remoteReceipts!: RemoteReceipts;
  remoteTasks!: RemoteTasks;
  exchange!: EpochExchange;
  proofs!: ProofsService;
  schedule!: EpochSchedule;
  gatherer!: EvidenceGatherer;
  closer!: EpochCloser;
  chain: Chain | undefined;
  submitter: EpochSubmitter | undefined;
  turns: EpochTurns | undefined;
  /** Epoch submissions, failures and chain RPC errors, exported by the API as Prometheus counters. */
  readonly operatorCounters = new OperatorCounters();
  /** Lifecycle of the published epochs on chain (pending, claimable, …); defined when a chain is configured. */
  epochSource: EpochSource | undefined;
  private flagTimer: NodeJS.Timeout | undefined;
  /** Peers that just failed at the connection level, kept out of routing until the time given. */
  private readonly unreachableUntil = new Map<string, number>();
  /** Reward addresses flagged by Reputation (refreshed by the chain module when configured). */
  flagged = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, (o: TaskOutcome) => void>();

  constructor(config: KeeperConfig) {
    super();
    this.config = config;
    this.log = config.logger ?? createLogger("keeper");
  }

  /** The open epoch: what counters and receipts are stamped with. */
  get epoch(): number {
    return this.collector.currentEpoch();
  }

  get peerId(): PeerId {
    return this.node.peerId;
  }

  /** Listen addresses with the /p2p suffix (what other keepers bootstrap from). */
  get addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString());
  }

  async start(): Promise<void> {
    const c = this.config;
    acquireDataDir(c.dataDir);
    mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
    this.privateKey = (await loadOrCreateIdentity(join(c.dataDir, "identity.key"))).privateKey;
    this.store = openStore(join(c.dataDir, "keeper.db"));
    const logger = this.log;
    this.node = await createLumoraNode({
      privateKey: this.privateKey,
      listen: c.listen,
      announce: c.announce,
      bans: this.bans,
      allowPrivateAddresses: c.allowPrivateAddresses ?? true,
      inboundConnectionsPerHostPerSecond: c.allowPrivateAddresses === false ? undefined : 1_000,
      dhtQuerySelfIntervalMs: c.dhtQuerySelfIntervalMs,
      dhtInitialQuerySelfIntervalMs: c.dhtQuerySelfIntervalMs,
      ...discoveryRecordHandlers(logger.child("dht")),
    });
    const node = this.node;
    const penalise = (peer: PeerId, err: Error) => this.bans.ban(peer, err.message);

    this.counters = new HealthCounters(this.store);
    const ec = c.epochs ?? {};
    const publishDir = ec.publishDir ?? join(c.dataDir, "epochs");
    if (ec.chain !== undefined) {
      this.chain = new Chain({ logger, onRpcError: () => this.operatorCounters.inc("chainRpcErrors") }, ec.chain);
      this.submitter = epochSubmitter({ onStep: (step, epoch) => this.epochStep({ epoch, step, at: Date.now() }) })({
        chain: this.chain,
        store: this.store,
        logger,
      });
      if (ec.keepers !== undefined && ec.keepers.length > 0) {
        this.turns = epochTurns({ keepers: ec.keepers, takeoverDeadlineMs: ec.takeoverDeadlineMs })({
          chain: this.chain,
          submitter: this.submitter,
          logger,
        });
      }
    }
    this.payloads = new TaskPayloads(this.store);
    this.routing = routing({ ...c.weights, shards: c.shards, backups: c.backups })({ logger });
    this.execution = taskExecution({ maxConcurrent: c.capacity })({
      node,
      logger,
      payloads: this.payloads,
      penalise,
      perform: (work, opts) => this.performer(work, opts),
    });
    this.tasks = taskManager({ maxAttempts: c.maxAttempts, attemptTimeoutMs: c.attemptTimeoutMs })({
      logger,
      store: this.store,
      selector: this.routing,
      providerStatus: (peerId) => this.health.status(peerId),
      executeOn: async (task, peerId, opts) => {
        try {
          const result = await this.execution.executeOn(task, peerId, opts);
          this.counters.record(this.epoch, peerId, true);
          return result;
        } catch (err) {
          if (!opts.signal.aborted || opts.signal.reason instanceof Error)
            this.counters.record(this.epoch, peerId, false);
          // Unreachable (dial failed, connection reset): out of routing until health has a say, so the next
          // tasks do not try a dead executor first. A refusal or a bad result is an answer, not an outage.
          if (!(err instanceof TaskExecutionError) && !opts.signal.aborted) this.markUnreachable(peerId);
          throw err;
        }
      },
    });
    this.remoteReceipts = new RemoteReceipts(this.store);
    this.remoteTasks = new RemoteTasks(this.store);
    const ownReceipts = transferReceiptsBetween(this.store);
    const pool = this.chain?.contracts.rewardPool;
    // A peer's on-chain address, from its signed peer record (ours from the config).
    const addressOf = (peerId: string) =>
      peerId === this.node.peerId.toString() ? c.rewardAddress : this.discovery.get(peerId)?.rewardAddress;
    this.collector = epochCollector({ rewardPerEpoch: ec.rewardPerEpoch ?? 0n })({
      store: this.store,
      logger,
      addressOf,
      counters: this.counters,
      tasks: this.tasks.taskStore,
      receiptsBetween: (from, to) => [...ownReceipts(from, to), ...this.remoteReceipts.between(from, to)],
      remoteTaskValues: (from, to) => this.remoteTasks.between(from, to),
      ...(pool !== undefined && { maxRewardTotal: () => pool.maxRewardTotal() }),
    });
    this.exchange = epochExchange()({
      node,
      logger,
      ownReceipts: (toMs) => ownReceipts(0, toMs),
      ownTasks: (fromMs, toMs) =>
        epochTaskRecords(this.tasks.taskStore, { fromMs, toMs }, { addressOf }).map((r) => toLeafValue(r)),
      penalise,
    });
    this.proofs = proofsService()({ node, logger, source: new DirectoryProofSource(publishDir) });
    this.gatherer = evidenceGatherer()({
      exchange: this.exchange,
      remoteReceipts: this.remoteReceipts,
      remoteTasks: this.remoteTasks,
      collector: this.collector,
      logger,
      keepers: () =>
        this.discovery.peers().flatMap((r) => (r.peerId === this.node.peerId.toString() ? [] : [r.peerId])),
      onStep: (epoch, step, info) => this.epochStep({ epoch, step, at: Date.now(), ...(info && { info }) }),
    });
    this.closer = epochCloser({ publishDir })({
      collector: this.collector,
      store: this.store,
      logger,
      gather: (epoch, opts) => this.gatherer.gather(epoch, opts).then(() => undefined),
      submitter: this.submitter,
      turns: this.turns,
      onStep: (d) => this.epochStep(d),
      onAttemptFailed: () => this.operatorCounters.inc("epochSubmissionFailures"),
      onSubmitted: () => this.operatorCounters.inc("epochSubmissions"),
    });
    this.schedule = epochSchedule({ cron: ec.cron })({
      logger,
      close: () => this.closer.closeOnly(),
      onSkipped: () => this.operatorCounters.inc("epochTicksSkipped"),
    });
    this.tasks.on("finished", (o) => {
      this.waiters.get(o.id)?.(o);
      this.waiters.delete(o.id);
    });
    this.transfer = transferService()({
      node,
      privateKey: this.privateKey,
      store: this.store,
      logger,
      currentEpoch: () => BigInt(this.epoch),
      onProviderFailure: (peerId) => this.counters.record(this.epoch, peerId, false),
      testHooks: c.testHooks,
    });
    this.performer = transferPerformer({ dataDir: c.dataDir, executionDelayMs: c.executionDelayMs })({
      transfer: this.transfer,
      selfPeerId: node.peerId.toString(),
      logger,
    });
    this.discovery = discovery({
      capabilities: c.capabilities,
      bandwidthBps: c.bandwidthBps,
      capacity: c.capacity,
      shard: 0,
      rewardAddress: c.rewardAddress,
    })({ node, privateKey: this.privateKey, logger, currentLoad: () => this.execution.load });
    this.proximity = proximity(c.proximity)({ node, logger });
    this.health = health(c.health)({
      node,
      logger,
      counters: this.counters,
      currentEpoch: () => this.epoch,
      currentLoad: () => ({ load: this.execution.load, capacity: c.capacity }),
      penalise,
    });
    this.health.addEventListener("peer:failed", (e) => {
      const peerId = (e as CustomEvent<string>).detail;
      if (typeof peerId !== "string") return;
      this.routing.remove(peerId);
      this.tasks.peerDisconnected(peerId);
    });
    this.bootstrapper = bootstrap({ peers: c.bootstrap ?? [] })({ node, logger });

    node.addEventListener("peer:identify", (evt) => {
      const peer = evt.detail.peerId;
      if (this.discovery.get(peer.toString()) !== undefined) return;
      void this.discovery
        .fetchRecord(peer)
        .then(() => this.refreshRouting())
        .catch((err: unknown) =>
          this.log.debug("record of a new peer not found yet", { peer: peer.toString(), error: err as Error }),
        );
    });
    await node.start();
    await this.chain?.start();
    if (this.chain !== undefined) {
      // Epoch numbers are the chain's: a keeper joining a running network continues after its last epoch.
      const { taskLog, rewardPool } = this.chain.contracts;
      const onChain = Math.max(Number(await taskLog.lastEpoch()), Number(await rewardPool.lastEpoch()));
      if (!this.collector.alignWithChain(onChain) && this.collector.currentEpoch() <= onChain) {
        this.log.warn("this keeper's epochs lag the chain's; it will verify rather than submit until they meet", {
          open: this.collector.currentEpoch(),
          onChain,
        });
      }
    }
    await this.transfer.start();
    await this.exchange.start();
    await this.proofs.start();
    await this.execution.start();
    await this.tasks.start();
    await this.bootstrapper.start();
    await this.discovery.start();
    this.proximity.start();
    await this.health.start();
    await this.closer.start();
    if (c.epochs?.cron !== undefined) await this.schedule.start();
    if (this.chain !== undefined) {
      this.epochSource = { epochs: (opts) => this.chainEpochs(opts) };
      void this.refreshFlags();
      this.flagTimer = setInterval(() => void this.refreshFlags(), FLAG_REFRESH_MS);
    }
    this.refreshTimer = setInterval(() => void this.refreshRouting(), c.routingRefreshMs ?? DEFAULT_ROUTING_REFRESH_MS);
    this.log.info("keeper started", { peerId: node.peerId.toString(), addresses: this.addresses });
  }

  /** Feeds routing from the verified peer records, the measured proximity and Reputation's flags. */
  async refreshRouting(options: { signal?: AbortSignal; refreshDirectory?: boolean } = {}): Promise<number> {
    if (options.refreshDirectory) await this.discovery.refresh(options).catch(() => 0);
    const self = this.node.peerId.toString();
    let n = 0;
    for (const record of this.discovery.peers()) {
      if (record.peerId === self) continue;
      if (this.health.status(record.peerId) === "failed") continue;
      const until = this.unreachableUntil.get(record.peerId);
      if (until !== undefined) {
        if (until > Date.now()) continue;
        this.unreachableUntil.delete(record.peerId);
      }
      this.health.watch(record.peerId);
      try {
        this.routing.upsert(
          toNodeView(record, this.proximity.view(record.peerId), this.flagged.has(record.rewardAddress.toLowerCase())),
        );
        n++;
      } catch (err) {
        this.log.warn("peer record not routable", { peer: record.peerId, error: err as Error });
      }
    }
    this.tasks.wake();
    return n;
  }

  private markUnreachable(peerId: string): void {
    this.unreachableUntil.set(peerId, Date.now() + UNREACHABLE_BACKOFF_MS);
    this.routing.remove(peerId);
    this.log.info("executor unreachable; out of routing for a while", { peer: peerId, ms: UNREACHABLE_BACKOFF_MS });
  }

  private epochStep(detail: EpochStepDetail): void {
    this.dispatchEvent(new CustomEvent<EpochStepDetail>("epoch:step", { detail }));
  }

  /**
   * Closes the open epoch now (gather, freeze, build) and waits for its hand-over (publish, submit or verify) and
   * that of every epoch before it; throws why it could not be settled (it stays queued and is retried).
   */
  closeEpoch(): Promise<EpochCloseResult> {
    return this.closer.closeNow();
  }

  /**
   * Reputation's flags for every known node, cached: routing never chooses a flagged node. A failed read keeps
   * the previous answer (the chain module already retried transient errors).
   */
  async refreshFlags(options: { signal?: AbortSignal } = {}): Promise<void> {
    const reputation = this.chain?.contracts.reputation;
    if (reputation === undefined) return;
    const addresses = [...new Set(this.discovery.peers().map((r) => r.rewardAddress.toLowerCase()))];
    await Promise.all(
      addresses.map(async (a) => {
        try {
          options.signal?.throwIfAborted();
          if (await reputation.isFlagged(a)) this.flagged.add(a);
          else this.flagged.delete(a);
        } catch (err) {
          this.log.debug("flag read failed; keeping the cached value", { account: a, error: err as Error });
        }
      }),
    );
  }

  /** RewardPool's view of the epochs this keeper closed or published (for the dashboard and `epochs`). */
  private async chainEpochs(options: { signal?: AbortSignal } = {}): Promise<EpochView[]> {
    const pool = this.chain?.contracts.rewardPool;
    if (pool === undefined) return [];
    const last = Number(await pool.lastEpoch());
    const names = ["none", "pending", "claimable", "vetoed", "expired", "challenged"];
    const out: EpochView[] = [];
    for (let e = last; e >= 1 && e > last - 20; e--) {
      options.signal?.throwIfAborted();
      const status = Number(await pool.statusOf(e));
      out.push({ epoch: e, status: names[status] ?? "unknown", claimable: status === 2 });
    }
    return out;
  }

  /** Publishes a file: manifest, served from now on, announced in the DHT. */
  publish(path: string): Promise<PublishResult> {
    return this.transfer.publish(path);
  }

  /**
   * Coordinates a transfer task: routing picks an executor (+ backups), which fetches the object from its
   * providers; resolves when the task finished (succeeded, failed or expired).
   */
  async requestTransfer(req: TransferRequest, options: { signal?: AbortSignal } = {}): Promise<TaskOutcome> {
    return (await this.submitTransfer(req, options)).done;
  }

  /** Like `requestTransfer`, but resolves once the task is queued: its id, and `done` for its outcome. */
  async submitTransfer(
    req: TransferRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ id: string; done: Promise<TaskOutcome> }> {
    const id =
      req.id ?? `task-${this.node.peerId.toString().slice(-8)}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    this.payloads.put(id, { objectId: req.objectId, size: req.size, providers: req.providers });
    const spec: TaskSpec = {
      id,
      priority: req.priority ?? 1,
      size: req.size,
      source: this.node.peerId.toString(),
      deadline: Date.now() + (req.deadlineMs ?? 120_000),
      requirements: { capabilities: ["executor"], minBandwidth: 0 },
      providers: providerPeerIds(req.providers),
    };
    const done = new Promise<TaskOutcome>((resolve) => this.waiters.set(id, resolve));
    try {
      await this.tasks.submit(spec, options);
    } catch (err) {
      this.waiters.delete(id);
      throw err;
    }
    return { id, done };
  }

  async stop(): Promise<void> {
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    if (this.flagTimer !== undefined) clearInterval(this.flagTimer);
    const steps: Array<() => Promise<unknown> | unknown> = [
      () => this.schedule?.stop(),
      () => this.closer?.stop(),
      () => this.turns?.stop(),
      () => this.submitter?.stop(),
      () => this.health?.stop(),
      () => this.proximity?.stop(),
      () => this.discovery?.stop(),
      () => this.bootstrapper?.stop(),
      () => this.tasks?.stop(),
      () => this.execution?.stop(),
      () => this.transfer?.stop(),
      () => this.exchange?.stop(),
      () => this.proofs?.stop(),
      () => this.node?.stop(),
      () => this.chain?.stop(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn("stop step failed", { error: err as Error });
      }
    }
    this.store?.close();
    releaseDataDir(this.config.dataDir);
  }
}

export async function startKeeper(config: KeeperConfig): Promise<Keeper> {
  const keeper = new Keeper(config);
  try {
    await keeper.start();
  } catch (err) {
    await keeper.stop();
    throw err;
  }
  return keeper;
}
