/**
 * The keeper: one process a node operator runs. `startKeeper` composes every service (components.ts: each
 * built by its module's factory, wired through narrow components), then starts them in order; the Keeper
 * exposes them and the operator's entry points, all delegating. Every job lives in its own module
 * (docs/architecture.md draws the dependencies): p2p (libp2p node, bans, bootstrap) → discovery (signed peer
 * records), proximity (RTT, hops), health (SWIM probes, per-epoch counters) → routing (scores, shards, the feed
 * from discovery and Reputation's flags) → tasks (queue, assignment, reassignment) over execution
 * (`/lumora/task/1.0.0`) and transfer (`/lumora/transfer/2.0.0`) → audits (providers measured as customers
 * see them) → epochs (collection, exchange, close, submission), all state in one SQLite store.
 */
import type { PeerId } from "@libp2p/interface";

import { composeKeeper, type KeeperComponents } from "./components.ts";
import type { EpochCloseResult, EpochStepDetail } from "./epochs/closer.ts";
import type { EpochOperator, KeeperChainStatus } from "./epochs/operator.ts";
import type { TransferRequest } from "./execution/index.ts";
import type { KeeperConfig } from "./init.ts";
import { createLogger } from "./logger.ts";
import { acquireDataDir, releaseDataDir } from "./store/lock.ts";
import type { TaskOutcome } from "./tasks/index.ts";
import type { PublishResult } from "./transfer/index.ts";

export type { KeeperComponents } from "./components.ts";
export type { KeeperConfig, KeeperEpochsConfig } from "./init.ts";
export type { EpochCloseResult, EpochStepDetail } from "./epochs/closer.ts";
export type { KeeperChainStatus } from "./epochs/operator.ts";
export type { TransferRequest } from "./execution/index.ts";

/** Dispatches `epoch:step` (CustomEvent<EpochStepDetail>) during every epoch close. */
export class Keeper extends EventTarget {
  constructor(
    readonly config: KeeperConfig,
    readonly components: KeeperComponents,
  ) {
    super();
    Object.assign(this, components);
  }

  /** The open epoch: what counters and receipts are stamped with. */
  get epoch(): number {
    return this.components.collector.currentEpoch();
  }

  get peerId(): PeerId {
    return this.components.node.peerId;
  }

  /** Listen addresses with the /p2p suffix (what other keepers bootstrap from). */
  get addresses(): string[] {
    return this.components.node.getMultiaddrs().map((a) => a.toString());
  }

  async start(): Promise<void> {
    const { node, chainSync, chainMonitor, closer, schedule, flags, feed } = this.components;
    // A keeper that speaks the directory exchange gets one (discovery/exchange.ts); other Lumora peers cost a record
    // lookup, rate-limited from a bounded queue (discovery). Records found either way feed routing at once.
    node.addEventListener("peer:identify", (evt) => {
      void this.discovery.onPeerIdentified(evt.detail.peerId, evt.detail.protocols).then((found) => {
        if (found) this.refreshRoutingSoon();
      });
    });
    this.discovery.addEventListener("records", () => this.refreshRoutingSoon());
    await node.start();
    // The exchange's handler before anything dials: identify then tells peers we speak it.
    await this.discovery.listen();
    // Known peers at once after a restart (their accounts and addresses), not after a DHT walk.
    await this.discovery.loadCached();
    // The chain is never waited for here: the API comes up at once, and what needs the chain waits for it.
    chainSync?.start();
    chainMonitor?.start();
    const c = this.components;
    // Health answers probes before discovery publishes our record: a peer that finds the record and probes at
    // once must not suspect us for being mid-start.
    await c.health.start();
    for (const service of [c.transfer, c.exchange, c.proofs, c.execution, c.tasks, c.bootstrapper, c.discovery])
      await service.start();
    await c.signatures?.start();
    await c.verdicts?.start();
    c.proximity.start();
    await closer.start();
    if (this.config.epochs?.cron !== undefined) await schedule.start();
    flags?.start();
    feed.start();
    c.challenges?.start();
    c.audits.start();
    this.log.info("keeper started", { peerId: node.peerId.toString(), addresses: this.addresses });
  }

