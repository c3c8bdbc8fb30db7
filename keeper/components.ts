/**
 * The keeper's composition: `composeKeeper` builds every service from its module's factory and wires them
 * through narrow components (closures over services built further down are only called once started). It
 * starts nothing and owns no logic; keeper.ts starts and stops what it built, in order.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import type { PeerId, PrivateKey } from "@libp2p/interface";
import { getAddress, Wallet } from "ethers";

import { auditor, type Auditor } from "./audit/auditor.ts";
import type { DisqualifyRule } from "./audit/verdict.ts";
import { BondView } from "./chain/bonds.ts";
import { Chain } from "./chain/index.ts";
import { ChainMemory, deploymentIdentity } from "./chain/memory.ts";
import { chainMonitor, type ChainMonitor } from "./chain/monitor.ts";
import { RecordCache } from "./discovery/cache.ts";
import { discovery, discoveryRecordHandlers, type Discovery } from "./discovery/index.ts";
import { evidenceAdopter, type EvidenceAdopter } from "./epochs/adopt.ts";
import { epochChainSync, type EpochChainSync } from "./epochs/chain-sync.ts";
import { epochCloser, type EpochCloser, type EpochCloseResult, type EpochStepDetail } from "./epochs/closer.ts";
import { epochCollector, type EpochCollector } from "./epochs/collect/collector.ts";
import { epochExchange, type EpochExchange } from "./epochs/exchange/protocol.ts";
import { epochObserver } from "./epochs/observe/observer.ts";
import { ObservationStore } from "./epochs/observe/store.ts";
import { RemoteReceipts, RemoteTasks } from "./epochs/exchange/remote.ts";
import { admission } from "./execution/admission.ts";
import { evidenceGatherer, type EvidenceGatherer } from "./epochs/exchange/gather.ts";
import { epochOperator, type EpochOperator, type KeeperChainStatus } from "./epochs/operator.ts";
import { DirectoryProofSource } from "./epochs/proofs/source.ts";
import { proofsService, type ProofsService } from "./epochs/proofs/p2p.ts";
import { epochSchedule, type EpochSchedule } from "./epochs/schedule.ts";
import { buildEpoch } from "./epochs/build.ts";
import { epochSubmitter, quorumCommitmentOf, type EpochSubmitter } from "./epochs/submit/submitter.ts";
import { refinalizeFromCommitted } from "./epochs/quorum/after-commit.ts";
import { quorumApprover } from "./epochs/quorum/approve.ts";
import { epochSignatures, type EpochSignatures } from "./epochs/quorum/protocol.ts";
import { quorumDomain } from "./epochs/quorum/commitment.ts";
import { rebuildWithObservations } from "./epochs/quorum/rebuild.ts";
import { observationSetHash, type SignedObservation } from "./epochs/observe/observation.ts";
import type { BuiltEpoch } from "./epochs/types.ts";
import { challengeJudge } from "./epochs/challenge/judge.ts";
import { challengeSignatures, type ChallengeSignatures } from "./epochs/challenge/protocol.ts";
import { approvedDigestOf, challengeResolver, type ChallengeResolver } from "./epochs/challenge/resolver.ts";
import { epochTurns, type EpochTurns } from "./epochs/submit/turns.ts";
import * as execution from "./execution/index.ts";
import { HealthCounters, health, type Health } from "./health/index.ts";
import { loadOrCreateIdentity } from "./identity.ts";
import type { KeeperConfig } from "./init.ts";
import { createLogger, type Logger } from "./logger.ts";
import { OperatorCounters } from "./operator-counters.ts";
import { BanList, bootstrap, createLumoraNode, type Bootstrapper, type LumoraNode } from "./p2p/index.ts";
import { proximity, type Proximity } from "./proximity/index.ts";
import { routing, type RoutingTable } from "./routing/index.ts";
import { routingFeed, type RoutingFeed } from "./routing/feed.ts";
import { reputationFlags, type ReputationFlags } from "./routing/flags.ts";
import { openStore, type Store } from "./store/index.ts";
import { acquireDataDir, releaseDataDir } from "./store/lock.ts";
import { epochTaskRecords, taskManager, toLeafValue, type TaskManager, type TaskOutcome } from "./tasks/index.ts";
import { transferService, type PublishResult, type TransferService } from "./transfer/index.ts";
import { DEFAULT_SUBSIDY_BPS, DEFAULT_WEI_PER_GIB } from "./epochs/collect/constants.ts";
import {
  DEFAULT_DEPOSIT_SHARE_BPS,
  DEFAULT_UNPAID_ALLOWANCE_BYTES,
  PaymentStore,
  SETTLE_GRID_MS,
  SETTLE_WINDOW_MS,
  VaultSettlement,
  VoucherPayer,
  vaultCredit,
} from "./payment/index.ts";
import { TransferStore } from "./transfer/store.ts";

/** Every service of a running keeper, built once by `compose`; those marked optional exist with a chain only. */
export interface KeeperComponents {
  readonly log: Logger;
  readonly store: Store;
  readonly privateKey: PrivateKey;
  readonly node: LumoraNode;
  readonly bans: BanList;
  readonly bootstrapper: Bootstrapper;
  readonly discovery: Discovery;
  readonly proximity: Proximity;
  readonly counters: HealthCounters;
  readonly health: Health;
  readonly routing: RoutingTable;
  readonly feed: RoutingFeed;
  readonly flags: ReputationFlags | undefined;
  readonly tasks: TaskManager;
  readonly payloads: execution.TaskPayloads;
  readonly execution: execution.TaskExecutionService;
  readonly requests: execution.TransferRequests;
  readonly transfer: TransferService;
  /** The transfer module's tables, read side (receipts for the epochs, progress for the operator). */
  readonly transfers: TransferStore;
  /** Audits of providers: signed outcomes, measured bandwidth (routing's B_i), failures for health and credit. */
  readonly audits: Auditor;
  readonly collector: EpochCollector;
  readonly remoteReceipts: RemoteReceipts;
  readonly remoteTasks: RemoteTasks;
  readonly exchange: EpochExchange;
  readonly proofs: ProofsService;
  readonly gatherer: EvidenceGatherer;
  readonly closer: EpochCloser;
  readonly schedule: EpochSchedule;
  readonly epochOperator: EpochOperator;
  /** Epoch submissions, failures and chain RPC errors, exported by the API as Prometheus counters. */
  readonly operatorCounters: OperatorCounters;
  readonly chain: Chain | undefined;
  /** Reachability, identity and epochs of the chain, checked in the background. */
  readonly chainMonitor: ChainMonitor | undefined;
  readonly chainSync: EpochChainSync | undefined;
  readonly submitter: EpochSubmitter | undefined;
  readonly turns: EpochTurns | undefined;
  readonly adopter: EvidenceAdopter | undefined;
  /** `/lumora/epoch-sign/1.0.0`: this keeper's signatures of epoch commitments, and the gathering of others'. */
  readonly signatures: EpochSignatures | undefined;
  /** `/lumora/challenge-sign/1.0.0`: this keeper's signed verdicts on challenges, and the gathering of others'. */
  readonly verdicts: ChallengeSignatures | undefined;
  /** Watches RewardPool for challenges of the quorum's epochs and resolves them with a keeper supermajority. */
  readonly challenges: ChallengeResolver | undefined;
}

