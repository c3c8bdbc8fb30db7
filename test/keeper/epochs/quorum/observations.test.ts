/**
 * Signing another keeper's epoch when the keepers' observation sets differ, end to end on 127.0.0.1: a real
 * Hardhat node with EpochQuorum (3 keepers, all 3 signatures needed), three keepers with real libp2p nodes, real
 * collectors on node:sqlite stores (the same consumer-signed receipt in each), each with its own health counts of the
 * provider; they sign observations, pull each other's over `/lumora/epoch/1.0.0` and ask signatures over
 * `/lumora/epoch-sign/1.0.0`.
 *
 * - Review finding H2 (liveness): a keeper that sealed a smaller set (it reached nobody during the gather) builds
 *   another C_i than the submitter; it still signs, because it rebuilds C_i and the reports from the submitter's
 *   checked set, and the epoch commits with all three signatures.
 * - A submitter that leaves out a third keeper's observations is refused by a keeper that holds them (and by the
 *   third keeper); the keeper with the full set then commits the epoch.
 * - Review H-3: keepers whose sets are the submitter's sign its epoch without rebuilding it, so an input the
 *   verifier's code judges differently from the collector (a peer record re-signed just after the window) cannot
 *   stop every keeper from signing.
 * - Review H-1: sets none of which contains the others (each keeper missed another's observation): the refusals
 *   hand the missing observations back, the submitter joins them, re-finalizes and commits with all three
 *   signatures (a union round) — directly, and through the closer, which republishes the re-finalized epoch. The
 *   evidence hash the quorum approved binds the union, the final set (review M-3).
 * - Review H-2: a keeper that signed another keeper's rebuild re-finalizes its epoch from the committed set when it
 *   adopts the chain's epoch, so the leaf indices of its next epoch, and its reward root, are everyone's.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { Chain } from "../../../../keeper/chain/index.ts";
import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import { buildEpoch } from "../../../../keeper/epochs/build.ts";
import { EpochCloser } from "../../../../keeper/epochs/closer.ts";
import {
  publishEpoch,
  readEpochEvidence,
  readEpochSummary,
  readFullEvidence,
} from "../../../../keeper/epochs/proofs/publish.ts";
import { EvidenceAdopter } from "../../../../keeper/epochs/adopt.ts";
import { EpochExchange } from "../../../../keeper/epochs/exchange/protocol.ts";
import { EpochObserver } from "../../../../keeper/epochs/observe/observer.ts";
import { ObservationStore } from "../../../../keeper/epochs/observe/store.ts";
import { observationSetHash, type SignedObservation } from "../../../../keeper/epochs/observe/observation.ts";
import { QuorumApprover } from "../../../../keeper/epochs/quorum/approve.ts";
import { signAuditOutcome, type SignedAuditOutcome } from "../../../../keeper/audit/outcome.ts";
import { refinalizeFromCommitted } from "../../../../keeper/epochs/quorum/after-commit.ts";
import { latestApproval } from "../../../../keeper/epochs/quorum/approvals.ts";
import { evidenceHashOf } from "../../../../keeper/epochs/quorum/commitment.ts";
import { EpochReclosedError, QuorumNotReachedError } from "../../../../keeper/epochs/quorum/errors.ts";
import { EpochSignatures } from "../../../../keeper/epochs/quorum/protocol.ts";
import { rebuildWithObservations } from "../../../../keeper/epochs/quorum/rebuild.ts";
import { EpochSubmitter, quorumCommitmentOf } from "../../../../keeper/epochs/submit/submitter.ts";
import type { EpochBundle } from "../../../../keeper/epochs/types.ts";
import { EpochQuorum__factory } from "../../../../types/ethers-contracts/index.ts";
import { deployLumora, devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../../chain/helpers.ts";
import { silent, startNode, waitFor, type TestKeeper } from "../../helpers.ts";
import { peer, signedReceipt, world, type EpochWorld, type Peer } from "../fixtures.ts";

const WALLETS = [devWallet(5), devWallet(6), devWallet(7)];
const BYTES = 11_000;
/** Each keeper's own counts of the provider in every epoch: (successes, failures). */
const VIEWS: ReadonlyArray<readonly [number, number]> = [
  [5, 5],
  [10, 0],
  [2, 8],
];