  async stop(): Promise<void> {
    const c = this.components;
    // Producers of work first (timers, the closer), then the protocols, the node, and the chain last.
    const steps: Array<{ stop(): unknown } | undefined> = [
      ...[
        c.challenges,
        c.audits,
        c.feed,
        c.flags,
        c.schedule,
        c.closer,
        c.chainSync,
        c.chainMonitor,
        c.turns,
        c.submitter,
        c.health,
      ],
      ...[c.proximity, c.discovery, c.bootstrapper, c.tasks, c.execution, c.transfer, c.exchange, c.proofs],
      ...[c.signatures, c.verdicts],
      ...[c.node, c.chain],
    ];
    for (const service of steps) {
      try {
        await service?.stop();
      } catch (err) {
        this.log.warn("stop step failed", { error: err as Error });
      }
    }
    c.store.close();
    releaseDataDir(this.config.dataDir);
  }

  /**
   * Closes the open epoch now (gather, freeze, build) and waits for its hand-over (publish, submit or verify) and
   * that of every epoch before it; throws why it could not be settled (it stays queued and is retried).
   */
  closeEpoch(): Promise<EpochCloseResult> {
    return this.components.epochOperator.closeNow();
  }

  /** What an operator needs of the chain side: reachability, last on-chain epoch, epochs waiting, last commit. */
  chainStatus(): KeeperChainStatus {
    return this.components.epochOperator.chainStatus();
  }

  private routingRefresh: Promise<unknown> | undefined;
  private routingRefreshAgain = false;

  /**
   * A routing refresh after new records, coalesced: one runs at a time and at most one more follows it, however
   * many exchanges and lookups brought records meanwhile (each refresh is O(directory), with bond reads).
   */
  private refreshRoutingSoon(): void {
    if (this.routingRefresh !== undefined) {
      this.routingRefreshAgain = true;
      return;
    }
    this.routingRefresh = this.refreshRouting()
      .catch((err: unknown) => this.log.debug("routing refresh failed", { error: err as Error }))
      .finally(() => {
        this.routingRefresh = undefined;
        if (this.routingRefreshAgain) {
          this.routingRefreshAgain = false;
          this.refreshRoutingSoon();
        }
      });
  }

  /** Feeds routing from the verified peer records, the measured proximity and Reputation's flags. */
  refreshRouting(options: { signal?: AbortSignal; refreshDirectory?: boolean } = {}): Promise<number> {
    return this.components.feed.refresh(options);
  }

  /** Re-reads Reputation's flags of every known node (no-op without a chain). */
  async refreshFlags(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.components.flags?.refresh(options);
  }

  /** Reward addresses flagged by Reputation (lower case; empty without a chain). */
  get flagged(): ReadonlySet<string> {
    return this.components.flags?.flagged ?? new Set();
  }

  /** Lifecycle of the published epochs on chain (pending, claimable, …); defined when a chain is configured. */
  get epochSource(): EpochOperator | undefined {
    return this.components.chain && this.components.epochOperator;
  }

  /** Publishes a file: manifest, served from now on, announced in the DHT. */
  publish(path: string): Promise<PublishResult> {
    return this.components.transfer.publish(path);
  }

  /** A transfer task, routed to an executor (+ backups); resolves when it finished (succeeded, failed or expired). */
  async requestTransfer(req: TransferRequest, options: { signal?: AbortSignal } = {}): Promise<TaskOutcome> {
    return (await this.submitTransfer(req, options)).done;
  }

  /** Like `requestTransfer`, but resolves once the task is queued: its id, and `done` for its outcome. */
  submitTransfer(req: TransferRequest, options: { signal?: AbortSignal } = {}) {
    return this.components.requests.submit(req, options);
  }
}

/**
 * The components are the keeper's fields (`keeper.discovery`, `keeper.tasks`, …), assigned once by the
 * constructor: this declaration gives them their types.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Keeper extends KeeperComponents {}

export async function startKeeper(config: KeeperConfig): Promise<Keeper> {
  acquireDataDir(config.dataDir);
  let keeper: Keeper | undefined;
  try {
    const log = config.logger ?? createLogger("keeper");
    const components = await composeKeeper(config, log, (detail) =>
      keeper?.dispatchEvent(new CustomEvent<EpochStepDetail>("epoch:step", { detail })),
    );
    keeper = new Keeper(config, components);
    await keeper.start();
    return keeper;
  } catch (err) {
    if (keeper !== undefined) await keeper.stop();
    else releaseDataDir(config.dataDir);
    throw err;
  }
}