/** Builds and wires every service (none is started); `onStep` receives each epoch close step. */
export async function composeKeeper(
  c: KeeperConfig,
  log: Logger,
  onStep: (d: EpochStepDetail) => void,
): Promise<KeeperComponents> {
  mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
  const privateKey = (await loadOrCreateIdentity(join(c.dataDir, "identity.key"))).privateKey;
  const store = openStore(join(c.dataDir, "keeper.db"));
  const bans = new BanList({ ...c.limits?.bans, log: log.child("bans") });
  // Filled by wire() once discovery exists; until then nobody holds a reserved keeper slot.
  const keeperCheck = { isKeeper: (_peerId: string): boolean => false };
  const node = await createLumoraNode({
    privateKey,
    listen: c.listen,
    announce: c.announce,
    bans,
    limits: c.limits?.connections,
    isKeeper: (peerId) => keeperCheck.isKeeper(peerId),
    logger: log,
    allowPrivateAddresses: c.allowPrivateAddresses ?? true,
    inboundConnectionsPerHostPerSecond: c.allowPrivateAddresses === false ? undefined : 1_000,
    dhtQuerySelfIntervalMs: c.dhtQuerySelfIntervalMs,
    dhtInitialQuerySelfIntervalMs: c.dhtQuerySelfIntervalMs,
    ...discoveryRecordHandlers(log.child("dht")),
  }).catch((err: unknown) => {
    store.close();
    throw err;
  });
  try {
    return wire(c, { log, privateKey, store, bans, node, keeperCheck }, onStep);
  } catch (err) {
    // Nothing started yet: what was opened is closed again, and the error says what was misconfigured.
    await Promise.resolve(node.stop()).catch(() => undefined);
    store.close();
    throw err;
  }
}

