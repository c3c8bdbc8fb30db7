/** The operator configuration mapped onto the keeper composition's KeeperConfig. */
import { parseEther } from "ethers";

import type { DeploymentRecord } from "../chain/index.ts";
import type { KeeperConfig } from "../init.ts";
import type { Logger } from "../logger.ts";
import type { OperatorConfig } from "./schema.ts";

/** What start resolves outside the config file: the chain key (never in the file) and the deployment record. */
export interface ChainAccess {
  privateKey?: string;
  deployment?: DeploymentRecord;
  /** The consumer account's key (LUMORA_CONSUMER_KEY): signs vouchers when paid demand is on. */
  consumerKey?: string;
}

export function toKeeperConfig(config: OperatorConfig, logger?: Logger, chain: ChainAccess = {}): KeeperConfig {
  const rpcUrl = config.chain.rpcUrl;
  const l = config.limits;
  return {
    limits: {
      connections: {
        maxConnections: l.connections.max,
        maxConnectionsPerIp: l.connections.perIp,
        reservedForKeepers: l.connections.reservedForKeepers,
        idleTimeoutMs: l.connections.idleTimeoutMs,
      },
      transfer: {
        maxInboundSessions: l.transfer.maxSessions,
        maxSessionsPerConnection: l.transfer.maxSessionsPerConnection,
        writeTimeoutMs: l.transfer.writeTimeoutMs,
        idleTimeoutMs: l.transfer.idleTimeoutMs,
      },
      bans: { maxEntries: l.bans.max, durationMs: l.bans.durationMs },
      recordLookups: {
        ratePerSecond: l.recordLookups.perSecond,
        burst: l.recordLookups.burst,
        maxQueue: l.recordLookups.maxQueue,
      },
      exchange: { maxWindowMs: l.exchange.maxWindowMs, maxEntriesPerResponse: l.exchange.maxEntriesPerResponse },
    },
    ...(config.payment.enabled && {
      payment: {
        weiPerGiB: parseEther(config.payment.lumPerGib),
        subsidyBps: BigInt(config.payment.subsidyBps),
        unpaidAllowanceBytes: config.payment.unpaidAllowanceBytes,
        unfundedBudget: { bytes: config.payment.unfundedBudgetBytes, windowMs: config.payment.unfundedBudgetWindowMs },
        checkDeposits: config.payment.checkDeposits,
        depositShareBps: config.payment.depositShareBps,
        settle: { gridMs: config.payment.settleGridMs, windowMs: config.payment.settleWindowMs },
        minSettleAmount: parseEther(config.payment.minSettleLum),
        maxSettlesPerClose: config.payment.maxSettlesPerClose,
        ...(chain.consumerKey !== undefined && { consumerKey: chain.consumerKey }),
      },
    }),
    audit: {
      ratePerHour: config.audit.ratePerHour,
      timeoutMs: config.audit.timeoutMs,
      minBytes: config.audit.minBytes,
      maxBytes: config.audit.maxBytes,
      minThroughputRatio: config.audit.minThroughputRatio,
      disqualify: {
        minFailures: config.audit.disqualifyMinFailures,
        failureRatio: config.audit.disqualifyFailureRatio,
      },
    },
    dataDir: config.dataDir,
    listen: config.p2p.listen,
    announce: config.p2p.announce.length > 0 ? config.p2p.announce : undefined,
    bootstrap: config.p2p.bootstrap,
    allowPrivateAddresses: config.p2p.allowPrivateAddresses,
    capabilities: config.node.capabilities,
    bandwidthBps: config.node.bandwidthBps,
    capacity: config.node.capacity,
    rewardAddress: config.node.rewardAddress,
    weights: { alpha: config.routing.alpha, beta: config.routing.beta, gamma: config.routing.gamma },
    shards: config.routing.shards,
    backups: config.routing.backups,
    health: { ...config.health },
    directory: { ...config.directory },
    maxAttempts: config.tasks.maxAttempts,
    attemptTimeoutMs: config.tasks.attemptTimeoutMs,
    admission: {
      maxObjectBytes: config.tasks.maxObjectBytes,
      maxDeadlineMs: config.tasks.maxDeadlineMs,
      maxTasksPerRequester: config.tasks.maxTasksPerRequester,
      maxBytesInFlightPerRequester: config.tasks.maxBytesInFlightPerRequester,
    },
    logger,
    epochs: {
      cron: config.epochs.cron,
      rewardPerEpoch: parseEther(config.epochs.rewardPerEpoch),
      ...(config.epochs.dir !== undefined && { publishDir: config.epochs.dir }),
      ...(rpcUrl !== undefined &&
        chain.deployment !== undefined && {
          chain: {
            rpcUrl,
            deployment: chain.deployment,
            newDeployment: config.chain.newDeployment,
            rpcMaxSockets: config.chain.rpcMaxSockets,
            ...(chain.privateKey !== undefined && { privateKey: chain.privateKey }),
          },
        }),
      keepers: config.epochs.keepers,
      takeoverDeadlineMs: config.epochs.takeoverMinutes * 60_000,
      observations: {
        ...(config.epochs.observationMaxFaulty !== undefined && {
          rule: { maxFaulty: config.epochs.observationMaxFaulty },
        }),
        waitMs: config.epochs.observationWaitMs,
      },
    },
  };
}
