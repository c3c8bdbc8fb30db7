/**
 * The keeper quorum end to end on 127.0.0.1: a real Hardhat node with EpochQuorum (3 keepers, 2 signatures) holding
 * KEEPER_ROLE, three keepers with real libp2p nodes, stores and chain keys. The submitter signs its epoch and
 * gathers a second signature over `/lumora/epoch-sign/1.0.0`; a keeper signs only the commitment it built itself;
 * with one keeper down the other two still commit; without enough agreeing keepers nothing is committed. Signing
 * under the keepers' merged health observations (C_i and the reports rebuilt from the submitter's set) is
 * test/keeper/epochs/quorum/observations.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { ZeroHash } from "ethers";

import { Chain } from "../../../../keeper/chain/index.ts";
import { QuorumApprover } from "../../../../keeper/epochs/quorum/approve.ts";
import {
  commitmentDigest,
  packSignatures,
  quorumDomain,
  reportBatchesOf,
} from "../../../../keeper/epochs/quorum/commitment.ts";
import { QuorumNotReachedError } from "../../../../keeper/epochs/quorum/errors.ts";
import {
  EpochSignatures,
  QUORUM_PROTOCOL,
  decodeSignatureRequest,
  encodeSignatureRequest,
} from "../../../../keeper/epochs/quorum/protocol.ts";
import { EpochSubmitter, quorumCommitmentOf } from "../../../../keeper/epochs/submit/submitter.ts";
import type { BuiltEpoch } from "../../../../keeper/epochs/types.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import { readFrame, writeFrame } from "../../../../keeper/wire/index.ts";
import { EpochQuorum__factory } from "../../../../types/ethers-contracts/index.ts";
import {
  account,
  deployLumora,
  devWallet,
  makeBuiltEpoch,
  rpcProvider,
  startHardhatNode,
  type HardhatNode,
} from "../../chain/helpers.ts";
import { silent, startNode, type TestKeeper } from "../../helpers.ts";

const WALLETS = [devWallet(5), devWallet(6), devWallet(7)];
const SHAPE = { tasks: 6, contributors: 5, reports: 4 };

interface Keeper {
  address: string;
  p2p: TestKeeper;
  chain: Chain;
  store: Store;
  signatures: EpochSignatures;
  submitter: EpochSubmitter;
  /** What this keeper closed: epoch → its build. */
  closed: Map<number, BuiltEpoch>;
  up: boolean;
}

