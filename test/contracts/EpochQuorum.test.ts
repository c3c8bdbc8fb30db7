import { expect } from "chai";
import {
  Signature,
  TypedDataEncoder,
  Wallet,
  concat,
  dataSlice,
  id,
  recoverAddress,
  toBeHex,
  zeroPadValue,
} from "ethers";
import { network } from "hardhat";

import type { EpochQuorum } from "../../types/ethers-contracts/index.js";
import { createRandom } from "./helpers/random.js";
import {
  CHALLENGE_RESOLUTION_TYPES,
  EPOCH_COMMITMENT_TYPES,
  reportsTree,
  signCommitment,
  signResolution,
  type EpochCommitment,
} from "./helpers/quorum.ts";
import { deployQuorumSet } from "./helpers/quorum-deploy.ts";
import { buildDistribution } from "./helpers/rewards.ts";

const { ethers, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

const HOUR = 3600n;
const CHALLENGE_WINDOW = HOUR;
const CLAIM_PERIOD = 24n * HOUR;
const REWARD = 10n ** 21n;
const KEEPERS = 5;
const THRESHOLD = 3;

/** Five keepers' keys, fixed so the tests read the same every run; sorted by address like signatures must be. */
const keeperWallets = Array.from({ length: KEEPERS }, (_, i) => new Wallet(id(`lumora quorum keeper ${i}`))).sort(
  (a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1),
);

function packReport(node: string, successes: number, failures: number): string {
  return concat([node, toBeHex(successes, 4), toBeHex(failures, 4), "0x00000000"]);
}

async function deployFixture() {
  const [admin, guardian, stranger, challenger] = await ethers.getSigners();
  const set = await deployQuorumSet(ethers, {
    admin,
    guardian,
    challenger,
    keepers: keeperWallets.map((w) => w.address),
    threshold: THRESHOLD,
    challengeWindow: CHALLENGE_WINDOW,
    claimPeriod: CLAIM_PERIOD,
    supply: 10n ** 27n,
    fund: 100n * REWARD,
    bond: 10n ** 18n,
    challengerFunds: 10n ** 20n,
  });
  return { ...set, admin, guardian, stranger, challenger };
}

const distribution = buildDistribution(1n, [
  { account: "0x00000000000000000000000000000000000000a1", contribution: 3n },
  { account: "0x00000000000000000000000000000000000000a2", contribution: 1n },
]);

function commitmentOf(epoch: bigint, overrides: Partial<EpochCommitment> = {}): EpochCommitment {
  return {
    epoch,
    taskRoot: id(`tasks ${epoch}`),
    taskCount: 7n,
    taskUri: `lumora:epoch/${epoch}/tasks`,
    rewardRoot: buildDistribution(epoch, [{ account: "0x00000000000000000000000000000000000000a1", contribution: 3n }])
      .root,
    totalContribution: 3n,
    rewardTotal: REWARD,
    reportsRoot: "0x" + "00".repeat(32),
    evidenceHash: id(`evidence ${epoch}`),
    ...overrides,
  };
}

describe("EpochQuorum", function () {
  describe("commitEpoch", function () {
    it("commits an epoch to TaskLog, Reputation and RewardPool with 3 of 5 keeper signatures sent by anyone", async function () {
      const { quorum, taskLog, reputation, pool, stranger, domain } = await loadFixture(deployFixture);
      const node = "0x00000000000000000000000000000000000000b1";
      const batch = [packReport(node, 9, 1)];
      const reports = reportsTree([batch]);
      const c = commitmentOf(1n, { rewardRoot: distribution.root, reportsRoot: reports.root, totalContribution: 4n });
      const signers = [keeperWallets[0], keeperWallets[2], keeperWallets[4]];
      const signatures = await signCommitment(signers, domain, c);
      const digest = TypedDataEncoder.hash(domain, EPOCH_COMMITMENT_TYPES, c);

      await expect(quorum.connect(stranger).commitEpoch(c, batch, reports.proofOf(0), signatures))
        .to.emit(quorum, "EpochApproved")
        // Keepers were registered in ascending order: positions 0, 2 and 4 signed.
        .withArgs(1n, digest, c.evidenceHash, c.reportsRoot, 0b10101n)
        .and.to.emit(taskLog, "EpochCommitted")
        .withArgs(1n, c.taskRoot, c.taskCount, c.taskUri)
        .and.to.emit(pool, "EpochCommitted")
        .withArgs(1n, c.rewardRoot, 4n, REWARD)
        .and.to.emit(reputation, "NodeReported");
      expect(await taskLog.rootOf(1n)).to.equal(c.taskRoot);
      expect((await pool.epochOf(1n))[0].root).to.equal(c.rewardRoot);
      expect((await reputation.nodeOf(node)).lastEpoch).to.equal(1n);
      // A one-batch tree was applied whole: nothing stored for later batches.
      expect(await quorum.reportsRootOf(1n)).to.equal("0x" + "00".repeat(32));
      expect(await quorum.digestOf(c)).to.equal(digest);
    });

    it("accepts all five signatures, and an epoch without reports", async function () {
      const { quorum, pool, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      await expect(quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets, domain, c))).to.emit(
        pool,
        "EpochCommitted",
      );
    });

    it("refuses t − 1 signatures", async function () {
      const { quorum, taskLog, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      const signatures = await signCommitment(keeperWallets.slice(0, THRESHOLD - 1), domain, c);
      await expect(quorum.commitEpoch(c, [], [], signatures))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures")
        .withArgs(THRESHOLD - 1, THRESHOLD);
      await expect(quorum.commitEpoch(c, [], [], "0x"))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures")
        .withArgs(0, THRESHOLD);
      expect(await taskLog.lastEpoch()).to.equal(0n);
    });

    it("refuses the signature of a removed keeper, and counts the others", async function () {
      const { quorum, pool, admin, domain } = await loadFixture(deployFixture);
      const removed = keeperWallets[1];
      await expect(quorum.connect(admin).removeKeeper(removed.address))
        .to.emit(quorum, "KeeperRemoved")
        .withArgs(removed.address);
      const c = commitmentOf(1n);
      const withRemoved = await signCommitment(keeperWallets.slice(0, 3), domain, c);
      await expect(quorum.commitEpoch(c, [], [], withRemoved))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper")
        .withArgs(removed.address);
      const without = await signCommitment([keeperWallets[0], keeperWallets[2], keeperWallets[3]], domain, c);
      await expect(quorum.commitEpoch(c, [], [], without)).to.emit(pool, "EpochCommitted");
    });

    it("refuses signatures made for another chain id or another quorum contract", async function () {
      const { quorum, taskLog, reputation, pool, admin, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      const digest = await quorum.digestOf(c);
      for (const [what, other] of [
        ["chain id 1", { ...domain, chainId: 1n }],
        ["chain id 80002", { ...domain, chainId: 80002n }],
        ["another contract", { ...domain, verifyingContract: await pool.getAddress() }],
      ] as const) {
        const signatures = await signCommitment(keeperWallets.slice(0, 3), other, c);
        // Here the signature recovers an unrelated address, which no keeper set holds.
        const recovered = recoverAddress(digest, dataSlice(signatures, 0, 65));
        await expect(quorum.commitEpoch(c, [], [], signatures), what)
          .to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper")
          .withArgs(recovered);
      }
      // A second deployment with the same keepers: signatures for the first do not work on it, and back.
      const twin: EpochQuorum = await ethers.deployContract("EpochQuorum", [
        admin.address,
        await taskLog.getAddress(),
        await reputation.getAddress(),
        await pool.getAddress(),
        keeperWallets.map((w) => w.address),
        THRESHOLD,
      ]);
      for (const cx of [taskLog, reputation, pool]) await cx.grantRole(await cx.KEEPER_ROLE(), await twin.getAddress());
      const forFirst = await signCommitment(keeperWallets.slice(0, 3), domain, c);
      await expect(twin.commitEpoch(c, [], [], forFirst)).to.be.revertedWithCustomError(twin, "EpochQuorumNotKeeper");
      await expect(quorum.commitEpoch(c, [], [], forFirst)).to.emit(quorum, "EpochApproved");
    });

    it("refuses a repeated signer and signers out of ascending order", async function () {
      const { quorum, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      const one = await signCommitment([keeperWallets[0]], domain, c);
      const two = await signCommitment([keeperWallets[1]], domain, c);
      await expect(quorum.commitEpoch(c, [], [], concat([one, two, two])))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumSignersNotAscending")
        .withArgs(2, keeperWallets[1].address);
      await expect(quorum.commitEpoch(c, [], [], concat([one, one, one])))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumSignersNotAscending")
        .withArgs(1, keeperWallets[0].address);
      const descending = await signCommitment(keeperWallets.slice(0, 3).reverse(), domain, c, { order: "as-given" });
      await expect(quorum.commitEpoch(c, [], [], descending))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumSignersNotAscending")
        .withArgs(1, keeperWallets[1].address);
    });

    it("refuses signatures over a digest that differs in any field", async function () {
      const { quorum, taskLog, domain } = await loadFixture(deployFixture);
      const random = createRandom();
      const signed = commitmentOf(1n, { reportsRoot: id("reports") });
      const signatures = await signCommitment(keeperWallets.slice(0, 3), domain, signed);
      const changes: Partial<EpochCommitment>[] = [
        { epoch: 2n },
        { taskRoot: random.bytes32() },
        { taskCount: 8n },
        { taskUri: "ipfs://elsewhere" },
        { rewardRoot: random.bytes32() },
        { totalContribution: 4n },
        { rewardTotal: REWARD + 1n },
        { reportsRoot: random.bytes32() },
        { evidenceHash: random.bytes32() },
      ];
      for (const change of changes) {
        const submitted = { ...signed, ...change };
        await expect(
          quorum.commitEpoch(submitted, [], [], signatures),
          Object.keys(change)[0],
        ).to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper");
      }
      expect(await taskLog.lastEpoch()).to.equal(0n);
    });

    it("refuses malformed signatures and high-s (malleable) ones", async function () {
      const { quorum, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      const good = await signCommitment(keeperWallets.slice(0, 3), domain, c);
      await expect(quorum.commitEpoch(c, [], [], dataSlice(good, 1)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumMalformedSignatures")
        .withArgs(194);
      // The same signature with s' = n − s and v flipped: valid for ecrecover, refused as malleable.
      const first = Signature.from(dataSlice(good, 0, 65));
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const flipped = concat([
        first.r,
        zeroPadValue(toBeHex(n - BigInt(first.s)), 32),
        first.v === 27 ? "0x1c" : "0x1b",
      ]);
      await expect(quorum.commitEpoch(c, [], [], concat([flipped, dataSlice(good, 65)])))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidSignature")
        .withArgs(0);
    });

    it("leaves the keepers' own keys without any role: a keeper alone commits nothing", async function () {
      const { taskLog, pool, reputation } = await loadFixture(deployFixture);
      for (const c of [taskLog, pool, reputation]) {
        expect(await c.hasRole(await c.KEEPER_ROLE(), keeperWallets[0].address)).to.equal(false);
      }
    });

    it("commits nothing anywhere when one contract refuses (a paused pool)", async function () {
      const { quorum, taskLog, pool, guardian, domain } = await loadFixture(deployFixture);
      await pool.connect(guardian).pause();
      const c = commitmentOf(1n);
      await expect(
        quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c)),
      ).to.be.revertedWithCustomError(pool, "RewardPoolPaused");
      expect(await taskLog.lastEpoch()).to.equal(0n);
    });
  });

  describe("reports in several batches", function () {
    it("applies the first batch at commit and the others by anyone with their proofs, each once", async function () {
      const { quorum, reputation, stranger, domain } = await loadFixture(deployFixture);
      const random = createRandom();
      const nodes = Array.from({ length: 5 }, () => random.address()).sort();
      const batches = [
        [packReport(nodes[0], 1, 0), packReport(nodes[1], 2, 0)],
        [packReport(nodes[2], 3, 0), packReport(nodes[3], 4, 1)],
        [packReport(nodes[4], 5, 0)],
      ];
      const tree = reportsTree(batches);
      const c = commitmentOf(1n, { reportsRoot: tree.root });
      const signatures = await signCommitment(keeperWallets.slice(1, 4), domain, c);
      await expect(quorum.commitEpoch(c, batches[0], tree.proofOf(0), signatures)).to.emit(quorum, "EpochApproved");
      expect(await quorum.reportsRootOf(1n)).to.equal(tree.root);
      // A batch that is not in the signed tree.
      await expect(quorum.connect(stranger).applyReports(1n, [packReport(nodes[2], 99, 0)], tree.proofOf(1)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidReports")
        .withArgs(1n);
      await quorum.connect(stranger).applyReports(1n, batches[2], tree.proofOf(2));
      await quorum.connect(stranger).applyReports(1n, batches[1], tree.proofOf(1));
      for (const [i, node] of nodes.entries()) {
        expect((await reputation.nodeOf(node)).lastEpoch).to.equal(1n, `node ${i}`);
      }
      await expect(quorum.applyReports(1n, batches[1], tree.proofOf(1)))
        .to.be.revertedWithCustomError(reputation, "ReputationNodeAlreadyReported")
        .withArgs(nodes[2], 1n);
      // An epoch that was never approved has no root.
      await expect(quorum.applyReports(2n, batches[1], tree.proofOf(1)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidReports")
        .withArgs(2n);
    });

    it("stores the root when the commitment carries no batch, and takes every batch later", async function () {
      const { quorum, reputation, domain } = await loadFixture(deployFixture);
      const node = "0x00000000000000000000000000000000000000b7";
      const batch = [packReport(node, 4, 0)];
      const tree = reportsTree([batch]);
      const c = commitmentOf(1n, { reportsRoot: tree.root });
      await quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c));
      expect(await quorum.reportsRootOf(1n)).to.equal(tree.root);
      expect((await reputation.nodeOf(node)).lastEpoch).to.equal(0n);
      await expect(quorum.applyReports(1n, batch, tree.proofOf(0))).to.emit(reputation, "NodeReported");
      expect((await reputation.nodeOf(node)).lastEpoch).to.equal(1n);
    });

    it("refuses reports for a commitment without a reports root", async function () {
      const { quorum, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      const batch = [packReport("0x00000000000000000000000000000000000000b1", 1, 0)];
      await expect(quorum.commitEpoch(c, batch, [], await signCommitment(keeperWallets.slice(0, 3), domain, c)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidReports")
        .withArgs(1n);
    });
  });

  describe("guardian veto and open challenge, unchanged", function () {
    it("lets the guardian veto a quorum's epoch and a new quorum commit the corrected rewards", async function () {
      const { quorum, pool, guardian, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      await quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c));
      await expect(pool.connect(guardian).vetoEpoch(1n)).to.emit(pool, "EpochVetoed");
      const corrected = { ...c, rewardRoot: distribution.root, totalContribution: 4n, evidenceHash: id("fixed") };
      // The TaskLog commitment is immutable: a recommit naming another task root is refused.
      const wrongTasks = { ...corrected, taskRoot: id("other tasks") };
      await expect(
        quorum.recommitRewards(wrongTasks, await signCommitment(keeperWallets.slice(0, 3), domain, wrongTasks)),
      )
        .to.be.revertedWithCustomError(quorum, "EpochQuorumTaskLogMismatch")
        .withArgs(1n);
      await expect(
        quorum.recommitRewards(corrected, await signCommitment(keeperWallets.slice(0, 2), domain, corrected)),
      ).to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures");
      await expect(quorum.recommitRewards(corrected, await signCommitment(keeperWallets.slice(2), domain, corrected)))
        .to.emit(pool, "EpochCommitted")
        .withArgs(1n, distribution.root, 4n, REWARD);
      expect(await pool.statusOf(1n)).to.equal(1n);
    });

    it("lets anyone challenge a quorum's epoch during its window", async function () {
      const { quorum, pool, challenger, guardian, domain } = await loadFixture(deployFixture);
      const c = commitmentOf(1n);
      await quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c));
      await time.increase(CHALLENGE_WINDOW / 2n);
      await expect(pool.connect(challenger).challengeEpoch(1n)).to.emit(pool, "EpochChallenged");
      expect(await pool.statusOf(1n)).to.equal(5n);
      await expect(pool.connect(guardian).upholdChallenge(1n)).to.emit(pool, "ChallengeUpheld");
    });
  });

  describe("challenge resolution by a keeper supermajority", function () {
    const BOND = 10n ** 18n;
    const CHALLENGE_REWARD = 5n * 10n ** 17n;

    /** Epoch 1 committed by a quorum and challenged (challenge id 1), with a challenge reward set. */
    async function challengedFixture() {
      const base = await deployFixture();
      const { quorum, pool, admin, challenger, domain } = base;
      await pool.connect(admin).setChallengeTerms(BOND, CHALLENGE_REWARD);
      const c = commitmentOf(1n, { rewardRoot: distribution.root, totalContribution: 4n });
      await quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c));
      await pool.connect(challenger).challengeEpoch(1n);
      return { ...base, commitment: c };
    }

    it("needs max(threshold, ⌈2n/3⌉) signatures", async function () {
      const { quorum, admin } = await loadFixture(deployFixture);
      expect(await quorum.supermajority()).to.equal(4n); // n = 5, t = 3: ⌈10/3⌉ = 4
      await quorum.connect(admin).setThreshold(5);
      expect(await quorum.supermajority()).to.equal(5n); // never below the threshold
      await quorum.connect(admin).setThreshold(1);
      expect(await quorum.supermajority()).to.equal(4n);
      await quorum.connect(admin).removeKeeper(keeperWallets[4].address);
      expect(await quorum.supermajority()).to.equal(3n); // n = 4: ⌈8/3⌉ = 3
      await quorum.connect(admin).removeKeeper(keeperWallets[3].address);
      expect(await quorum.supermajority()).to.equal(2n); // n = 3: 2
      await quorum.connect(admin).addKeeper(Wallet.createRandom().address);
      await quorum.connect(admin).addKeeper(Wallet.createRandom().address);
      await quorum.connect(admin).addKeeper(Wallet.createRandom().address);
      expect(await quorum.supermajority()).to.equal(4n); // n = 6: 4
    });

    it("upholds a challenge with 4 of 5 signatures sent by anyone: the epoch is vetoed, the challenger gets its bond back (the reward is the guardian's to give)", async function () {
      const { quorum, pool, token, stranger, challenger, domain } = await loadFixture(challengedFixture);
      expect(await pool.challengeOf(1n)).to.deep.equal([challenger.address, BOND, 1n]);
      const resolution = { epoch: 1n, challengeId: 1n, upheld: true };
      const signers = [keeperWallets[0], keeperWallets[1], keeperWallets[3], keeperWallets[4]];
      const digest = TypedDataEncoder.hash(domain, CHALLENGE_RESOLUTION_TYPES, resolution);
      expect(await quorum.resolutionDigestOf(1n, 1n, true)).to.equal(digest);
      const unreserved = await pool.accountedUnreserved();
      const tx = quorum
        .connect(stranger)
        .resolveChallenge(1n, 1n, true, await signResolution(signers, domain, resolution));
      await expect(tx)
        .to.emit(quorum, "ChallengeResolutionApproved")
        .withArgs(1n, 1n, true, digest, 0b11011n)
        .and.to.emit(pool, "ChallengeUpheld")
        .withArgs(1n, challenger.address, await quorum.getAddress(), BOND, 0n);
      await expect(tx).to.changeTokenBalances(ethers, token, [challenger, pool], [BOND, -BOND]);
      expect(await pool.statusOf(1n)).to.equal(3n); // Vetoed
      expect(await pool.bonded()).to.equal(0n);
      expect(await pool.accountedUnreserved()).to.equal(unreserved + REWARD);
      expect(await pool.challengeOf(1n)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });

    it("pays colluding keepers nothing for re-commit, challenge and uphold in a loop (review finding H1)", async function () {
      // A supermajority and an accomplice challenger: each round the keepers re-commit the vetoed epoch, the
      // accomplice challenges it and the keepers uphold. With a reward on that path each round would pay the
      // accomplice CHALLENGE_REWARD out of the unreserved balance, in one transaction if scripted.
      const { quorum, pool, token, challenger, domain, commitment } = await loadFixture(challengedFixture);
      const unreserved = await pool.accountedUnreserved();
      const balance = await token.balanceOf(challenger.address);
      for (let round = 1n; round <= 3n; round++) {
        const resolution = { epoch: 1n, challengeId: round, upheld: true };
        await quorum.resolveChallenge(
          1n,
          round,
          true,
          await signResolution(keeperWallets.slice(0, 4), domain, resolution),
        );
        expect(await pool.statusOf(1n)).to.equal(3n); // Vetoed
        const again = { ...commitment, evidenceHash: id(`round ${round}`) };
        await quorum.recommitRewards(again, await signCommitment(keeperWallets.slice(0, 3), domain, again));
        await pool.connect(challenger).challengeEpoch(1n);
      }
      // Each round the bond came back and went out again: the accomplice holds what it held with one bond posted.
      expect(await token.balanceOf(challenger.address)).to.equal(balance, "the accomplice gained nothing");
      expect(await pool.accountedUnreserved()).to.equal(unreserved, "the unreserved balance paid nothing out");
    });

    it("rejects a challenge with a supermajority: the bond is forfeited to the unreserved balance and the epoch resumes", async function () {
      const { quorum, pool, token, challenger, domain } = await loadFixture(challengedFixture);
      const resolution = { epoch: 1n, challengeId: 1n, upheld: false };
      const unreserved = await pool.accountedUnreserved();
      const tx = quorum.resolveChallenge(
        1n,
        1n,
        false,
        await signResolution(keeperWallets.slice(1), domain, resolution),
      );
      await expect(tx)
        .to.emit(pool, "ChallengeRejected")
        .withArgs(1n, challenger.address, await quorum.getAddress(), BOND);
      await expect(tx).to.changeTokenBalances(ethers, token, [challenger, pool], [0n, 0n]);
      expect(await pool.accountedUnreserved()).to.equal(unreserved + BOND);
      expect(await pool.bonded()).to.equal(0n);
      expect(await pool.statusOf(1n)).to.equal(1n); // Pending again: the window had not ended
    });

    it("refuses fewer signatures than the supermajority, even the commitment threshold", async function () {
      const { quorum, pool, domain } = await loadFixture(challengedFixture);
      const resolution = { epoch: 1n, challengeId: 1n, upheld: true };
      await expect(
        quorum.resolveChallenge(1n, 1n, true, await signResolution(keeperWallets.slice(0, 3), domain, resolution)),
      )
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures")
        .withArgs(3n, 4n);
      expect(await pool.statusOf(1n)).to.equal(5n); // still Challenged
    });

    it("refuses resolution signatures made for another chain id or another quorum contract", async function () {
      const { quorum, taskLog, reputation, pool, admin, domain } = await loadFixture(challengedFixture);
      const resolution = { epoch: 1n, challengeId: 1n, upheld: true };
      const otherChain = { ...domain, chainId: BigInt(domain.chainId!) + 1n };
      await expect(
        quorum.resolveChallenge(1n, 1n, true, await signResolution(keeperWallets.slice(0, 4), otherChain, resolution)),
      ).to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper");
      // A second quorum over the same pool, with the same keepers and KEEPER_ROLE: it refuses the first one's.
      const twin = await ethers.deployContract("EpochQuorum", [
        admin.address,
        await taskLog.getAddress(),
        await reputation.getAddress(),
        await pool.getAddress(),
        keeperWallets.map((w) => w.address),
        THRESHOLD,
      ]);
      await pool.grantRole(await pool.KEEPER_ROLE(), await twin.getAddress());
      const forFirst = await signResolution(keeperWallets.slice(0, 4), domain, resolution);
      await expect(twin.resolveChallenge(1n, 1n, true, forFirst)).to.be.revertedWithCustomError(
        twin,
        "EpochQuorumNotKeeper",
      );
      await expect(quorum.resolveChallenge(1n, 1n, true, forFirst)).to.emit(pool, "ChallengeUpheld");
    });

    it("does not count a removed keeper's signature", async function () {
      const { quorum, pool, admin, domain } = await loadFixture(challengedFixture);
      await quorum.connect(admin).removeKeeper(keeperWallets[4].address);
      expect(await quorum.supermajority()).to.equal(3n);
      const resolution = { epoch: 1n, challengeId: 1n, upheld: true };
      const withRemoved = [keeperWallets[0], keeperWallets[1], keeperWallets[4]];
      await expect(quorum.resolveChallenge(1n, 1n, true, await signResolution(withRemoved, domain, resolution)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper")
        .withArgs(keeperWallets[4].address);
      await expect(
        quorum.resolveChallenge(1n, 1n, true, await signResolution(keeperWallets.slice(0, 3), domain, resolution)),
      ).to.emit(pool, "ChallengeUpheld");
    });

    it("binds the signatures to the verdict, the epoch and the challenge: a resolution never replays on a later challenge", async function () {
      const { quorum, pool, challenger, domain } = await loadFixture(challengedFixture);
      const rejection = await signResolution(keeperWallets.slice(0, 4), domain, {
        epoch: 1n,
        challengeId: 1n,
        upheld: false,
      });
      await expect(quorum.resolveChallenge(1n, 1n, true, rejection)).to.be.revertedWithCustomError(
        quorum,
        "EpochQuorumNotKeeper",
      );
      await expect(quorum.resolveChallenge(2n, 1n, false, rejection)).to.be.revertedWithCustomError(
        quorum,
        "EpochQuorumNotKeeper",
      );
      await expect(quorum.resolveChallenge(1n, 1n, false, rejection)).to.emit(pool, "ChallengeRejected");
      // Challenged again within the window: the same epoch, a new challenge id. The old rejection does not apply.
      await pool.connect(challenger).challengeEpoch(1n);
      expect((await pool.challengeOf(1n)).id).to.equal(2n);
      await expect(quorum.resolveChallenge(1n, 1n, false, rejection))
        .to.be.revertedWithCustomError(pool, "RewardPoolWrongChallenge")
        .withArgs(1n, 1n, 2n);
      await expect(quorum.resolveChallenge(1n, 2n, false, rejection)).to.be.revertedWithCustomError(
        quorum,
        "EpochQuorumNotKeeper",
      );
      expect(await pool.statusOf(1n)).to.equal(5n);
    });

    it("refuses to resolve an epoch without an open challenge, and resolves while the pool is paused", async function () {
      const { quorum, pool, guardian, domain } = await loadFixture(challengedFixture);
      const stale = await signResolution(keeperWallets.slice(0, 4), domain, {
        epoch: 2n,
        challengeId: 1n,
        upheld: true,
      });
      await expect(quorum.resolveChallenge(2n, 1n, true, stale))
        .to.be.revertedWithCustomError(pool, "RewardPoolNotChallenged")
        .withArgs(2n);
      await pool.connect(guardian).pause();
      const upheld = await signResolution(keeperWallets.slice(0, 4), domain, {
        epoch: 1n,
        challengeId: 1n,
        upheld: true,
      });
      await expect(quorum.resolveChallenge(1n, 1n, true, upheld)).to.emit(pool, "ChallengeUpheld");
      // Resolved once: the same signatures again find no open challenge.
      await expect(quorum.resolveChallenge(1n, 1n, true, upheld))
        .to.be.revertedWithCustomError(pool, "RewardPoolNotChallenged")
        .withArgs(1n);
    });
  });

  describe("keeper set and threshold", function () {
    it("lets the admin add and remove keepers and set the threshold, with events", async function () {
      const { quorum, admin, domain } = await loadFixture(deployFixture);
      const newcomer = new Wallet(id("lumora quorum newcomer"));
      await expect(quorum.connect(admin).addKeeper(newcomer.address))
        .to.emit(quorum, "KeeperAdded")
        .withArgs(newcomer.address);
      await expect(quorum.connect(admin).setThreshold(4)).to.emit(quorum, "ThresholdSet").withArgs(4, 6);
      expect(await quorum.threshold()).to.equal(4n);
      expect(await quorum.isKeeper(newcomer.address)).to.equal(true);
      expect(await quorum.keepers()).to.have.members([...keeperWallets.map((w) => w.address), newcomer.address]);
      await expect(quorum.connect(admin).removeKeeper(keeperWallets[4].address))
        .to.emit(quorum, "KeeperRemoved")
        .withArgs(keeperWallets[4].address);
      expect(await quorum.keepers()).to.have.members([
        ...keeperWallets.slice(0, 4).map((w) => w.address),
        newcomer.address,
      ]);
      const c = commitmentOf(1n);
      await expect(quorum.commitEpoch(c, [], [], await signCommitment(keeperWallets.slice(0, 3), domain, c)))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures")
        .withArgs(3, 4);
      await expect(
        quorum.commitEpoch(c, [], [], await signCommitment([...keeperWallets.slice(0, 3), newcomer], domain, c)),
      ).to.emit(quorum, "EpochApproved");
    });

    it("keeps 1 ≤ threshold ≤ keepers", async function () {
      const { quorum, admin, taskLog, reputation, pool } = await loadFixture(deployFixture);
      await expect(quorum.connect(admin).setThreshold(0))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidThreshold")
        .withArgs(0, KEEPERS);
      await expect(quorum.connect(admin).setThreshold(KEEPERS + 1))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidThreshold")
        .withArgs(KEEPERS + 1, KEEPERS);
      await quorum.connect(admin).setThreshold(KEEPERS);
      // Removing a keeper would leave the threshold unreachable: lower it first.
      await expect(quorum.connect(admin).removeKeeper(keeperWallets[0].address))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidThreshold")
        .withArgs(KEEPERS, KEEPERS - 1);
      const deploy = (keepers: string[], t: number) =>
        ethers.deployContract("EpochQuorum", [admin.address, taskLog, reputation, pool, keepers, t]);
      for (const args of [
        [ethers.ZeroAddress, taskLog, reputation, pool],
        [admin.address, ethers.ZeroAddress, reputation, pool],
        [admin.address, taskLog, ethers.ZeroAddress, pool],
        [admin.address, taskLog, reputation, ethers.ZeroAddress],
      ]) {
        await expect(
          ethers.deployContract("EpochQuorum", [...args, [keeperWallets[0].address], 1]),
        ).to.be.revertedWithCustomError(quorum, "EpochQuorumZeroAddress");
      }
      await expect(deploy([], 0)).to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidThreshold").withArgs(0, 0);
      await expect(deploy([keeperWallets[0].address], 2))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumInvalidThreshold")
        .withArgs(2, 1);
    });

    it("refuses a repeated, zero or unknown keeper and a 65th keeper", async function () {
      const { quorum, admin } = await loadFixture(deployFixture);
      await expect(quorum.connect(admin).addKeeper(keeperWallets[0].address))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumAlreadyKeeper")
        .withArgs(keeperWallets[0].address);
      await expect(quorum.connect(admin).addKeeper(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        quorum,
        "EpochQuorumZeroAddress",
      );
      await expect(quorum.connect(admin).removeKeeper(admin.address))
        .to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper")
        .withArgs(admin.address);
      for (let i = KEEPERS; i < 64; i++) await quorum.connect(admin).addKeeper(new Wallet(id(`k${i}`)).address);
      await expect(quorum.connect(admin).addKeeper(new Wallet(id("k64")).address)).to.be.revertedWithCustomError(
        quorum,
        "EpochQuorumTooManyKeepers",
      );
    });

    it("refuses changes from anyone but the admin", async function () {
      const { quorum, stranger } = await loadFixture(deployFixture);
      const admin = await quorum.DEFAULT_ADMIN_ROLE();
      for (const call of [
        quorum.connect(stranger).addKeeper(stranger.address),
        quorum.connect(stranger).removeKeeper(keeperWallets[0].address),
        quorum.connect(stranger).setThreshold(1),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(quorum, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, admin);
      }
    });
  });
});