interface Keeper {
  name: string;
  address: string;
  p2p: TestKeeper;
  chain: Chain;
  epochs: EpochWorld;
  exchange: EpochExchange;
  observer: EpochObserver;
  signatures: EpochSignatures;
  submitter: EpochSubmitter;
  /** Whom it pulls observations from: the other keepers unless cut off. */
  isolated: boolean;
  /** Drops these observers' observations from every pull (a submitter hiding them). */
  drop: Set<string>;
  approver: QuorumApprover;
  /** This keeper's own audit outcomes, frozen with the epoch it closes next. */
  audits: SignedAuditOutcome[];
}

describe("keeper quorum: signing under different observation sets", { timeout: 300_000 }, () => {
  let node: HardhatNode;
  let quorumAddress: string;
  let provider: Peer;
  let consumer: Peer;
  /** Providers first seen in later epochs (H-2: whose leaf index each keeper hands out). */
  let newcomer: Peer;
  let latecomer: Peer;
  /** The provider's signed record every keeper holds (re-signed by a test). */
  let record: Uint8Array;
  /** The later providers' signed records. */
  const laterRecords = new Map<string, Uint8Array>();
  const keepers: Keeper[] = [];

  before(async () => {
    node = await startHardhatNode();
    const deployed = await deployLumora(node.url, {
      keepers: [],
      fund: 10n ** 24n,
      quorum: { keepers: WALLETS.map((w) => w.address), threshold: 3 },
    });
    const deployment = deployed.record;
    quorumAddress = deployment.contracts.EpochQuorum!;
    [provider, consumer, newcomer, latecomer] = await Promise.all([peer(0x91), peer(0x92), peer(0x93), peer(0x94)]);
    record = await signPeerRecord(provider.key, {
      seq: 1n,
      issuedAtMs: 0,
      expiresAtMs: 600_000,
      capabilities: ["provider"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      load: 0,
      shard: 0,
      rewardAddress: provider.address,
      addrs: ["/ip4/127.0.0.1/tcp/1"],
    });
    const nodes = await Promise.all(WALLETS.map(() => startNode()));
    const peerIds = nodes.map((n) => n.node.peerId.toString());
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.node.dial(b.node.getMultiaddrs()[0]!);
    const domain = { chainId: deployment.chainId, quorum: quorumAddress };
    const observers = new Set(WALLETS.map((w) => w.address));
    for (const [i, wallet] of WALLETS.entries()) {
      const k = {
        name: "ABC"[i]!,
        address: wallet.address,
        p2p: nodes[i]!,
        isolated: false,
        drop: new Set(),
        audits: [] as SignedAuditOutcome[],
      } as Keeper;
      k.chain = new Chain(
        { logger: silent },
        { rpcUrl: node.url, deployment, privateKey: wallet.privateKey, receiptPollMs: 50 },
      );
      await k.chain.start();
      k.epochs = world(
        { genesisMs: 1_000 },
        {
          mergedReports: (epoch) => k.observer.reportsOf(epoch),
          observationsHash: (epoch) => observationSetHash(k.observer.observationsOf(epoch)),
          mergedDisqualified: (epoch, rule) => k.observer.disqualifiedOf(epoch, rule),
          recordOf: (id) => (id === provider.id ? record : laterRecords.get(id)),
          auditsBetween: () => k.audits,
        },
      );
      for (const p of [provider, newcomer, latecomer]) k.epochs.addresses.set(p.id, p.address);
      k.exchange = new EpochExchange({
        node: k.p2p.node,
        logger: silent,
        ownReceipts: () => [],
        isKeeper: (peerId) => peerIds.includes(peerId),
        observations: (epoch) => k.observer.served(epoch),
      });
      await k.exchange.start();
      k.observer = new EpochObserver(
        {
          observations: new ObservationStore(k.epochs.store),
          logger: silent,
          domain,
          signer: { address: wallet.address, signDigest: (d) => k.chain.signDigest(d) },
          frozenOutcomes: (epoch) => k.epochs.collector.frozenOutcomes(epoch),
          keepers: () => (k.isolated ? [] : peerIds.filter((p) => p !== peerIds[i])),
          pull: async (peerId, epoch, opts) =>
            (await k.exchange.pullObservations(peerId, epoch, opts)).filter(
              (o: SignedObservation) => !k.drop.has(o.observer),
            ),
          observers: async () => observers,
        },
        { waitMs: 20_000, retryMs: 100 },
      );
      // Wired as keeper/components.ts wires it.
      const approver = (k.approver = new QuorumApprover({
        chain: k.chain,
        logger: silent,
        builtEpoch: async (epoch) =>
          k.epochs.collector.closedEpochsAfter(epoch - 1)[0] === epoch
            ? buildEpoch(k.epochs.collector.bundle(epoch))
            : undefined,
        commitmentOf: (built) => quorumCommitmentOf(built, deployment.contracts.RewardPool).commitment,
        observations: {
          of: (peerId, epoch, opts) => k.observer.checkPeer(peerId, epoch, opts),
          rebuild: (built, observations, opts) => {
            const e = built.bundle.epoch;
            const evidence = { ...k.epochs.collector.evidence(e), ...k.observer.evidence(e) };
            return rebuildWithObservations(
              { built, evidence, observations, indexOf: (a) => k.epochs.collector.indexOf(a) },
              opts,
            );
          },
          own: (epoch) => k.observer.observationsOf(epoch),
        },
      }));
      k.signatures = new EpochSignatures(
        {
          node: k.p2p.node,
          logger: silent,
          isKeeper: (peerId) => peerIds.includes(peerId),
          keepers: () => peerIds.filter((p) => p !== peerIds[i]),
          approve: (request, opts) => approver.approve(request, opts),
          deployment: { chainId: deployment.chainId, quorum: quorumAddress },
        },
        { gatherTimeoutMs: 20_000, retryMs: 200 },
      );
      await k.signatures.start();
      k.submitter = new EpochSubmitter({
        chain: k.chain,
        store: k.epochs.store,
        logger: silent,
        signatures: k.signatures,
        // Wired as keeper/components.ts wires it: a union round joins what the refusals handed back.
        union: async (epoch, offered, opts) => {
          const joined = await k.observer.unite(epoch, offered, opts);
          if (joined > 0) await k.epochs.collector.refinalize(epoch, opts);
          return joined;
        },
      });
      keepers.push(k);
    }
  });

  after(async () => {
    for (const k of keepers) {
      await k.signatures.stop();
      await k.exchange.stop();
      await k.submitter.stop();
      await k.p2p.node.stop();
      await k.chain.stop();
      k.epochs.close();
    }
    await node?.stop();
  });

  /** Every keeper holds the consumer's receipt for the provider's bytes and counted the provider its own way. */
  async function openEpoch(epoch: number, atMs: number): Promise<void> {
    const receipt = await signedReceipt(consumer, provider, BYTES, epoch, atMs);
    for (const [i, k] of keepers.entries()) {
      k.epochs.storeReceipt(receipt, atMs);
      const [s, f] = VIEWS[i]!;
      for (let n = 0; n < s; n++) k.epochs.counters.record(epoch, provider.id, true);
      for (let n = 0; n < f; n++) k.epochs.counters.record(epoch, provider.id, false);
    }
  }

  const close = (k: Keeper, endMs: number, signal: AbortSignal): Promise<EpochBundle> =>
    k.epochs.collector.close({ endMs, beforeFinalize: (epoch) => k.observer.observe(epoch, { signal }) });

  const leaves = (b: EpochBundle) => b.contributions.map((c) => [c.account, c.contribution]);

  /** The quorum's EpochApproved of `epoch`: its signers bit set and evidence hash. */
  async function approvalOf(epoch: number): Promise<{ signers: bigint; evidenceHash: string }> {
    const q = EpochQuorum__factory.connect(quorumAddress, rpcProvider(node.url));
    try {
      const [approved] = await q.queryFilter(q.filters.EpochApproved(epoch));
      assert.ok(approved, `EpochApproved(${epoch}) emitted`);
      return { signers: approved.args.signers, evidenceHash: approved.args.evidenceHash };
    } finally {
      q.runner?.provider?.destroy?.();
    }
  }

  async function approvedSigners(epoch: number): Promise<number> {
    const { signers } = await approvalOf(epoch);
    return [0, 1, 2].filter((i) => (signers >> BigInt(i)) & 1n).length;
  }

  it("a keeper that sealed a smaller observation set rebuilds C_i from the submitter's and signs: 3 of 3 commit", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    await openEpoch(1, 1_500);
    const signal = AbortSignal.timeout(60_000);
    // B reaches nobody during its gather and seals its own observation only; A and C pull everyone's.
    b.isolated = true;
    const bundleB = await close(b, 2_000, signal);
    b.isolated = false;
    const [bundleA, bundleC] = await Promise.all([close(a, 2_000, signal), close(c, 2_000, signal)]);
    assert.equal(b.observer.observationsOf(1).length, 1, "B sealed its own observation only");
    assert.equal(a.observer.observationsOf(1).length, 3, "A sealed all three");
    // f = 1 over A's set: ratios 8/10 (C), 5/10 (A), 0 (B) → A's (5, 5): C_i = 11 000 · 6/11. B's set has one
    // observer, so no merged outcome: C_i keeps all its bytes, and B's reward root differs from A's.
    assert.deepEqual(leaves(bundleA), [[provider.address, 6_000n]]);
    assert.deepEqual(leaves(bundleB), [[provider.address, 11_000n]]);
    assert.deepEqual(bundleC, bundleA);
    assert.deepEqual(bundleA.reputation, [{ node: provider.address, successes: 5, failures: 5 }]);
    assert.deepEqual(bundleB.reputation, []);

    const built = await buildEpoch(bundleA);
    const result = await a.submitter.submit(built);
    assert.equal(result.rewardPool, "sent");
    assert.equal(await approvedSigners(1), 3, "B signed too");
    const { rewardPool, reputation } = a.chain.contracts;
    const [committed] = await rewardPool.epochOf(1);
    assert.equal(committed.root, built.rewardTree!.root);
    assert.equal(committed.totalContribution, 6_000n);
    const reported = await reputation.nodeOf(provider.address);
    assert.equal(reported.lastEpoch, 1n);
    assert.deepEqual([reported.successes, reported.failures], [5n, 5n]);
    assert.ok(b.signatures.stats.signed >= 1, "B's approver signed");
  });

  it("a submitter that left out a third keeper's observations is refused by a keeper holding them", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    await openEpoch(2, 2_500);
    const signal = AbortSignal.timeout(60_000);
    // B drops C's observations from whatever it pulls: over {A, B} the merged outcome is B's healthy (10, 0).
    b.drop.add(c.address);
    const [bundleA, bundleB] = await Promise.all([
      close(a, 3_000, signal),
      close(b, 3_000, signal),
      close(c, 3_000, signal),
    ]);
    b.drop.clear();
    assert.deepEqual(
      b.observer
        .observationsOf(2)
        .map((o) => o.observer)
        .sort(),
      [a.address, b.address].sort(),
      "B holds no observation of C's",
    );
    assert.deepEqual(bundleB.reputation, [{ node: provider.address, successes: 10, failures: 0 }]);
    assert.deepEqual(leaves(bundleB), [[provider.address, 11_000n]]);

    const refusedBefore = a.signatures.stats.refused;
    await assert.rejects(b.submitter.submit(await buildEpoch(bundleB)), (err: unknown) => {
      // The refusals hand C's observation back (a union round): B joins it and re-finalizes its epoch.
      assert.ok(err instanceof EpochReclosedError, String(err));
      const cause = err.cause;
      assert.ok(cause instanceof QuorumNotReachedError);
      const reasons = Object.entries(cause.refusals).map(([, why]) => why);
      assert.ok(
        reasons.some((r) =>
          r.includes(`of other quorum keepers that this keeper holds are left out (by ${c.address})`),
        ),
        `A names C's left-out observation: ${reasons.join(" | ")}`,
      );
      assert.ok(
        reasons.some((r) => /1 of this keeper's 1 observations are missing/.test(r)),
        `C misses its own: ${reasons.join(" | ")}`,
      );
      assert.equal(err.joined, 1);
      return true;
    });
    assert.equal(a.signatures.stats.refused, refusedBefore + 1);
    assert.equal(await a.chain.contracts.taskLog.lastEpoch(), 1n, "nothing committed");
    assert.deepEqual(b.epochs.collector.bundle(2), bundleA, "B's epoch, re-finalized from the union, is A's");

    // A, with every keeper's observations, proposes: B (whose set A's contains) and C sign.
    const result = await a.submitter.submit(await buildEpoch(bundleA));
    assert.equal(result.rewardPool, "sent");
    assert.equal(await approvedSigners(2), 3);
    assert.equal((await a.chain.contracts.rewardPool.epochOf(2))[0].totalContribution, 6_000n);
  });

  it("keepers whose sets are the same sign the submitter's epoch even when their rebuild cannot reproduce it", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    await openEpoch(3, 3_500);
    // The provider re-signs its record just after the window with the longest lifetime a receiver accepts then: the
    // collectors freeze it and credit the provider, while the verifier's code (behind the rebuild) judges it at the
    // window's end and drops its receipts (review H-3). Before, every approver refused even its own epoch.
    record = await signPeerRecord(provider.key, {
      seq: 2n,
      issuedAtMs: 4_001,
      expiresAtMs: 4_001 + 24 * 3_600_000 + 5 * 60_000,
      capabilities: ["provider"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      load: 0,
      shard: 0,
      rewardAddress: provider.address,
      addrs: ["/ip4/127.0.0.1/tcp/1"],
    });
    const signal = AbortSignal.timeout(60_000);
    const [bundleA] = await Promise.all([close(a, 4_000, signal), close(b, 4_000, signal), close(c, 4_000, signal)]);
    assert.deepEqual(leaves(bundleA), [[provider.address, 6_000n]], "the collectors credit the provider");
    const result = await a.submitter.submit(await buildEpoch(bundleA));
    assert.equal(result.rewardPool, "sent");
    assert.equal(await approvedSigners(3), 3, "B and C signed");
  });

  /** `p`'s record as the keepers hold it from now on: signed inside the epoch, the usual lifetime. */
  async function plainRecord(seq: bigint, issuedAtMs: number, p: Peer = provider): Promise<void> {
    const signed = await signPeerRecord(p.key, {
      seq,
      issuedAtMs,
      expiresAtMs: issuedAtMs + 600_000,
      capabilities: ["provider"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      load: 0,
      shard: 0,
      rewardAddress: p.address,
      addrs: ["/ip4/127.0.0.1/tcp/1"],
    });
    if (p === provider) record = signed;
    else laterRecords.set(p.id, signed);
  }

  it("sets none of which contains the others: a union round joins them and the epoch commits (H-1)", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    await plainRecord(3n, 4_100);
    await openEpoch(4, 4_500);
    // Each keeper misses another one's observation (a keeper that handed each a different view, or two slow keepers
    // missed by different keepers): A holds {A, B}, B holds {B, C}, C holds {C, A}.
    a.drop.add(c.address);
    b.drop.add(a.address);
    c.drop.add(b.address);
    const signal = AbortSignal.timeout(60_000);
    const [bundleA, bundleB, bundleC] = await Promise.all([
      close(a, 5_000, signal),
      close(b, 5_000, signal),
      close(c, 5_000, signal),
    ]);
    for (const k of keepers) k.drop.clear();
    const observersOf = (k: Keeper) => new Set(k.observer.observationsOf(4).map((o) => o.observer));
    assert.deepEqual(observersOf(a), new Set([a.address, b.address]));
    assert.deepEqual(observersOf(b), new Set([b.address, c.address]));
    assert.deepEqual(observersOf(c), new Set([c.address, a.address]));
    // f = 1: over {A, B} and {B, C} the merged outcome is B's (10, 0), over {C, A} it is A's (5, 5).
    assert.deepEqual(bundleA.reputation, [{ node: provider.address, successes: 10, failures: 0 }]);
    assert.deepEqual(bundleB.reputation, bundleA.reputation);
    assert.deepEqual(bundleC.reputation, [{ node: provider.address, successes: 5, failures: 5 }]);

    // A's set lacks C's observation: B (which holds it) and C (its own) refuse, and hand it back.
    await assert.rejects(a.submitter.submit(await buildEpoch(bundleA)), (err: unknown) => {
      assert.ok(err instanceof EpochReclosedError, String(err));
      assert.equal(err.joined, 1, "C's observation joined A's set");
      return true;
    });
    assert.equal(await a.chain.contracts.taskLog.lastEpoch(), 3n, "nothing committed yet");
    assert.deepEqual(observersOf(a), new Set([a.address, b.address, c.address]));
    // A's epoch re-finalized from the union: A's (5, 5) is the second-worst of three views.
    const union = a.epochs.collector.bundle(4);
    assert.deepEqual(union.reputation, [{ node: provider.address, successes: 5, failures: 5 }]);
    assert.deepEqual(leaves(union), [[provider.address, 6_000n]]);

    // The union contains B's and C's sets: both rebuild from it and sign.
    const built = await buildEpoch(union);
    const result = await a.submitter.submit(built);
    assert.equal(result.rewardPool, "sent");
    assert.equal(await approvedSigners(4), 3, "B and C signed the union's epoch");
    assert.equal((await a.chain.contracts.rewardPool.epochOf(4))[0].root, built.rewardTree!.root);
    assert.equal((await a.chain.contracts.reputation.nodeOf(provider.address)).lastEpoch, 4n, "reported");
    // The approved evidence hash binds the union, the set the epoch was re-finalized from (M-3), not A's first set.
    const approved = await approvalOf(4);
    const receipts = a.epochs.collector.receiptHashes(4);
    const unionSet = a.observer.observationsOf(4);
    assert.equal(approved.evidenceHash, evidenceHashOf(receipts, observationSetHash(unionSet)));
    assert.notEqual(approved.evidenceHash, evidenceHashOf(receipts, bundleA.observationsHash));
    assert.notEqual(approved.evidenceHash, evidenceHashOf(receipts));
  });

  it("after signing another keeper's rebuild, a keeper re-finalizes from the committed set: its next epoch builds the same root (H-2)", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    // Epoch 5: a newcomer serves bytes at every keeper; A's and C's audits of it fail (3 of 3 each), B audits
    // nothing. B reaches nobody during its gather: under its own set alone the newcomer keeps its credit and a leaf
    // index; under the full set (f + 1 = 2 failing auditors) it loses the epoch's credit and has no leaf.
    await plainRecord(4n, 5_100);
    await plainRecord(1n, 5_100, newcomer);
    await openEpoch(5, 5_500);
    const receipt = await signedReceipt(consumer, newcomer, BYTES, 5, 5_600);
    for (const k of keepers) {
      k.epochs.storeReceipt(receipt, 5_600);
      for (let n = 0; n < 4; n++) k.epochs.counters.record(5, newcomer.id, true);
    }
    a.audits = await failedAudits(a, newcomer, 5, 5_700);
    c.audits = await failedAudits(c, newcomer, 5, 5_700);
    const signal = AbortSignal.timeout(60_000);
    b.isolated = true;
    const ownB = await close(b, 6_000, signal);
    b.isolated = false;
    const [bundleA] = await Promise.all([close(a, 6_000, signal), close(c, 6_000, signal)]);
    for (const k of keepers) k.audits = [];
    assert.deepEqual(
      leaves(bundleA).map(([account]) => account),
      [provider.address],
      "under the full set the newcomer has no leaf",
    );
    assert.ok(
      leaves(ownB).some(([account]) => account === newcomer.address),
      "under B's own set the newcomer has a leaf",
    );
    assert.notEqual(b.epochs.collector.indexOf(newcomer.address), undefined, "B handed the newcomer an index");

    const built5 = await buildEpoch(bundleA);
    assert.equal((await a.submitter.submit(built5)).rewardPool, "sent");
    assert.equal(await approvedSigners(5), 3, "B signed A's epoch rebuilt from A's set");

    // The commitment is on chain and differs from B's own epoch 5: B adopts the chain's view (EvidenceAdopter, wired
    // as keeper/components.ts wires it, reading A's publication) and makes the set it signed under its own.
    const [onChain] = await b.chain.contracts.rewardPool.epochOf(5);
    assert.notEqual((await buildEpoch(ownB)).rewardTree!.root, onChain.root);
    // What B signed under is found by the approved evidence hash (it binds the set); a reward root would not tell
    // sets apart that differ in reports only (review 2026-11-30).
    const approvedEvidence = (await latestApproval(b.chain, 5))!.evidenceHash;
    assert.ok(b.approver.signedUnder(5, approvedEvidence) !== undefined);
    assert.equal(b.approver.signedUnder(5, onChain.root), undefined);
    const publishDir = await mkdtemp(path.join(tmpdir(), "lumora-after-commit-"));
    try {
      const evidence = { ...a.epochs.collector.evidence(5), ...a.observer.evidence(5) };
      await publishEpoch(built5, publishDir, { uri: "lumora:epoch/5", evidence });
      const adopter = new EvidenceAdopter({
        collector: b.epochs.collector,
        chain: b.chain,
        proofs: {
          fetchSummary: (_p, epoch) => readEpochSummary(publishDir, epoch),
          fetchEvidence: (_p, epoch) => readEpochEvidence(publishDir, epoch),
        },
        keepers: () => ["A"],
        logger: silent,
        afterCommit: (epoch, evidenceHash, opts) =>
          refinalizeFromCommitted(
            {
              logger: silent,
              signedUnder: (e, hash) => b.approver.signedUnder(e, hash),
              adoptSet: (e, set) => b.observer.adopt(e, set),
              refinalize: (e, o) => b.epochs.collector.refinalize(e, o),
            },
            epoch,
            evidenceHash,
            opts,
          ).then((bundle) => bundle !== undefined),
      });
      await adopter.adopt(5, { signal });
    } finally {
      await rm(publishDir, { recursive: true, force: true });
    }
    const again = b.epochs.collector.bundle(5);
    assert.equal((await buildEpoch(again)).rewardTree!.root, onChain.root, "B's epoch 5 is now the committed one");
    assert.equal(b.epochs.collector.indexOf(newcomer.address), undefined, "the newcomer's index handed back");

    // Epoch 6: a latecomer (a new account) serves bytes everywhere; every keeper gathers every observation.
    await plainRecord(1n, 6_100, latecomer);
    await openEpoch(6, 6_500);
    const late = await signedReceipt(consumer, latecomer, BYTES, 6, 6_600);
    for (const k of keepers) {
      k.epochs.storeReceipt(late, 6_600);
      for (let n = 0; n < 4; n++) k.epochs.counters.record(6, latecomer.id, true);
    }
    const [six] = await Promise.all(keepers.map((k) => close(k, 7_000, signal)));
    const roots = await Promise.all(
      keepers.map(async (k) => (await buildEpoch(k.epochs.collector.bundle(6))).rewardTree!.root),
    );
    assert.deepEqual(roots, [roots[0], roots[0], roots[0]], "every keeper builds one reward root for epoch 6");
    assert.equal((await a.submitter.submit(await buildEpoch(six!))).rewardPool, "sent");
    assert.equal(await approvedSigners(6), 3);
  });

  it("the closer settles a union round: it builds, publishes and submits the re-finalized epoch", async () => {
    const [a, b, c] = keepers as [Keeper, Keeper, Keeper];
    await plainRecord(5n, 7_100);
    await openEpoch(7, 7_500);
    a.drop.add(c.address);
    b.drop.add(a.address);
    c.drop.add(b.address);
    const signal = AbortSignal.timeout(60_000);
    await Promise.all(keepers.map((k) => close(k, 8_000, signal)));
    for (const k of keepers) k.drop.clear();
    assert.equal(a.observer.observationsOf(7).length, 2, "A's set lacks C's observation");

    // A's closer hands epoch 7 over (1–6 were handed over by the cases above, through A's submitter: the closer's
    // watermark says so).
    const publishDir = await mkdtemp(path.join(tmpdir(), "lumora-union-"));
    const closer = new EpochCloser(
      {
        collector: a.epochs.collector,
        store: a.epochs.store,
        logger: silent,
        evidenceOf: (epoch) => a.observer.evidence(epoch),
        submitter: a.submitter,
      },
      { publishDir, retryMs: 200 },
    );
    a.epochs.store.db
      .prepare("INSERT INTO epoch_settled (epoch, outcome, detail, settled_at) VALUES (6, 'submitted', NULL, ?)")
      .run(Date.now());
    try {
      await closer.start();
      await waitFor(
        () => closer.status().lastSettled >= 7,
        60_000,
        () => `epoch 7 settled (${JSON.stringify(closer.status())})`,
      );
      assert.equal(await approvedSigners(7), 3);
      const [onChain] = await a.chain.contracts.rewardPool.epochOf(7);
      const summary = await readEpochSummary(publishDir, 7);
      assert.equal(summary.rewards?.root, onChain.root, "what is published is what was committed");
      const evidence = await readFullEvidence(publishDir, 7);
      assert.deepEqual(
        new Set(evidence?.observations?.map((o) => o.observer)),
        new Set([a.address, b.address, c.address]),
        "the published evidence holds the union",
      );
    } finally {
      await closer.stop();
      await rm(publishDir, { recursive: true, force: true });
    }
  });

  /** `n` = 3 failed audits of `target` by keeper `k` in `epoch`, from `atMs`. */
  function failedAudits(k: Keeper, target: Peer, epoch: number, atMs: number): Promise<SignedAuditOutcome[]> {
    return Promise.all(
      [0, 1, 2].map((n) =>
        signAuditOutcome(k.p2p.privateKey, {
          auditor: k.p2p.node.peerId.toString(),
          provider: target.id,
          objectId: "ab".repeat(32),
          epoch,
          startedAtMs: atMs + n,
          bytes: 0,
          elapsedMs: 100,
          firstByteMs: -1,
          throughputBps: 0,
          announcedBps: 1_000_000,
          outcome: "unreachable",
          code: "UNREACHABLE",
        }),
      ),
    );
  }
});
