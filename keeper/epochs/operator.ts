/**
 * The epochs as an operator sees and drives them: the chain side of `status`, `/healthz` and `/metrics`
 * (reachability, last on-chain epoch, epochs waiting for their hand-over), RewardPool's status of recent epochs
 * (pending, claimable, …) and the operator's close. The RewardPool view is read after each healthy chain check
 * and cached, so no request of the API ever waits on the chain.
 */
import { EPOCH_STATUS, epochStatusName } from "../chain/epoch-status.ts";
import type { ChainState } from "../chain/monitor.ts";
import type { Logger } from "../logger.ts";
import type { EpochCloseResult, EpochCloserStatus } from "./closer.ts";
import { CHAIN_EPOCHS_SHOWN, CHAIN_READY_WAIT_MS } from "./constants.ts";
import type { EpochTransactions } from "./proofs/publish.ts";

/** The chain side of `status`, `/healthz` and `/metrics`. */
export interface KeeperChainStatus {
  configured: boolean;
  reachable?: boolean;
  checkedAt?: number;
  problem?: string;
  message?: string;
  /** Last epoch both TaskLog and RewardPool hold. */
  lastOnChainEpoch?: number;
  secondsSinceLastCommit?: number;
  /** Closed epochs waiting for their hand-over, oldest first. */
  pending: number[];
  stall?: { epoch: number; since: number; attempts: number; reason: string; alarm: boolean };
  alarms: number[];
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

/** Pluggable epoch status (the chain/epoch submission modules know pending vs claimable). */
export interface EpochSource {
  epochs(options?: { signal?: AbortSignal }): Promise<EpochView[]>;
}

export interface EpochOperatorComponents {
  logger: Logger;
  closer: { status(): EpochCloserStatus; closeNow(): Promise<EpochCloseResult> };
  /** The chain's last check (defined with a chain). */
  chainState?: () => ChainState;
  /** Whether epochs can be closed against the chain now, and waiting until they can (defined with a chain). */
  chainSync?: { isReady(): boolean; ready(options: { signal?: AbortSignal }): Promise<unknown> };
  /** RewardPool's reads (defined with a chain). */
  rewardPool?: { lastEpoch(): Promise<bigint>; statusOf(epoch: number): Promise<bigint> };
}

export class EpochOperator implements EpochSource {
  private readonly log: Logger;
  /** RewardPool's view of recent epochs, refreshed after each chain check (never read on a request's path). */
  private chainEpochs: EpochView[] = [];

  constructor(private readonly components: EpochOperatorComponents) {
    this.log = components.logger.child("epochs");
  }

  /** The cached RewardPool view of recent epochs (empty without a chain). */
  async epochs(): Promise<EpochView[]> {
    return this.chainEpochs;
  }

  /** After every chain check: refresh the cached epoch view when the chain is healthy. */
  onChainCheck(state: ChainState): void {
    if (!state.reachable || state.problem !== undefined) return;
    void this.readChainEpochs()
      .then((views) => (this.chainEpochs = views))
      .catch((err: unknown) => this.log.debug("epoch view refresh failed", { error: err as Error }));
  }

  /**
   * Closes the open epoch now and waits for its hand-over and that of every epoch before it. An operator's
   * close does not hang on a chain that is down or was reset: it waits CHAIN_READY_WAIT_MS, then says why.
   */
  async closeNow(): Promise<EpochCloseResult> {
    const { chainSync, chainState, closer } = this.components;
    if (chainSync !== undefined && !chainSync.isReady()) {
      try {
        await chainSync.ready({ signal: AbortSignal.timeout(CHAIN_READY_WAIT_MS) });
      } catch {
        throw new Error(`epochs wait for the chain: ${chainState?.().message ?? "not checked yet"}`);
      }
    }
    return closer.closeNow();
  }

  /** What an operator needs of the chain side: reachability, last on-chain epoch, epochs waiting, last commit. */
  chainStatus(): KeeperChainStatus {
    const closer = this.components.closer.status();
    const waiting = { pending: closer.pending, stall: closer.stall, alarms: closer.alarms };
    if (this.components.chainState === undefined) return { configured: false, ...waiting };
    const s = this.components.chainState();
    const lastOnChain =
      s.taskLogEpoch === undefined || s.rewardPoolEpoch === undefined
        ? undefined
        : Math.min(s.taskLogEpoch, s.rewardPoolEpoch);
    return {
      configured: true,
      reachable: s.reachable,
      checkedAt: s.checkedAt,
      problem: s.problem,
      message: s.message,
      lastOnChainEpoch: lastOnChain,
      secondsSinceLastCommit:
        closer.lastSettledAt === undefined ? undefined : Math.round((Date.now() - closer.lastSettledAt) / 1000),
      ...waiting,
    };
  }

  /** RewardPool's status of the last CHAIN_EPOCHS_SHOWN epochs, newest first. */
  private async readChainEpochs(options: { signal?: AbortSignal } = {}): Promise<EpochView[]> {
    const pool = this.components.rewardPool;
    if (pool === undefined) return [];
    const last = Number(await pool.lastEpoch());
    const out: EpochView[] = [];
    for (let e = last; e >= 1 && e > last - CHAIN_EPOCHS_SHOWN; e--) {
      options.signal?.throwIfAborted();
      const status = Number(await pool.statusOf(e));
      out.push({
        epoch: e,
        status: epochStatusName(status).toLowerCase(),
        claimable: status === EPOCH_STATUS.Claimable,
      });
    }
    return out;
  }
}

export function epochOperator(): (components: EpochOperatorComponents) => EpochOperator {
  return (components) => new EpochOperator(components);
}