describe("keeper quorum: epochs committed with t of n keeper signatures", { timeout: 300_000 }, () => {
  let node: HardhatNode;
  let dir: string;
  let keepers: Keeper[] = [];
  let quorumAddress: string;

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-quorum-"));
    const { record } = await deployLumora(node.url, {
      keepers: [],
      fund: 10n ** 24n,
      quorum: { keepers: WALLETS.map((w) => w.address), threshold: 2 },
    });
    quorumAddress = record.contracts.EpochQuorum!;
    const nodes = await Promise.all(WALLETS.map(() => startNode()));
    const peerIds = nodes.map((n) => n.node.peerId.toString());
    // Everyone knows everyone's address (discovery's job in a keeper).
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.node.dial(b.node.getMultiaddrs()[0]!);
    keepers = await Promise.all(
      WALLETS.map(async (w, i) => {
        const chain = new Chain(
          { logger: silent },
          { rpcUrl: node.url, deployment: record, privateKey: w.privateKey, receiptPollMs: 50 },
        );
        await chain.start();
        const store = openStore(path.join(dir, `k${i}.db`));
        const closed = new Map<number, BuiltEpoch>();
        const approver = new QuorumApprover({
          chain,
          logger: silent,
          builtEpoch: async (epoch) => closed.get(epoch),
          commitmentOf: (built) => quorumCommitmentOf(built, record.contracts.RewardPool).commitment,
        });
        const signatures = new EpochSignatures(
          {
            node: nodes[i]!.node,
            logger: silent,
            isKeeper: (peerId) => peerIds.includes(peerId),
            keepers: () => peerIds.filter((p) => p !== peerIds[i]),
            approve: (request, opts) => approver.approve(request, opts),
            deployment: { chainId: record.chainId, quorum: quorumAddress },
          },
          { gatherTimeoutMs: 4_000, retryMs: 200 },
        );
        await signatures.start();
        const submitter = new EpochSubmitter({ chain, store, logger: silent, signatures });
        return { address: w.address, p2p: nodes[i]!, chain, store, signatures, submitter, closed, up: true };
      }),
    );
  });

  after(async () => {
    for (const k of keepers) {
      await k.signatures.stop();
      await k.submitter.stop();
      if (k.up) await k.p2p.node.stop();
      await k.chain.stop();
      k.store.close();
    }
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const quorum = () => EpochQuorum__factory.connect(quorumAddress, rpcProvider(node.url));

  it("the keepers hold no KEEPER_ROLE: only the quorum commits", async () => {
    const { taskLog } = keepers[0]!.chain.contracts;
    for (const k of keepers) assert.equal(await taskLog.hasRole(await taskLog.KEEPER_ROLE(), k.address), false);
    assert.equal(await taskLog.hasRole(await taskLog.KEEPER_ROLE(), quorumAddress), true);
  });

  it("builds the digest EpochQuorum computes, and a reports tree whose batches it accepts", async () => {
    const built = makeBuiltEpoch(1, { ...SHAPE, reports: 7 });
    const { commitment, reports } = quorumCommitmentOf(built, keepers[0]!.chain.deployment.contracts.RewardPool, {
      batchNodes: 3,
    });
    assert.equal(reports.batches.length, 3);
    const q = quorum();
    const domain = quorumDomain(keepers[0]!.chain.deployment.chainId, quorumAddress);
    assert.equal(commitmentDigest(domain, commitment), await q.digestOf(commitment));
    for (const [i, batch] of reports.batches.entries()) {
      assert.equal(reports.tree!.leafHash(i), await q.batchLeafOf(batch), `batch ${i}`);
    }
    assert.equal(reportBatchesOf([], 3).root, ZeroHash);
    q.runner?.provider?.destroy?.();
  });

  it("the request survives its encoding, and a request naming anything malformed is refused", () => {
    const { commitment } = quorumCommitmentOf(
      makeBuiltEpoch(3, SHAPE),
      keepers[0]!.chain.deployment.contracts.RewardPool,
    );
    const request = { chainId: 31337, quorum: quorumAddress, commitment };
    assert.deepEqual(decodeSignatureRequest(encodeSignatureRequest(request)), {
      ...request,
      commitment: {
        ...commitment,
        taskRoot: commitment.taskRoot.toLowerCase(),
        rewardRoot: commitment.rewardRoot.toLowerCase(),
        reportsRoot: commitment.reportsRoot.toLowerCase(),
        evidenceHash: commitment.evidenceHash.toLowerCase(),
      },
    });
    const json = JSON.parse(new TextDecoder().decode(encodeSignatureRequest(request))) as {
      commitment: Record<string, string>;
    };
    for (const [field, value] of [
      ["epoch", "-1"],
      ["taskCount", String(2n ** 64n)],
      ["taskRoot", "0x12"],
      ["taskUri", "x".repeat(600)],
    ] as const) {
      const bad = { ...json, commitment: { ...json.commitment, [field]: value } };
      assert.throws(
        () => decodeSignatureRequest(new TextEncoder().encode(JSON.stringify(bad))),
        { name: "QuorumProtocolError" },
        field,
      );
    }
  });

  it("commits epoch 1 with its own and a second keeper's signature (exactly the threshold), and a rerun sends nothing", async () => {
    const built = makeBuiltEpoch(1, SHAPE);
    for (const k of keepers) k.closed.set(1, built);
    const result = await keepers[0]!.submitter.submit(built);
    assert.equal(result.taskLog, "sent");
    assert.equal(result.rewardPool, "sent");
    assert.equal(result.reputation.sent, SHAPE.reports);
    const { taskLog, rewardPool } = keepers[0]!.chain.contracts;
    assert.equal(await taskLog.rootOf(1), result.taskRoot);
    assert.equal((await rewardPool.epochOf(1))[0].root, result.rewardRoot);
    const q = quorum();
    const [approved] = await q.queryFilter(q.filters.EpochApproved(1));
    assert.ok(approved, "EpochApproved emitted");
    const signers = [0, 1, 2].filter((i) => (approved.args.signers >> BigInt(i)) & 1n);
    assert.equal(signers.length, 2, "exactly the threshold of signatures");
    // A second submission finds everything on chain and sends nothing.
    const again = await keepers[1]!.submitter.submit(built);
    assert.equal(again.taskLog, "found");
    assert.equal(again.rewardPool, "found");
    assert.equal(again.reputation.found, SHAPE.reports);
    q.runner?.provider?.destroy?.();
  });

  it("a keeper whose own epoch differs refuses to sign: one keeper alone commits nothing", async () => {
    const built = makeBuiltEpoch(2, SHAPE);
    keepers[0]!.closed.set(2, built);
    // Keeper 1 counted other contributions (say the submitter dropped its receipts); keeper 2 has not closed yet.
    keepers[1]!.closed.set(2, makeBuiltEpoch(2, { ...SHAPE, contributors: 4 }));
    await assert.rejects(keepers[0]!.submitter.submit(built), (err: unknown) => {
      assert.ok(err instanceof QuorumNotReachedError, String(err));
      assert.equal(err.signed, 1);
      assert.equal(err.needed, 2);
      const reasons = Object.values(err.refusals).join(" | ");
      assert.match(reasons, /mismatch: differs from this keeper's epoch in rewardRoot, totalContribution/);
      assert.match(reasons, /not-closed/);
      return true;
    });
    assert.equal(await keepers[0]!.chain.contracts.taskLog.lastEpoch(), 1n);
    assert.ok(keepers[1]!.signatures.stats.refused >= 1);
  });

  it("with one keeper down, the other two still commit (and a takeover submitter gathers the same way)", async () => {
    const built = makeBuiltEpoch(2, SHAPE);
    keepers[1]!.closed.set(2, built);
    keepers[2]!.closed.set(2, built);
    await keepers[0]!.p2p.node.stop();
    keepers[0]!.up = false;
    // Keeper 2 takes the epoch over; keeper 0 (designated, say) is down and cannot sign.
    const result = await keepers[2]!.submitter.submit(built);
    assert.equal(result.taskLog, "sent");
    assert.equal(await keepers[2]!.chain.contracts.taskLog.rootOf(2), result.taskRoot);
  });

  it("refuses a stranger's request without reading it", async () => {
    const stranger = await startNode();
    try {
      const target = keepers[1]!.p2p.node;
      const stream = await stranger.node.dialProtocol(target.getMultiaddrs()[0]!, QUORUM_PROTOCOL);
      const { commitment } = quorumCommitmentOf(
        makeBuiltEpoch(2, SHAPE),
        keepers[1]!.chain.deployment.contracts.RewardPool,
      );
      await writeFrame(stream, encodeSignatureRequest({ chainId: 31337, quorum: quorumAddress, commitment }), 4096);
      const answer = JSON.parse(new TextDecoder().decode((await readFrame(stream, 512))!)) as { code: string };
      assert.equal(answer.code, "not-a-keeper");
      assert.ok(keepers[1]!.signatures.stats.refusedStrangers >= 1);
    } finally {
      await stranger.node.stop();
    }
  });

  it("a refusal's union observations are bounded: too many or malformed is a penalised protocol error", async () => {
    const [rogue, asker] = await Promise.all([startNode(), startNode()]);
    try {
      // The rogue keeper answers every request with a refusal whose observation list it picks.
      let observations: unknown[] = [];
      await rogue.node.handle(QUORUM_PROTOCOL, async (stream) => {
        await readFrame(stream, 4096);
        const body = new TextEncoder().encode(JSON.stringify({ error: "lacking", code: "mismatch", observations }));
        await writeFrame(stream, body, 8 * 1024 * 1024);
        await stream.close();
      });
      await asker.node.dial(rogue.node.getMultiaddrs()[0]!);
      const penalised: string[] = [];
      const client = new EpochSignatures(
        {
          node: asker.node,
          logger: silent,
          isKeeper: () => true,
          keepers: () => [rogue.node.peerId.toString()],
          deployment: { chainId: 31337, quorum: quorumAddress },
          penalise: (peerId, err) => penalised.push(`${peerId.toString()}: ${err.message}`),
        },
        { gatherTimeoutMs: 1_500, retryMs: 200 },
      );
      const { commitment } = quorumCommitmentOf(
        makeBuiltEpoch(9, SHAPE),
        keepers[0]!.chain.deployment.contracts.RewardPool,
      );
      const request = {
        commitment,
        digest: commitmentDigest(quorumDomain(31337, quorumAddress), commitment),
        threshold: 2,
        keepers: WALLETS.map((w) => w.address),
        have: new Map<string, string>(),
      };
      const refusedWith = async (list: unknown[]) => {
        observations = list;
        penalised.length = 0;
        const err = await client.gather(request).then(
          () => assert.fail("no quorum"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof QuorumNotReachedError, String(err));
        assert.deepEqual(err.offered, [], "nothing offered is kept");
        return Object.values(err.refusals).join(" | ");
      };
      // (A protocol error counts as unreachable and is asked again until the deadline; each answer is penalised.)
      assert.match(await refusedWith(Array.from({ length: 2049 }, () => ({}))), /at most 2048/);
      assert.ok(penalised.length >= 1 && penalised.every((p) => /at most 2048/.test(p)), penalised.join("\n"));
      assert.match(await refusedWith([{ epoch: "one" }]), /health observation invalid/);
      assert.ok(penalised.length >= 1 && penalised.every((p) => /observation invalid/.test(p)), penalised.join("\n"));
      // Past MAX_SIGN_REFUSAL_BYTES (~1 MiB) the answer is not read at all.
      assert.match(await refusedWith(Array.from({ length: 2000 }, () => ({ pad: "x".repeat(600) }))), /unreachable/);
    } finally {
      await Promise.all([rogue.node.stop(), asker.node.stop()]);
    }
  });

  it("packs signatures in ascending signer order", () => {
    const a = "0x" + "11".repeat(65);
    const b = "0x" + "22".repeat(65);
    const packed = packSignatures(
      new Map([
        [account(2), b],
        [account(1), a],
      ]),
    );
    const first = BigInt(account(1)) < BigInt(account(2)) ? a : b;
    assert.equal(packed.slice(0, 132), first);
  });
});