/** The opened resources every service is built over. */
interface Opened {
  log: Logger;
  privateKey: PrivateKey;
  store: Store;
  bans: BanList;
  node: LumoraNode;
  /** Set here to "has a valid signed record" (the connection limits keep slots for keepers). */
  keeperCheck: { isKeeper: (peerId: string) => boolean };
}

function wire(c: KeeperConfig, opened: Opened, onStep: (d: EpochStepDetail) => void): KeeperComponents {
  const { log, privateKey, store, bans, node, keeperCheck } = opened;
  const logger = log;
  const self = node.peerId.toString();
  const penalise = (peer: PeerId, err: Error) => bans.ban(peer, err.message);
  const epochStep = (epoch: number, step: string, info?: EpochStepDetail["info"]) =>
    onStep({ epoch, step, at: Date.now(), ...(info && { info }) });
  const operatorCounters = new OperatorCounters();
  const counters = new HealthCounters(store);
  const ec = c.epochs ?? {};
  const publishDir = ec.publishDir ?? join(c.dataDir, "epochs");

  const chain = ec.chain && new Chain({ logger, onRpcError: () => operatorCounters.inc("chainRpcErrors") }, ec.chain);
  const monitor =
    chain &&
    chainMonitor()({ chain, logger, codeHashes: new ChainMemory(store), onCheck: (s) => epochOps.onChainCheck(s) });
  const quorumAddress = chain?.deployment.contracts.EpochQuorum;
  const signatures =
    chain && quorumAddress !== undefined
      ? epochSignatures()({
          node,
          logger,
          isKeeper: (peerId) => keeperCheck.isKeeper(peerId),
          keepers: () => otherKeepers(),
          approve: (request, opts) => approver!.approve(request, opts),
          deployment: { chainId: chain.deployment.chainId, quorum: quorumAddress },
          penalise,
        })
      : undefined;
  const submitter =
    chain &&
    epochSubmitter({ onStep: (step, e) => epochStep(e, step) })({
      chain,
      store,
      logger,
      ...(signatures !== undefined && { signatures }),
      // A union round (docs/epochs.md "Union rounds"): what the refusals handed back joins our set, re-finalized.
      union: async (epoch, offered, opts) => {
        const joined = (await observer?.unite(epoch, offered, opts)) ?? 0;
        if (joined > 0) await collector.refinalize(epoch, opts);
        return joined;
      },
    });
  const keepers = ec.keepers ?? [];
  const turns =
    chain && submitter && keepers.length > 0
      ? epochTurns({ keepers, takeoverDeadlineMs: ec.takeoverDeadlineMs, pollMs: ec.turnPollMs })({
          chain,
          submitter,
          logger,
        })
      : undefined;

  const payloads = new execution.TaskPayloads(store);
  const table = routing({ ...c.weights, shards: c.shards, backups: c.backups })({ logger });
  const executor = execution.taskExecution({ maxConcurrent: c.capacity })({
    node,
    logger,
    payloads,
    penalise,
    admission: admission(c.admission)({ record: (peerId) => records.verifiedRecord(peerId) }),
    // What an executor is asked to fetch names providers of an object: audit targets too.
    perform: (work, opts) => (audits.learnRequest(work), performer(work, opts)),
  });
  const tasks = taskManager({ maxAttempts: c.maxAttempts, attemptTimeoutMs: c.attemptTimeoutMs })({
    logger,
    store,
    selector: table,
    providerStatus: (peerId) => peerHealth.status(peerId),
    executeOn: execution.countedExecution({
      executeOn: (task, peerId, opts) => executor.executeOn(task, peerId, opts),
      currentEpoch: () => collector.currentEpoch(),
      counters,
      onUnreachable: (peerId) => feed.markUnreachable(peerId),
    }),
  });
  // Paid demand needs the vault (the deployment's CreditVault, else the configured one): the vouchers' domain.
  const vault = chain?.contracts.creditVault;
  const payments = new PaymentStore(store);
  const vaultAddress = chain?.deployment.contracts.CreditVault ?? c.payment?.vault?.address;
  const vaultChainId = chain !== undefined ? BigInt(chain.deployment.chainId) : c.payment?.vault?.chainId;
  const payment =
    c.payment !== undefined && vaultAddress !== undefined && vaultChainId !== undefined
      ? {
          domain: { chainId: vaultChainId, vault: vaultAddress },
          weiPerGiB: c.payment.weiPerGiB ?? DEFAULT_WEI_PER_GIB,
          subsidyBps: c.payment.subsidyBps ?? DEFAULT_SUBSIDY_BPS,
          ...(c.payment.settle !== false && {
            settle: {
              gridMs: c.payment.settle?.gridMs ?? SETTLE_GRID_MS,
              windowMs: c.payment.settle?.windowMs ?? SETTLE_WINDOW_MS,
            },
          }),
        }
      : undefined;
  const transfer = transferService(c.limits?.transfer)({
    node,
    privateKey,
    store,
    logger,
    // Receipts carry the chain's open epoch (what every keeper agrees on), this keeper's own when no chain.
    currentEpoch: () => BigInt(chainSync?.openEpoch() ?? collector.currentEpoch()),
    onProviderFailure: (peerId) => counters.record(collector.currentEpoch(), peerId, false),
    testHooks: c.testHooks,
    ...(payment !== undefined && {
      payment: {
        store: payments,
        ...(c.payment?.consumerKey !== undefined && {
          payer: new VoucherPayer(
            {
              store: payments,
              signer: new Wallet(c.payment.consumerKey),
              peerId: self,
              // The provider's signed record (discovery), looked up when a Welcome names an account.
              accountOf: (peerId) => records.get(peerId)?.rewardAddress,
            },
            payment,
          ),
        }),
        terms: {
          account: c.rewardAddress,
          domain: payment.domain,
          weiPerGiB: payment.weiPerGiB,
          unpaidAllowanceBytes: c.payment?.unpaidAllowanceBytes ?? DEFAULT_UNPAID_ALLOWANCE_BYTES,
          ...(c.payment?.unfundedBudget !== undefined && { unfundedBudget: c.payment.unfundedBudget }),
          ...(c.payment?.checkDeposits !== false &&
            vault !== undefined && {
              creditOf: vaultCredit(vault, c.payment?.depositShareBps ?? DEFAULT_DEPOSIT_SHARE_BPS),
            }),
        },
      },
    }),
  });
  const performer = execution.transferPerformer({ dataDir: c.dataDir, executionDelayMs: c.executionDelayMs })({
    transfer,
    selfPeerId: self,
    logger,
  });
  // With a bond registry, a keeper is a peer with a record whose reward account is bonded: only those records are
  // passed on to other keepers and hold the connection slots kept for keepers (an identity that costs nothing
  // reaches only the keepers it dials itself). The routing feed keeps the view of the directory's accounts fresh.
  const registry = chain?.contracts.nodeRegistry;
  const bonds = registry && new BondView(registry);
  const records = discovery({
    capabilities: c.capabilities,
    bandwidthBps: c.bandwidthBps,
    capacity: c.capacity,
    shard: 0,
    rewardAddress: c.rewardAddress,
    lookups: c.limits?.recordLookups,
    exchange: c.directory,
    ...(bonds !== undefined && {
      relayable: (record: { rewardAddress: string }) => bonds.isBonded(record.rewardAddress),
    }),
  })({ node, privateKey, logger, penalise, currentLoad: () => executor.load, cache: new RecordCache(store) });
  keeperCheck.isKeeper = (peerId) => records.isKeeper(peerId);
  // A peer's on-chain address, from its signed peer record (ours from the config).
  const addressOf = (peerId: string) => (peerId === self ? c.rewardAddress : records.get(peerId)?.rewardAddress);
  // A peer's signed record (ours included), kept with each epoch as evidence of the peer ↔ account binding.
  const recordOf = (peerId: string) => records.get(peerId)?.signed;
  const otherKeepers = () => records.peers().flatMap((r) => (r.peerId === self ? [] : [r.peerId]));
  const near = proximity(c.proximity)({ node, logger, isKeeper: (peerId) => keeperCheck.isKeeper(peerId) });
  const peerHealth = health(c.health)({
    node,
    logger,
    counters,
    currentEpoch: () => collector.currentEpoch(),
    currentLoad: () => ({ load: executor.load, capacity: c.capacity }),
    penalise,
    // A direct probe is an RTT sample: proximity pings only the members health's rotation has not reached lately.
    onRtt: (peerId, ms) => near.observeRtt(peerId, ms),
  });
  peerHealth.addEventListener("peer:failed", (e) => {
    const peerId = (e as CustomEvent<string>).detail;
    if (typeof peerId !== "string") return;
    table.remove(peerId);
    tasks.peerDisconnected(peerId);
  });
  // A suspect is most likely dead (issue 13: churn recovery): routing stops choosing it at once, and takes it back
  // at the next feed refresh once it refuted. Tasks already on it stay until the verdict or their own timeout.
  peerHealth.addEventListener("peer:suspect", (e) => {
    const peerId = (e as CustomEvent<string>).detail;
    if (typeof peerId === "string") table.remove(peerId);
  });
  const reputation = chain?.contracts.reputation;
  const flags =
    reputation &&
    reputationFlags()({
      logger,
      accounts: () => records.peers().map((r) => r.rewardAddress),
      readFlag: (account) => reputation.isFlagged(account),
    });
  const feed = routingFeed({ refreshMs: c.routingRefreshMs })({
    logger,
    self,
    records: () => records.peers(),
    refreshDirectory: (opts) => records.refresh(opts),
    health: peerHealth,
    proximity: near,
    isFlagged: (account) => flags?.has(account) ?? false,
    measuredBandwidth: (peerId) => audits.measuredBandwidth(peerId),
    ...(bonds !== undefined && { bonds }),
    table,
    onRefreshed: () => tasks.wake(),
  });

  const transfers = new TransferStore(store);
  const remoteReceipts = new RemoteReceipts(store);
  const remoteTasks = new RemoteTasks(store);
  const pool = chain?.contracts.rewardPool;
  // Without an `audit` section (tests, scripts) a keeper does not audit; the operator config always has one.
  const audits = auditor(c.audit ?? { ratePerHour: 0 })({
    self,
    privateKey,
    store,
    logger,
    fetchStream: (objectId, opts) => transfer.fetchStream(objectId, opts),
    announcedBandwidth: (peerId) => records.get(peerId)?.bandwidthBps,
    currentEpoch: () => collector.currentEpoch(),
    onOutcome: (o) => counters.record(o.epoch, o.provider, o.outcome === "pass"),
  });
  // Settle before credit (docs/epochs.md "Paid demand"): a keeper with a chain key settles the epoch's vouchers at
  // its close; every keeper counts only what the vault settled.
  const settlement =
    vault !== undefined && pool !== undefined && chain !== undefined
      ? new VaultSettlement(
          {
            vault,
            pool,
            logger,
            ...(chain.address !== undefined && {
              send: (tx, opts) => chain.send({ ...tx, iface: vault.interface }, opts),
            }),
          },
          {
            fromBlock: chain.deployment.deploymentBlock,
            ...(c.payment?.settleIdleMarginMs !== undefined && { idleMarginMs: c.payment.settleIdleMarginMs }),
            ...(c.payment?.minSettleAmount !== undefined && { minSettleAmount: c.payment.minSettleAmount }),
            ...(c.payment?.maxSettlesPerClose !== undefined && { maxSettlesPerClose: c.payment.maxSettlesPerClose }),
          },
        )
      : undefined;
  const collector = epochCollector({
    rewardPerEpoch: ec.rewardPerEpoch ?? 0n,
    auditRule: c.audit?.disqualify,
    // Paid credit needs the vault on chain (settle before credit): without a chain, receipts count in full.
    ...(payment !== undefined && settlement !== undefined && { payment }),
  })({
    store,
    logger,
    addressOf,
    recordOf,
    counters,
    tasks: tasks.taskStore,
    receiptsBetween: (from, to) => [...transfers.receiptsBetween(from, to), ...remoteReceipts.between(from, to)],
    auditsBetween: (from, to) => audits.between(from, to),
    remoteTaskValues: (from, to) => remoteTasks.between(from, to),
    ...(pool !== undefined && { maxRewardTotal: () => pool.maxRewardTotal() }),
    ...(bonds !== undefined && { bondsOf: (accounts, opts) => bonds.read(accounts, opts) }),
    ...(quorumAddress !== undefined && {
      mergedReports: (epoch: number) => observer?.reportsOf(epoch) ?? [],
      observationsHash: (epoch: number) => observationSetHash(observer?.observationsOf(epoch)),
      mergedDisqualified: (epoch: number, rule: DisqualifyRule) => observer?.disqualifiedOf(epoch, rule) ?? [],
    }),
    ...(settlement !== undefined && {
      settlement: (epoch, vouchers, opts) => settlement.settleAndRead(epoch, vouchers, opts),
    }),
  });
  const exchange = epochExchange(c.limits?.exchange)({
    node,
    logger,
    ownReceipts: (fromMs, toMs) => transfers.receiptsBetween(fromMs, toMs),
    isKeeper: (peerId) => records.get(peerId) !== undefined,
    ownTasks: (fromMs, toMs) =>
      epochTaskRecords(tasks.taskStore, { fromMs, toMs }, { addressOf }).map((r) => toLeafValue(r)),
    ...(chain?.contracts.epochQuorum !== undefined && { observations: (epoch: number) => observer?.served(epoch) }),
    penalise,
  });
  // Reports merged from the quorum keepers' signed health observations (docs/epochs.md "Reputation reports").
  const quorumContract = chain?.contracts.epochQuorum;
  const observer =
    chain && quorumAddress !== undefined && quorumContract !== undefined
      ? epochObserver(ec.observations)({
          observations: new ObservationStore(store),
          logger,
          domain: { chainId: chain.deployment.chainId, quorum: quorumAddress },
          ...(chain.address !== undefined && {
            signer: { address: getAddress(chain.address), signDigest: (digest) => chain.signDigest(digest) },
          }),
          frozenOutcomes: (epoch) => collector.frozenOutcomes(epoch),
          keepers: otherKeepers,
          pull: (peer, epoch, opts) => exchange.pullObservations(peer, epoch, opts),
          observers: async (opts) =>
            new Set(
              (await chain.read("EpochQuorum.keepers", () => quorumContract.keepers(), opts)).map((k) => getAddress(k)),
            ),
        })
      : undefined;
  const proofs = proofsService()({ node, logger, source: new DirectoryProofSource(publishDir) });
  const gatherer = evidenceGatherer()({
    exchange,
    remoteReceipts,
    remoteTasks,
    collector,
    logger,
    keepers: otherKeepers,
    expected: () => records.loadedAtStart,
    refreshDirectory: (opts) => records.refresh(opts),
    onStep: (epoch, step, info) => epochStep(epoch, step, info),
  });
  // Our own build of a closed epoch, and the same rebuilt from another keeper's observation set (quorum/rebuild.ts):
  // what the approver signs and the challenge judge compares with the chain.
  const builtEpoch = async (epoch: number, opts: { signal: AbortSignal }) =>
    collector.closedEpochsAfter(epoch - 1)[0] === epoch
      ? buildEpoch(collector.bundle(epoch), { signal: opts.signal })
      : undefined;
  const rebuild = (built: BuiltEpoch, observations: SignedObservation[], opts: { signal: AbortSignal }) => {
    const e = built.bundle.epoch;
    const evidence = { ...collector.evidence(e), ...(observer?.evidence(e) ?? {}) };
    return rebuildWithObservations({ built, evidence, observations, indexOf: (a) => collector.indexOf(a) }, opts);
  };
  const approver =
    chain &&
    quorumApprover()({
      chain,
      logger,
      builtEpoch,
      commitmentOf: (built) => quorumCommitmentOf(built, chain.deployment.contracts.RewardPool).commitment,
      ...(observer !== undefined && {
        observations: {
          of: (peer, epoch, opts) => observer.checkPeer(peer, epoch, opts),
          rebuild,
          own: (epoch) => observer.observationsOf(epoch),
        },
      }),
    });
  // Open challenges of the quorum's epochs, judged by the approver's rule and resolved by a keeper supermajority
  // (docs/epochs.md "Challenges resolved by the keepers").
  const verdicts: ChallengeSignatures | undefined =
    chain && quorumContract !== undefined
      ? challengeSignatures()({
          node,
          logger,
          isKeeper: (peerId) => keeperCheck.isKeeper(peerId),
          keepers: otherKeepers,
          verdict: (request, opts) => challenges!.verdict(request, opts),
          penalise,
        })
      : undefined;
  const challenges: ChallengeResolver | undefined =
    chain && quorumContract !== undefined && quorumAddress !== undefined && verdicts !== undefined
      ? challengeResolver()({
          chain,
          logger,
          signatures: verdicts,
          judge: challengeJudge()({
            domain: quorumDomain(chain.deployment.chainId, quorumAddress),
            approvedDigest: (epoch, opts) => approvedDigestOf(chain, epoch, opts),
            builtEpoch,
            commitmentOf: (built) => quorumCommitmentOf(built, chain.deployment.contracts.RewardPool).commitment,
            ...(observer !== undefined && {
              observations: {
                own: (epoch) => observer.observationsOf(epoch),
                others: (epoch, opts) => observer.checkPeers(otherKeepers(), epoch, opts),
                rebuild,
              },
            }),
          }),
        })
      : undefined;
  const adopter =
    chain &&
    evidenceAdopter()({
      collector,
      chain,
      proofs,
      keepers: otherKeepers,
      logger,
      ...(approver &&
        observer !== undefined && {
          afterCommit: (epoch, evidenceHash, opts) =>
            refinalizeFromCommitted(
              {
                logger,
                signedUnder: (e, hash) => approver.signedUnder(e, hash),
                adoptSet: (e, set) => observer.adopt(e, set),
                refinalize: (e, o) => collector.refinalize(e, o),
              },
              epoch,
              evidenceHash,
              opts,
            ).then((bundle) => bundle !== undefined),
        }),
    });
  const closer = epochCloser({ publishDir })({
    collector,
    store,
    logger,
    ...(chain !== undefined && { ready: (opts) => chainSync?.ready(opts) ?? Promise.resolve() }),
    ...(adopter !== undefined && {
      adopt: (epoch, opts) => adopter.adopt(epoch, opts),
      beforeFreeze: async (opts) => {
        const open = chainSync?.openEpoch();
        if (open !== undefined) await adopter.catchUp(open - 1, opts);
      },
      minEpoch: () => chainSync?.openEpoch(),
    }),
    gather: (epoch, opts) => gatherer.gather(epoch, opts).then(() => undefined),
    ...(observer !== undefined && {
      observe: (epoch, opts) => observer.observe(epoch, opts),
      evidenceOf: (epoch) => observer.evidence(epoch),
    }),
    submitter,
    turns,
    onStep,
    onAttemptFailed: () => operatorCounters.inc("epochSubmissionFailures"),
    onSubmitted: () => operatorCounters.inc("epochSubmissions"),
  });
  const chainSync =
    ec.chain && monitor && submitter
      ? epochChainSync({
          identity: deploymentIdentity(ec.chain.deployment),
          newDeployment: ec.chain.newDeployment ?? false,
        })({ monitor, memory: new ChainMemory(store), collector, closer, journal: submitter.journal, logger })
      : undefined;
  const schedule = epochSchedule({ cron: ec.cron })({
    logger,
    close: () => closer.closeOnly(),
    onSkipped: () => operatorCounters.inc("epochTicksSkipped"),
  });
  // The providers a request names for its object are what the audits pick from.
  const requests = execution.transferRequests()({
    self,
    tasks,
    payloads: { put: (id, payload) => (payloads.put(id, payload), audits.learnRequest(payload)) },
  });
  const epochOps = epochOperator()({
    logger,
    closer,
    chainState: monitor && (() => monitor.state()),
    chainSync,
    rewardPool: pool,
  });
  return {
    ...{ log, store, privateKey, node, bans, counters, payloads, transfer, transfers, audits, tasks, requests, closer },
    ...{ bootstrapper: bootstrap({ peers: c.bootstrap ?? [] })({ node, logger }), discovery: records },
    ...{ proximity: near, health: peerHealth, routing: table, feed, flags, execution: executor },
    ...{ collector, remoteReceipts, remoteTasks, exchange, proofs, gatherer, schedule, epochOperator: epochOps },
    ...{ operatorCounters, chain, chainMonitor: monitor, chainSync, submitter, turns, adopter, signatures },
    ...{ verdicts, challenges },
  };
}
