/**
 * Two keepers close different windows (as rotation and restarts make them): A commits its view of epoch 1, which
 * counted a receipt B holds in its epoch 2. B adopts the chain's epoch 1 — its epoch 2 drops that receipt and is
 * re-finalized — and commits epoch 2: on chain every receipt is credited exactly once. Also: a receipt B counted
 * in epoch 1 that the chain's epoch 1 did not is released to B's next close, not lost. And under a keeper quorum,
 * only evidence whose hash the quorum approved is adopted: a keeper serving a root-matching summary with other
 * receipt hashes is passed over.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";

import { Chain } from "../../../keeper/chain/index.ts";
import { EvidenceAdopter, EvidenceUnavailableError } from "../../../keeper/epochs/adopt.ts";
import { EpochCloser } from "../../../keeper/epochs/closer.ts";
import { DirectoryProofSource } from "../../../keeper/epochs/proofs/source.ts";
import { EpochSubmitter } from "../../../keeper/epochs/submit/submitter.ts";
import { RewardPool__factory } from "../../../types/ethers-contracts/index.ts";
import { deployLumora, devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../chain/helpers.ts";
import { silent, waitFor } from "../helpers.ts";
import { peer, signedReceipt, world, type EpochWorld, type Peer } from "./fixtures.ts";

describe("epochs/adopt: the chain's view over each keeper's own", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let dir: string;
  const cleanups: Array<() => Promise<void> | void> = [];
  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-adopt-"));
  });
  after(async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("credits every receipt exactly once when two keepers' windows differ", async () => {
    const keyA = devWallet(3);
    const keyB = devWallet(4);
    const { record } = await deployLumora(node.url, { keepers: [keyA.address, keyB.address], fund: 10n ** 24n });
    const [consumer, p1, p2, p3] = await Promise.all([peer(0xc0), peer(0xa1), peer(0xa2), peer(0xa3)]);
    const genesisMs = Date.now() - 100_000;
    const make = async (name: string, key: typeof keyA, others: () => DirectoryProofSource) => {
      const w = world({ rewardPerEpoch: 10n ** 18n, genesisMs });
      for (const p of [consumer, p1, p2, p3]) w.addresses.set(p.id, p.address);
      const chain = new Chain(
        { logger: silent },
        { rpcUrl: node.url, deployment: record, privateKey: key.privateKey, receiptPollMs: 50 },
      );
      const submitter = new EpochSubmitter({ chain, store: w.store, logger: silent });
      const publishDir = path.join(dir, name);
      const adopter = new EvidenceAdopter({
        collector: w.collector,
        chain,
        // The other keeper's publication, as /lumora/proofs/1.0.0 serves it.
        proofs: {
          fetchSummary: (_p, epoch) => others().summary(epoch),
          fetchEvidence: (_p, epoch) => others().evidence(epoch),
        },
        keepers: () => ["other"],
        logger: silent,
      });
      const closer = new EpochCloser(
        {
          collector: w.collector,
          store: w.store,
          logger: silent,
          submitter,
          adopt: (epoch, opts) => adopter.adopt(epoch, opts),
        },
        { publishDir, retryMs: 100 },
      );
      cleanups.push(async () => {
        await closer.stop();
        await submitter.stop();
        await chain.stop();
        w.close();
      });
      return { w, closer, publishDir };
    };
    const a: { w: EpochWorld; closer: EpochCloser; publishDir: string } = await make(
      "a",
      keyA,
      () => new DirectoryProofSource(b.publishDir),
    );
    const b: { w: EpochWorld; closer: EpochCloser; publishDir: string } = await make(
      "b",
      keyB,
      () => new DirectoryProofSource(a.publishDir),
    );
    const stored = (p: Peer, bytes: number) => signedReceipt(consumer, p, bytes);
    const r1 = await stored(p1, 1_000);
    const r2 = await stored(p2, 20_000);
    const r3 = await stored(p3, 300_000);
    const r4 = await stored(p1, 4_000_000);
    const now = Date.now();

    // A's epoch 1 holds r1 and r2. B's epoch 1 holds r1 and r4 (A stores r4 only after its close), B's epoch 2
    // holds r2 (B stored it late) and r3.
    a.w.storeReceipt(r1, now - 90_000);
    a.w.storeReceipt(r2, now - 50_000);
    b.w.storeReceipt(r1, now - 90_000);
    b.w.storeReceipt(r4, now - 80_000);
    await a.closer.start();
    const aFirst = await a.closer.closeNow();
    assert.equal(aFirst.outcome, "submitted");
    a.w.storeReceipt(r4, Date.now());

    assert.equal(await b.closer.closeOnly(), 1); // not started: closed, hand-over later (as after a restart)
    const bOneEnd = b.w.collector.bundle(1).endMs;
    b.w.storeReceipt(r2, bOneEnd);
    b.w.storeReceipt(r3, bOneEnd);
    await waitFor(() => Date.now() > bOneEnd + 1, 5_000, "the clock to move past epoch 1's end");
    assert.equal(await b.closer.closeOnly(), 2);
    assert.deepEqual(
      b.w.collector.bundle(2).contributions.map((c) => c.contribution),
      [20_000n, 300_000n],
      "before adoption B's epoch 2 counts r2 and r3",
    );
    await b.closer.start();
    await waitFor(() => b.closer.status().pending.length === 0, 60_000, "B settles epochs 1 and 2");
    assert.equal(b.closer.status().lastSettled, 2);
    assert.deepEqual(b.closer.status().alarms, [], "adopted, not alarmed");

    // B's epoch 2 was re-finalized without r2 (the chain's epoch 1 counted it) and holds r3 and r4 (released).
    const bTwo = b.w.collector.bundle(2);
    const byAccount = new Map(bTwo.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(byAccount.get(p2.address), undefined, "r2 not counted again");
    assert.equal(byAccount.get(p3.address), 300_000n);
    assert.equal(b.w.collector.heldReceipts(), 1, "r4, counted by B's own epoch 1 but not by the chain's, is held");
    // A's second close would count r4; B mirrors nothing for it yet — A closes epoch 3 after B's epoch 2.
    const rpc = rpcProvider(node.url);
    cleanups.push(() => rpc.destroy());
    const pool = RewardPool__factory.connect(record.contracts.RewardPool, rpc);
    const published2 = JSON.parse(await readFile(path.join(b.publishDir, "2", "epoch.json"), "utf8")) as {
      rewards: { root: string; totalContribution: string };
    };
    assert.equal((await pool.epochOf(2))[0].root, published2.rewards.root, "chain epoch 2 = B's re-finalized view");
    assert.equal(published2.rewards.totalContribution, "300000");

    // B's next close credits r4 once; A, closing its epoch 2 later, adopts the chain's epoch 2 (B's) and 3.
    const bThree = await b.closer.closeNow();
    assert.deepEqual(
      bThree.built.bundle.contributions.map((c) => [c.account, c.contribution]),
      [[p1.address, 4_000_000n]],
      "r4 credited in B's next epoch",
    );
    // Chain totals: r1 + r2 (epoch 1) + r3 (epoch 2) + r4 (epoch 3), each once.
    let total = 0n;
    for (const e of [1, 2, 3]) total += (await pool.epochOf(e))[0].totalContribution;
    assert.equal(total, 1_000n + 20_000n + 300_000n + 4_000_000n, "every receipt credited exactly once on chain");
  });

  it("under a quorum, adopts only the receipt hashes the quorum approved", async () => {
    const keyA = devWallet(3);
    const keyB = devWallet(4);
    const { record } = await deployLumora(node.url, {
      keepers: [],
      fund: 10n ** 24n,
      quorum: { keepers: [keyA.address, keyB.address], threshold: 1 },
    });
    const [consumer, p1, p2] = await Promise.all([peer(0xc0), peer(0xa1), peer(0xa2)]);
    const w = world({ rewardPerEpoch: 10n ** 18n, genesisMs: Date.now() - 100_000 });
    for (const p of [consumer, p1, p2]) w.addresses.set(p.id, p.address);
    const chainA = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: keyA.privateKey, receiptPollMs: 50 },
    );
    const submitter = new EpochSubmitter({ chain: chainA, store: w.store, logger: silent });
    const publishDir = path.join(dir, "quorum-a");
    const closer = new EpochCloser(
      { collector: w.collector, store: w.store, logger: silent, submitter },
      { publishDir, retryMs: 100 },
    );
    cleanups.push(async () => {
      await closer.stop();
      await submitter.stop();
      await chainA.stop();
      w.close();
    });
    w.storeReceipt(await signedReceipt(consumer, p1, 1_000), Date.now() - 90_000);
    w.storeReceipt(await signedReceipt(consumer, p2, 20_000), Date.now() - 50_000);
    await closer.start();
    assert.equal((await closer.closeNow()).outcome, "submitted");

    const published = new DirectoryProofSource(publishDir);
    const honest = await published.evidence(1);
    assert.equal(honest.length, 2);
    // The liar serves A's summary (its roots match the chain's) with one counted receipt left out: adopting that
    // list would release the receipt to B's next close, and the chain would pay it twice.
    const served: Record<string, { summary: typeof published.summary; evidence: () => Promise<string[]> }> = {
      liar: { summary: (e) => published.summary(e), evidence: async () => honest.slice(1) },
      honest: { summary: (e) => published.summary(e), evidence: async () => honest },
    };
    const chainB = new Chain({ logger: silent }, { rpcUrl: node.url, deployment: record, receiptPollMs: 50 });
    cleanups.push(() => chainB.stop());
    const wB = world({ rewardPerEpoch: 10n ** 18n, genesisMs: Date.now() - 100_000 });
    cleanups.push(() => wB.close());
    const adopterOf = (peers: string[]) =>
      new EvidenceAdopter({
        collector: wB.collector,
        chain: chainB,
        proofs: {
          fetchSummary: (p, epoch) => served[p as string]!.summary(epoch),
          fetchEvidence: (p) => served[p as string]!.evidence(),
        },
        keepers: () => peers,
        logger: silent,
      });
    await assert.rejects(adopterOf(["liar"]).committedEvidence(1), EvidenceUnavailableError);
    assert.deepEqual(
      [...(await adopterOf(["liar", "honest"]).committedEvidence(1))].sort(),
      [...honest].sort(),
      "the list whose hash the quorum approved",
    );
  });
});
