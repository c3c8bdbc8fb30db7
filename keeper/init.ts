/**
 * What a keeper is started with (`startKeeper(config)`): its data folder, network addresses, advertised
 * capacity, and each module's init. The operator's config file (keeper/config) is turned into this; tests and
 * scripts build it directly. Defaults live with each module's constants.
 */
import type { AuditorInit } from "./audit/auditor.ts";
import type { DisqualifyRule } from "./audit/verdict.ts";
import type { ChainInit } from "./chain/index.ts";
import type { DirectoryExchangeInit, RecordFetchQueueInit } from "./discovery/index.ts";
import type { EpochExchangeInit } from "./epochs/exchange/protocol.ts";
import type { AdmissionInit } from "./execution/admission.ts";
import type { HealthInit } from "./health/index.ts";
import type { Logger } from "./logger.ts";
import type { ProximityInit } from "./proximity/index.ts";
import type { ScoreWeights } from "./routing/index.ts";
import type { BanListInit, ConnectionLimitsInit } from "./p2p/index.ts";
import type { TransferInit, TransferTestHooks } from "./transfer/index.ts";
import type { Capability } from "./types.ts";
import type { EpochObserverInit } from "./epochs/observe/observer.ts";

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
  /** The directory exchange (`/lumora/directory/1.0.0`): periodic sync interval, serving budgets. */
  directory?: DirectoryExchangeInit;
  proximity?: ProximityInit;
  /** Milliseconds between routing-table refreshes from discovery + proximity (default in routing/constants.ts). */
  routingRefreshMs?: number;
  /** Keep 127.0.0.1 addresses in DHT peer info (loopback networks: tests, demo). */
  allowPrivateAddresses?: boolean;
  /** DHT self-query cadence; small loopback networks converge faster with short intervals. */
  dhtQuerySelfIntervalMs?: number;
  logger?: Logger;
  /** Who may make this keeper execute, and how much (execution/admission.ts; defaults in its constants). */
  admission?: AdmissionInit;
  /** Caps against hostile peers (connections, transfer sessions, bans, record lookups, epoch exchange). */
  limits?: KeeperLimits;
  /** Fault injection, tests and demo only. */
  testHooks?: TransferTestHooks;
  /** Delay (ms) an executor adds before working: demo/test knob to make a node slow. */
  executionDelayMs?: number;
  /** Epochs: closing, publication and (with `chain`) submission. Every keeper records its epoch evidence. */
  epochs?: KeeperEpochsConfig;
  /** Audits of providers (keeper/audit) and the rule by which failed audits cost a provider its epoch's credit. */
  audit?: KeeperAuditConfig;
  /**
   * Paid demand (docs/transfer.md "Paying as data arrives", docs/epochs.md "Paid demand"), used only when the vault is
   * known (the chain deployment's CreditVault, or `vault`): the provider asks for vouchers to its reward account and
   * cuts off consumers that stop paying, the node pays as it fetches (with `consumerKey`), and epochs are closed
   * bounded by payment.
   */
  payment?: KeeperPaymentConfig;
}

export interface KeeperPaymentConfig {
  /** Hex private key of this node's consumer account: signs vouchers as it fetches. Absent: it pays nothing. */
  consumerKey?: string;
  /** Price per GiB carried, token base units (default DEFAULT_WEI_PER_GIB, the same for every keeper). */
  weiPerGiB?: bigint;
  /** Subsidy share of unpaid bytes, basis points (default DEFAULT_SUBSIDY_BPS). */
  subsidyBps?: bigint;
  /** Bytes sent unpaid before a consumer is cut off (default DEFAULT_UNPAID_ALLOWANCE_BYTES). */
  unpaidAllowanceBytes?: number;
  /**
   * Bytes sent to consumers without a funded voucher, all together, per window (default
   * DEFAULT_UNFUNDED_BUDGET_BYTES per DEFAULT_UNFUNDED_BUDGET_WINDOW_MS).
   */
  unfundedBudget?: { bytes: number; windowMs: number };
  /** Read a consumer's deposit on chain when its voucher goes above the last read (default true; needs a chain). */
  checkDeposits?: boolean;
  /** The share of a consumer's unspent deposit this provider counts on, bps (default DEFAULT_DEPOSIT_SHARE_BPS). */
  depositShareBps?: number;
  /** The vault vouchers are signed for, for a keeper without `epochs.chain` (which names it otherwise). */
  vault?: { chainId: bigint; address: string };
  /**
   * When a close reads what the vault settled (default SETTLE_GRID_MS, SETTLE_WINDOW_MS; the same for every keeper).
   * `false`: at the close itself, as before the settlement block — only for a development chain whose block times run
   * ahead of the clock (automine stamps each block a second after the last), where a cutoff by the clock has passed
   * on chain before the close settles; keepers reading at their own time can then build different roots.
   */
  settle?: { gridMs?: number; windowMs?: number } | false;
  /** See SETTLE_IDLE_MARGIN_MS. */
  settleIdleMarginMs?: number;
  /** The least a close settles on one channel, token units (default DEFAULT_MIN_SETTLE_AMOUNT). */
  minSettleAmount?: bigint;
  /** The most `settle` transactions one close sends (default DEFAULT_MAX_SETTLES_PER_CLOSE). */
  maxSettlesPerClose?: number;
}

export interface KeeperAuditConfig extends AuditorInit {
  disqualify?: Partial<DisqualifyRule>;
}

export interface KeeperLimits {
  connections?: ConnectionLimitsInit;
  transfer?: Pick<TransferInit, "maxInboundSessions" | "maxSessionsPerConnection" | "writeTimeoutMs" | "idleTimeoutMs">;
  bans?: Omit<BanListInit, "log">;
  recordLookups?: RecordFetchQueueInit;
  exchange?: EpochExchangeInit;
}

export interface KeeperEpochsConfig {
  /** R_total per epoch before the cap by the pool's unreserved balance (token base units). */
  rewardPerEpoch?: bigint;
  /** node-cron expression of epoch closes (6 fields for seconds); without it only `closeEpoch()` closes. */
  cron?: string;
  /** Where epochs are published (dumps + epoch.json); default `<dataDir>/epochs`. */
  publishDir?: string;
  /** Chain access: submission (with a key holding KEEPER_ROLE) and the pool's balance. */
  chain?: Omit<ChainInit, "deployment"> & {
    deployment: ChainInit["deployment"];
    /** Start over against a new deployment or a reset chain (archives earlier epochs); see ChainMemory. */
    newDeployment?: boolean;
  };
  /** Addresses of the network's keepers: submission rotates among those holding KEEPER_ROLE. */
  keepers?: string[];
  takeoverDeadlineMs?: number;
  /** How often a keeper waiting for another's submission re-reads the chain (default TURN_POLL_MS, 15 s). */
  turnPollMs?: number;
  /** Signed health observations (merge rule f, the gather's wait); defaults in keeper/epochs/observe/constants.ts. */
  observations?: EpochObserverInit;
}
