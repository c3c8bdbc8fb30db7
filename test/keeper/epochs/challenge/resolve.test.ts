/**
 * Challenges resolved by the keepers over p2p, end to end on 127.0.0.1: a real Hardhat node with EpochQuorum (3 keepers,
 * 2 signatures an epoch, supermajority 2), three keepers with real libp2p nodes and chain keys. A bonded challenge of
 * an honest epoch is rejected — every keeper rebuilds the committed epoch as its own — and one of a commitment two
 * keepers' keys signed over other contributions is upheld (the epoch vetoed); in both, one keeper gathers the others'
 * signed verdicts over `/lumora/challenge-sign/1.0.0` and submits `EpochQuorum.resolveChallenge`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { Chain } from "../../../../keeper/chain/index.ts";
import { ChallengeJudge } from "../../../../keeper/epochs/challenge/judge.ts";
import {
  ChallengeSignatures,
  decodeChallengeRequest,
  encodeChallengeRequest,
} from "../../../../keeper/epochs/challenge/protocol.ts";
import { ChallengeResolver, approvedDigestOf } from "../../../../keeper/epochs/challenge/resolver.ts";
import { QuorumApprover } from "../../../../keeper/epochs/quorum/approve.ts";
import { quorumDomain } from "../../../../keeper/epochs/quorum/commitment.ts";
import { EpochSignatures } from "../../../../keeper/epochs/quorum/protocol.ts";
import { EpochSubmitter, quorumCommitmentOf } from "../../../../keeper/epochs/submit/submitter.ts";
import type { BuiltEpoch } from "../../../../keeper/epochs/types.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import {
  EpochQuorum__factory,
  LumoraToken__factory,
  RewardPool__factory,
} from "../../../../types/ethers-contracts/index.ts";
import {
  deployLumora,
  devWallet,
  makeBuiltEpoch,
  rpcProvider,
  startHardhatNode,
  type HardhatNode,
} from "../../chain/helpers.ts";
import { silent, startNode, type TestKeeper } from "../../helpers.ts";

const WALLETS = [devWallet(5), devWallet(6), devWallet(7)];
const SHAPE = { tasks: 4, contributors: 5, reports: 3 };
const BOND = 10n ** 20n;

interface Keeper {
  p2p: TestKeeper;
  chain: Chain;
  store: Store;
  closed: Map<number, BuiltEpoch>;
  signatures: EpochSignatures;
  verdicts: ChallengeSignatures;
  submitter: EpochSubmitter;
  resolver: ChallengeResolver;
}

describe("keeper quorum: challenges resolved by a keeper supermajority over p2p", { timeout: 300_000 }, () => {
  let node: HardhatNode;
  let dir: string;
  let quorumAddress: string;
  let poolAddress: string;
  let tokenAddress: string;
  const keepers: Keeper[] = [];

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-challenge-"));
    const { record, deployer } = await deployLumora(node.url, {
      keepers: [],
      fund: 10n ** 24n,
      quorum: { keepers: WALLETS.map((w) => w.address), threshold: 2 },
    });
    quorumAddress = record.contracts.EpochQuorum!;
    poolAddress = record.contracts.RewardPool;
    tokenAddress = record.contracts.LumoraToken;
    const provider = rpcProvider(node.url);
    try {
      const pool = RewardPool__factory.connect(poolAddress, deployer.connect(provider));
      await (await pool.setChallengeTerms(BOND, 10n ** 18n)).wait();
    } finally {
      provider.destroy();
    }
    const nodes = await Promise.all(WALLETS.map(() => startNode()));
    const peerIds = nodes.map((n) => n.node.peerId.toString());
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.node.dial(b.node.getMultiaddrs()[0]!);
    const domain = quorumDomain(record.chainId, quorumAddress);
    for (const [i, w] of WALLETS.entries()) {
      const chain = new Chain(
        { logger: silent },
        { rpcUrl: node.url, deployment: record, privateKey: w.privateKey, receiptPollMs: 50 },
      );
      await chain.start();
      const store = openStore(path.join(dir, `k${i}.db`));
      const closed = new Map<number, BuiltEpoch>();
      const commitmentOf = (built: BuiltEpoch) => quorumCommitmentOf(built, poolAddress).commitment;
      const approver = new QuorumApprover({
        chain,
        logger: silent,
        builtEpoch: async (e) => closed.get(e),
        commitmentOf,
      });
      const others = () => peerIds.filter((p) => p !== peerIds[i]);
      const signatures = new EpochSignatures(
        {
          node: nodes[i]!.node,
          logger: silent,
          isKeeper: (peerId) => peerIds.includes(peerId),
          keepers: others,
          approve: (request, opts) => approver.approve(request, opts),
          deployment: { chainId: record.chainId, quorum: quorumAddress },
        },
        { gatherTimeoutMs: 10_000, retryMs: 200 },
      );
      await signatures.start();
      const judge = new ChallengeJudge({
        domain,
        builtEpoch: async (e) => closed.get(e),
        commitmentOf,
        approvedDigest: (e, opts) => approvedDigestOf(chain, e, opts),
      });
      const k = { p2p: nodes[i]!, chain, store, closed, signatures } as Keeper;
      k.verdicts = new ChallengeSignatures(
        {
          node: nodes[i]!.node,
          logger: silent,
          isKeeper: (peerId) => peerIds.includes(peerId),
          keepers: others,
          verdict: (request, opts) => k.resolver.verdict(request, opts),
        },
        { gatherTimeoutMs: 20_000, retryMs: 200 },
      );
      await k.verdicts.start();
      k.resolver = new ChallengeResolver({ chain, logger: silent, judge, signatures: k.verdicts }, { pollMs: 0 });
      k.submitter = new EpochSubmitter({ chain, store, logger: silent, signatures });
      keepers.push(k);
    }
  });

  after(async () => {
    for (const k of keepers) {
      k.resolver.stop();
      await k.verdicts.stop();
      await k.signatures.stop();
      await k.submitter.stop();
      await k.p2p.node.stop();
      await k.chain.stop();
      k.store.close();
    }
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** The deployer (a watcher) posts the bond and challenges `epoch`. */
  async function challenge(epoch: number): Promise<void> {
    const provider = rpcProvider(node.url);
    try {
      const watcher = devWallet(0).connect(provider);
      await (await LumoraToken__factory.connect(tokenAddress, watcher).approve(poolAddress, BOND)).wait();
      await (await RewardPool__factory.connect(poolAddress, watcher).challengeEpoch(epoch)).wait();
    } finally {
      provider.destroy();
    }
  }

  async function resolution(epoch: number): Promise<{ upheld: boolean; signers: number }> {
    const provider = rpcProvider(node.url);
    try {
      const q = EpochQuorum__factory.connect(quorumAddress, provider);
      const [e] = await q.queryFilter(q.filters.ChallengeResolutionApproved(epoch));
      assert.ok(e, `ChallengeResolutionApproved(${epoch}) emitted`);
      return { upheld: e.args.upheld, signers: [0, 1, 2].filter((i) => (e.args.signers >> BigInt(i)) & 1n).length };
    } finally {
      provider.destroy();
    }
  }

  const statusOf = (epoch: number) => keepers[0]!.chain.contracts.rewardPool.statusOf(epoch);

  it("the request survives its encoding, and a malformed one is refused", () => {
    const request = { chainId: 31337, quorum: quorumAddress, epoch: 3, challengeId: 7n };
    assert.deepEqual(decodeChallengeRequest(encodeChallengeRequest(request)), request);
    for (const bad of [{ epoch: "0" }, { challengeId: String(2n ** 64n) }, { quorum: "0x12" }, { v: 2 }]) {
      const json = { ...JSON.parse(new TextDecoder().decode(encodeChallengeRequest(request))), ...bad };
      assert.throws(
        () => decodeChallengeRequest(new TextEncoder().encode(JSON.stringify(json))),
        { name: "QuorumProtocolError" },
        JSON.stringify(bad),
      );
    }
  });

  it("rejects a challenge of an honest epoch: every keeper rebuilds the committed epoch as its own", async () => {
    const built = makeBuiltEpoch(1, SHAPE);
    for (const k of keepers) k.closed.set(1, built);
    await keepers[0]!.submitter.submit(built);
    await challenge(1);
    assert.equal(await statusOf(1), 5n, "Challenged");

    const outcome = await keepers[1]!.resolver.resolve(1);
    assert.equal(outcome.status, "resolved");
    const rejected = await resolution(1);
    assert.equal(rejected.upheld, false);
    assert.ok(rejected.signers >= 2, `${rejected.signers} keeper signatures, the supermajority is 2`);
    assert.equal(await statusOf(1), 1n, "pending again");
    // Resolved: nothing left to do for any keeper.
    assert.deepEqual(await keepers[2]!.resolver.resolve(1), { status: "not-challenged" });
  });

  it("upholds a challenge of a commitment two keys signed over other contributions: the epoch is vetoed", async () => {
    const honest = makeBuiltEpoch(2, SHAPE);
    for (const k of keepers) k.closed.set(2, honest);
    // Keys 0 and 1 sign an epoch their keepers never built (the stolen or colluding keys' case): a submitter that
    // signs with key 0 and takes key 1's signature without asking anyone.
    const inflated = makeBuiltEpoch(2, { ...SHAPE, contributors: 4 });
    const colluder = WALLETS[1]!;
    const rogue = new EpochSubmitter({
      chain: keepers[0]!.chain,
      store: openStore(":memory:"),
      logger: silent,
      signatures: {
        gather: async (req) =>
          new Map([...req.have, [colluder.address, colluder.signingKey.sign(req.digest).serialized]]),
      },
    });
    await rogue.submit(inflated);
    await rogue.stop();
    assert.equal(
      (await keepers[0]!.chain.contracts.rewardPool.epochOf(2))[0].root,
      inflated.rewardTree!.root,
      "the inflated root is committed",
    );
    await challenge(2);

    // Keeper 2 watches the chain: its tick finds the challenge, judges it and gathers the others' verdicts.
    await keepers[2]!.resolver.tick();
    const upheld = await resolution(2);
    assert.equal(upheld.upheld, true);
    assert.ok(upheld.signers >= 2, `${upheld.signers} keeper signatures, the supermajority is 2`);
    assert.equal(await statusOf(2), 3n, "vetoed");
  });
});
