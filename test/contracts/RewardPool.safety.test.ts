/**
 * RewardPool under the review of issue 12 ("No single key moves the pool"): pauses stop the clocks, the challenge
 * window has a floor, claimMany cannot be griefed, duplicate leaf indices are refused, rewards are capped, and
 * anyone can challenge a pending epoch with a bond.
 */
import { expect } from "chai";
import { parseEther } from "ethers";
import { network } from "hardhat";

import type { LumoraToken, Reputation, RewardPool } from "../../types/ethers-contracts/index.js";
import { rewardTotalFor } from "../../keeper/epochs/collect/contribution.ts";
import { mulberry32, testSeed } from "../seed.ts";
import { buildDistribution, expectedReward, claimer, toClaimStruct, type RewardEntry } from "./helpers/rewards.ts";
import { FAST_FLAG_PARAMETERS } from "./helpers/reputation-parameters.ts";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const HOUR = 3600n;
const DAY = 24n * HOUR;
const CHALLENGE_WINDOW = 6n * HOUR;
const CLAIM_PERIOD = 7n * DAY;
const MIN_CHALLENGE_WINDOW = 10n * 60n;
const UINT96_MAX = 2n ** 96n - 1n;
const POOL_FUNDS = parseEther("10000");
const REWARD = parseEther("1000");
const BOND = parseEther("50");
const CHALLENGE_REWARD = parseEther("20");
const Status = { None: 0n, Pending: 1n, Claimable: 2n, Vetoed: 3n, Expired: 4n, Challenged: 5n } as const;

const REPUTATION_PARAMETERS = FAST_FLAG_PARAMETERS;

async function deployFixture() {
  const [admin, keeper, guardian, alice, bob, carol, challenger, outsider] = await ethers.getSigners();
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, parseEther("1000000")]);
  const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
  const pool: RewardPool = await ethers.deployContract("RewardPool", [
    admin.address,
    await token.getAddress(),
    await reputation.getAddress(),
    CHALLENGE_WINDOW,
    CLAIM_PERIOD,
  ]);
  await reputation.setFlagMirror(await pool.getAddress());
  await pool.grantRole(await pool.KEEPER_ROLE(), keeper.address);
  await pool.grantRole(await pool.GUARDIAN_ROLE(), guardian.address);
  await token.transfer(await pool.getAddress(), POOL_FUNDS);
  await token.transfer(challenger.address, 10n * BOND);
  await token.connect(challenger).approve(await pool.getAddress(), 10n * BOND);
  const entries: RewardEntry[] = [
    { account: alice.address, contribution: 3n },
    { account: bob.address, contribution: 5n },
    { account: carol.address, contribution: 7n },
  ];
  const commit = (epoch: bigint, rewardTotal = REWARD, list: readonly RewardEntry[] = entries) => {
    const distribution = buildDistribution(epoch, list);
    return {
      distribution,
      tx: pool.connect(keeper).commitEpoch(epoch, distribution.root, distribution.totalContribution, rewardTotal),
    };
  };
  return { token, reputation, pool, admin, keeper, guardian, alice, bob, carol, challenger, outsider, entries, commit };
}

/** The deployment with challenges open: bond {@link BOND}, reward {@link CHALLENGE_REWARD}. */
async function challengeFixture() {
  const f = await deployFixture();
  await f.pool.connect(f.admin).setChallengeTerms(BOND, CHALLENGE_REWARD);
  return f;
}

/** Checks the solvency invariant: balance ≥ Σ (rewardTotal − claimed) over live epochs + accounted unreserved + bonds. */
async function expectSolvent(token: LumoraToken, pool: RewardPool) {
  const [balance, unreserved, bonded, last] = await Promise.all([
    token.balanceOf(await pool.getAddress()),
    pool.accountedUnreserved(),
    pool.bonded(),
    pool.lastEpoch(),
  ]);
  let owed = 0n;
  for (let epoch = 1n; epoch <= last; epoch++) {
    const status = await pool.statusOf(epoch);
    if (status === 3n || status === 4n) continue; // vetoed, expired
    const [data, claimed] = await pool.epochOf(epoch);
    owed += data.rewardTotal - claimed;
  }
  expect(balance >= owed + unreserved + bonded, `balance ${balance} < ${owed} + ${unreserved} + ${bonded}`).to.equal(
    true,
  );
}

describe("RewardPool safety", function () {
  describe("pause stops the clocks", function () {
    it("moves the claim deadline by the paused time, so an epoch cannot be expired in the unpause block", async function () {
      const { pool, guardian, alice, commit, token } = await networkHelpers.loadFixture(deployFixture);
      const { distribution, tx } = commit(1n);
      await tx;
      const [data] = await pool.epochOf(1n);
      const deadline = data.claimableAt + CLAIM_PERIOD;
      await time.increaseTo(deadline - 60n);
      await pool.connect(guardian).pause();
      await time.increase(3n * DAY);
      // unpause and expireEpoch in one block: the holders must still have the 60 seconds left before the pause.
      await ethers.provider.send("evm_setAutomine", [false]);
      const unpause = await pool.connect(guardian).unpause();
      const expire = await pool.expireEpoch(1n, { gasLimit: 200_000 });
      await networkHelpers.mine();
      await ethers.provider.send("evm_setAutomine", [true]);
      expect((await unpause.wait())!.status).to.equal(1);
      const expireReceipt = await ethers.provider.getTransactionReceipt(expire.hash);
      expect(expireReceipt!.status, "expireEpoch in the unpause block reverts").to.equal(0);
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);
      const [moved] = await pool.epochOf(1n);
      const unpausedAt = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      // The pause lasted from (deadline - 60) + 1 to unpausedAt.
      expect(moved.claimableAt + CLAIM_PERIOD).to.equal(unpausedAt + 59n);
      const claim = distribution.claims[0];
      await expect(claimer(pool).claim(claim.epoch, claim.index, claim.account, claim.contribution, claim.proof))
        .to.emit(pool, "Claimed")
        .withArgs(1n, claim.index, alice.address, expectedReward(REWARD, 3n, 15n));
      await time.increaseTo(moved.claimableAt + CLAIM_PERIOD);
      await expect(pool.expireEpoch(1n)).to.emit(pool, "EpochExpired");
      await expectSolvent(token, pool);
    });

    it("keeps a pending epoch pending while paused, so the guardian can still veto it after its window", async function () {
      const { pool, guardian, commit } = await networkHelpers.loadFixture(deployFixture);
      await (await commit(1n).tx).wait();
      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt - 100n);
      await pool.connect(guardian).pause();
      await time.increase(2n * DAY);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.emit(pool, "EpochVetoed")
        .withArgs(1n, guardian.address, REWARD);
    });

    it("resumes the challenge window where it stopped after the unpause", async function () {
      const { pool, guardian, commit } = await networkHelpers.loadFixture(deployFixture);
      await (await commit(1n).tx).wait();
      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt - 100n);
      await pool.connect(guardian).pause(); // at claimableAt - 99: 99 seconds of window left
      await time.increase(DAY);
      await pool.connect(guardian).unpause();
      const unpausedAt = BigInt(await time.latest());
      const [moved] = await pool.epochOf(1n);
      expect(moved.claimableAt).to.equal(unpausedAt + 99n);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      await time.increaseTo(moved.claimableAt);
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);
    });

    it("reports the paused time so far and the moving deadlines while paused", async function () {
      const { pool, guardian, commit } = await networkHelpers.loadFixture(deployFixture);
      await (await commit(1n).tx).wait();
      const [before] = await pool.epochOf(1n);
      await pool.connect(guardian).pause();
      const pausedAt = BigInt(await time.latest());
      await time.increase(HOUR);
      const [during] = await pool.epochOf(1n);
      expect(during.claimableAt).to.equal(before.claimableAt + (BigInt(await time.latest()) - pausedAt));
      expect(await pool.pausedTotal()).to.equal(BigInt(await time.latest()) - pausedAt);
    });
  });

  describe("bounds", function () {
    it("saturates the paused-time counter at 2^31 - 1 seconds instead of refusing to unpause", async function () {
      const { pool, guardian } = await networkHelpers.loadFixture(deployFixture);
      // Slot 1 is the ledger: reserved (96 bits) · unreserved (96) · lastEpoch (32) · pause clock (32: paused bit
      // on top of 31 bits of paused seconds). A clock at 2^30 paused seconds whose current pause began in 1970
      // (pausedAt 0) adds up to more than 2^31 - 1 at the unpause.
      const address = await pool.getAddress();
      const word = BigInt(await ethers.provider.getStorage(address, 1n));
      await networkHelpers.setStorageAt(address, 1n, word | (1n << 255n) | ((2n ** 30n) << 224n));
      expect(await pool.paused()).to.equal(true);
      await expect(pool.connect(guardian).unpause()).to.emit(pool, "Unpaused");
      expect(await pool.pausedTotal()).to.equal(2n ** 31n - 1n);
      expect(await pool.paused()).to.equal(false);
    });

    it("refuses challenge terms that do not fit 96 bits", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(admin).setChallengeTerms(UINT96_MAX + 1n, 0n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidAmount")
        .withArgs(UINT96_MAX + 1n);
      await expect(pool.connect(admin).setChallengeTerms(BOND, UINT96_MAX + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidAmount")
        .withArgs(UINT96_MAX + 1n);
      await expect(pool.connect(admin).setChallengeTerms(UINT96_MAX, UINT96_MAX)).to.emit(pool, "ChallengeTermsSet");
    });

    it("keeps maxRewardTotal within the pool's 96-bit accounting when it holds more", async function () {
      const [admin] = await ethers.getSigners();
      const token = await ethers.deployContract("LumoraToken", [admin.address, 2n ** 100n]);
      const reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
      const pool = await ethers.deployContract("RewardPool", [
        admin.address,
        await token.getAddress(),
        await reputation.getAddress(),
        CHALLENGE_WINDOW,
        CLAIM_PERIOD,
      ]);
      await token.transfer(await pool.getAddress(), 2n ** 97n);
      expect(await pool.unreservedBalance()).to.equal(2n ** 97n);
      expect(await pool.maxRewardTotal()).to.equal(UINT96_MAX);
    });
  });

  describe("challenge window floor", function () {
    it("refuses a challenge window below MIN_CHALLENGE_WINDOW at deployment and later, and accepts the floor", async function () {
      const { pool, admin, token, reputation } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.MIN_CHALLENGE_WINDOW()).to.equal(MIN_CHALLENGE_WINDOW);
      const factory = await ethers.getContractFactory("RewardPool");
      for (const window of [0n, MIN_CHALLENGE_WINDOW - 1n]) {
        await expect(
          factory.deploy(admin.address, await token.getAddress(), await reputation.getAddress(), window, CLAIM_PERIOD),
        )
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
          .withArgs(window);
        await expect(pool.connect(admin).setChallengeWindow(window))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
          .withArgs(window);
      }
      await expect(pool.connect(admin).setChallengeWindow(MIN_CHALLENGE_WINDOW))
        .to.emit(pool, "ChallengeWindowSet")
        .withArgs(MIN_CHALLENGE_WINDOW);
    });
  });

  describe("claimMany against griefing", function () {
    it("pays the leaves still unclaimed and skips, with ClaimSkipped, a leaf someone else already claimed for the account", async function () {
      const { pool, token, alice, outsider, commit } = await networkHelpers.loadFixture(deployFixture);
      const first = commit(1n);
      await first.tx;
      const second = commit(2n, 2n * REWARD);
      await second.tx;
      await time.increaseTo((await pool.epochOf(2n))[0].claimableAt);
      const a1 = first.distribution.claims[0];
      const a2 = second.distribution.claims[0];
      // A third party claims alice's epoch-1 leaf on her behalf just before her claimMany.
      await claimer(pool.connect(outsider)).claim(a1.epoch, a1.index, a1.account, a1.contribution, a1.proof);
      const before = await token.balanceOf(alice.address);
      const tx = claimer(pool.connect(alice)).claimMany(alice.address, [a1, a2].map(toClaimStruct));
      await expect(tx).to.emit(pool, "ClaimSkipped").withArgs(1n, a1.index, alice.address);
      await expect(tx)
        .to.emit(pool, "Claimed")
        .withArgs(2n, a2.index, alice.address, expectedReward(2n * REWARD, 3n, 15n));
      expect(await token.balanceOf(alice.address)).to.equal(before + expectedReward(2n * REWARD, 3n, 15n));
      // Everything already claimed: nothing paid, both skipped, no revert.
      const again = claimer(pool.connect(alice)).claimMany(alice.address, [a1, a2].map(toClaimStruct));
      await expect(again).to.emit(pool, "ClaimSkipped").withArgs(2n, a2.index, alice.address);
      await expect(again).to.not.emit(pool, "Claimed");
      await expectSolvent(token, pool);
    });

    it("still reverts as a whole for an invalid proof among skipped leaves", async function () {
      const { pool, alice, commit } = await networkHelpers.loadFixture(deployFixture);
      const first = commit(1n);
      await first.tx;
      await time.increaseTo((await pool.epochOf(1n))[0].claimableAt);
      const a1 = first.distribution.claims[0];
      await claimer(pool).claim(a1.epoch, a1.index, a1.account, a1.contribution, a1.proof);
      await expect(claimer(pool).claimMany(alice.address, [{ ...toClaimStruct(a1), contribution: 4n }]))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(1n, alice.address);
    });
  });

  describe("duplicate leaf indices", function () {
    it("refuses, with RewardPoolAlreadyClaimed naming the index, a second leaf that repeats a claimed index", async function () {
      const { pool, alice, bob, commit } = await networkHelpers.loadFixture(deployFixture);
      // A faulty tree: alice and bob share index 0.
      const { distribution, tx } = commit(1n, REWARD, [
        { account: alice.address, contribution: 3n, index: 0n },
        { account: bob.address, contribution: 5n, index: 0n },
      ]);
      await tx;
      await time.increaseTo((await pool.epochOf(1n))[0].claimableAt);
      const [a, b] = distribution.claims;
      await claimer(pool).claim(a.epoch, a.index, a.account, a.contribution, a.proof);
      await expect(claimer(pool).claim(b.epoch, b.index, b.account, b.contribution, b.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolAlreadyClaimed")
        .withArgs(1n, 0n);
      // claimMany reports it as skipped for bob (the event names the index) and pays nothing.
      await expect(claimer(pool).claimMany(bob.address, [toClaimStruct(b)]))
        .to.emit(pool, "ClaimSkipped")
        .withArgs(1n, 0n, bob.address);
    });
  });

  describe("reward caps", function () {
    it("sets both caps with RewardCapsSet and refuses a share of 0 or above 10000 bps", async function () {
      const { pool, admin, outsider } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.rewardCap()).to.equal(UINT96_MAX);
      expect(await pool.rewardCapBps()).to.equal(10_000n);
      await expect(pool.connect(admin).setRewardCaps(REWARD, 2500))
        .to.emit(pool, "RewardCapsSet")
        .withArgs(REWARD, 2500n);
      for (const bps of [0n, 10_001n]) {
        await expect(pool.connect(admin).setRewardCaps(REWARD, bps))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidCap")
          .withArgs(REWARD, bps);
      }
      await expect(pool.connect(admin).setRewardCaps(0n, 2500))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidCap")
        .withArgs(0n, 2500n);
      await expect(pool.connect(outsider).setRewardCaps(REWARD, 2500)).to.be.revertedWithCustomError(
        pool,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("reverts a commitment above the absolute cap with the numbers, and accepts the cap exactly", async function () {
      const { pool, admin, commit } = await networkHelpers.loadFixture(deployFixture);
      await pool.connect(admin).setRewardCaps(REWARD, 10_000);
      await expect(commit(1n, REWARD + 1n).tx)
        .to.be.revertedWithCustomError(pool, "RewardPoolRewardAboveCap")
        .withArgs(1n, REWARD + 1n, REWARD);
      await expect(commit(1n, REWARD).tx).to.emit(pool, "EpochCommitted");
    });

    it("reverts a commitment above the share of the unreserved balance, counting unsynced transfers", async function () {
      const { pool, admin, token, commit } = await networkHelpers.loadFixture(deployFixture);
      await pool.connect(admin).setRewardCaps(UINT96_MAX, 1000); // 10 % of 10,000 LUM
      const share = POOL_FUNDS / 10n;
      expect(await pool.maxRewardTotal()).to.equal(share);
      await expect(commit(1n, share + 1n).tx)
        .to.be.revertedWithCustomError(pool, "RewardPoolRewardAboveShare")
        .withArgs(1n, share + 1n, POOL_FUNDS, 1000n);
      await expect(commit(1n, share).tx).to.emit(pool, "EpochCommitted");
      // 9,000 LUM left: 900 at most, whatever the keeper asks.
      expect(await pool.maxRewardTotal()).to.equal((POOL_FUNDS - share) / 10n);
      await token.transfer(await pool.getAddress(), parseEther("1000"));
      expect(await pool.maxRewardTotal()).to.equal(POOL_FUNDS / 10n);
      await expect(commit(2n, POOL_FUNDS / 10n).tx).to.emit(pool, "Synced");
    });

    it("never reverts the commitment of an honest keeper, whose R_total is min(rewardPerEpoch, maxRewardTotal)", async function () {
      const { pool, admin, token, commit } = await networkHelpers.loadFixture(deployFixture);
      const next = mulberry32(testSeed());
      const between = (low: bigint, high: bigint) =>
        low + (BigInt(Math.floor(next() * 2 ** 32)) * (high - low)) / 2n ** 32n;
      for (let epoch = 1n; epoch <= 12n; epoch++) {
        const cap = between(1n, REWARD * 2n);
        const bps = between(1n, 10_001n);
        await pool.connect(admin).setRewardCaps(cap, bps);
        // Plain transfers the pool has not booked yet count too.
        if (next() < 0.5) await token.transfer(await pool.getAddress(), between(0n, REWARD));
        const policy = { rewardPerEpoch: between(1n, REWARD * 3n) };
        const rewardTotal = rewardTotalFor(policy, await pool.maxRewardTotal(), 15n);
        const context = `epoch ${epoch}: cap ${cap}, ${bps} bps, asked ${policy.rewardPerEpoch}, got ${rewardTotal}`;
        expect(rewardTotal > 0n, context).to.equal(true);
        await expect(commit(epoch, rewardTotal).tx, context).to.emit(pool, "EpochCommitted");
      }
    });

    it("reports the absolute cap as maxRewardTotal when it is the tighter one", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      await pool.connect(admin).setRewardCaps(REWARD, 5000);
      expect(await pool.maxRewardTotal()).to.equal(REWARD);
    });
  });

  describe("challenges", function () {
    it("sets the terms with ChallengeTermsSet; a zero bond closes challenges", async function () {
      const { pool, admin, challenger, outsider, commit } = await networkHelpers.loadFixture(deployFixture);
      await (await commit(1n).tx).wait();
      expect(await pool.challengeBond()).to.equal(0n);
      await expect(pool.connect(challenger).challengeEpoch(1n)).to.be.revertedWithCustomError(
        pool,
        "RewardPoolChallengesClosed",
      );
      await expect(pool.connect(admin).setChallengeTerms(BOND, CHALLENGE_REWARD))
        .to.emit(pool, "ChallengeTermsSet")
        .withArgs(BOND, CHALLENGE_REWARD);
      expect(await pool.challengeBond()).to.equal(BOND);
      expect(await pool.challengeReward()).to.equal(CHALLENGE_REWARD);
      await expect(pool.connect(outsider).setChallengeTerms(BOND, 0n)).to.be.revertedWithCustomError(
        pool,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("freezes a challenged epoch: never claimable, not expirable, whatever the time", async function () {
      const { pool, token, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      const { distribution, tx } = commit(1n);
      await tx;
      const poolBalance = await token.balanceOf(await pool.getAddress());
      await expect(pool.connect(challenger).challengeEpoch(1n))
        .to.emit(pool, "EpochChallenged")
        .withArgs(1n, challenger.address, BOND);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(poolBalance + BOND);
      expect(await pool.bonded()).to.equal(BOND);
      expect(await pool.challengeOf(1n)).to.deep.equal([challenger.address, BOND, 1n]);
      expect(await pool.statusOf(1n)).to.equal(Status.Challenged);
      await time.increase(CHALLENGE_WINDOW + CLAIM_PERIOD + DAY);
      expect(await pool.statusOf(1n)).to.equal(Status.Challenged);
      const c = distribution.claims[0];
      await expect(claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochChallenged")
        .withArgs(1n);
      await expect(claimer(pool).claimMany(c.account, [toClaimStruct(c)]))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochChallenged")
        .withArgs(1n);
      await expect(pool.expireEpoch(1n)).to.be.revertedWithCustomError(pool, "RewardPoolEpochChallenged").withArgs(1n);
      await expect(pool.connect(challenger).challengeEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochChallenged")
        .withArgs(1n);
      // Bonds are neither reserved nor unreserved: the keeper cannot distribute them.
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS - REWARD);
      await expectSolvent(token, pool);
    });

    it("refuses a challenge of an epoch that is not pending", async function () {
      const { pool, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await expect(pool.connect(challenger).challengeEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch")
        .withArgs(1n);
      await (await commit(1n).tx).wait();
      await (await commit(2n).tx).wait();
      await pool.connect(guardian).vetoEpoch(2n);
      await expect(pool.connect(challenger).challengeEpoch(2n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochVetoed")
        .withArgs(2n);
      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt);
      await expect(pool.connect(challenger).challengeEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochNotPending")
        .withArgs(1n, data.claimableAt);
    });

    it("upholds a challenge: vetoes the epoch, returns the bond plus the reward from the unreserved balance", async function () {
      const { pool, token, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      await pool.connect(challenger).challengeEpoch(1n);
      const before = await token.balanceOf(challenger.address);
      await expect(pool.connect(guardian).upholdChallenge(1n))
        .to.emit(pool, "ChallengeUpheld")
        .withArgs(1n, challenger.address, guardian.address, BOND, CHALLENGE_REWARD)
        .and.to.emit(pool, "EpochVetoed")
        .withArgs(1n, guardian.address, REWARD);
      expect(await token.balanceOf(challenger.address)).to.equal(before + BOND + CHALLENGE_REWARD);
      expect(await pool.statusOf(1n)).to.equal(Status.Vetoed);
      expect(await pool.bonded()).to.equal(0n);
      expect(await pool.reserved()).to.equal(0n);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - CHALLENGE_REWARD);
      expect(await pool.challengeOf(1n)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
      await expectSolvent(token, pool);
      // The keeper recommits a corrected distribution.
      await expect(commit(1n).tx).to.emit(pool, "EpochCommitted");
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
    });

    it("upholds through vetoEpoch too, even after the window, and pays no more reward than is unreserved", async function () {
      const { pool, token, admin, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await pool.connect(admin).setChallengeTerms(BOND, POOL_FUNDS * 2n);
      await (await commit(1n, POOL_FUNDS).tx).wait();
      await pool.connect(challenger).challengeEpoch(1n);
      await time.increase(CHALLENGE_WINDOW * 2n);
      const before = await token.balanceOf(challenger.address);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.emit(pool, "ChallengeUpheld")
        .withArgs(1n, challenger.address, guardian.address, BOND, POOL_FUNDS);
      expect(await token.balanceOf(challenger.address)).to.equal(before + BOND + POOL_FUNDS);
      expect(await pool.accountedUnreserved()).to.equal(0n);
      await expectSolvent(token, pool);
    });

    it("rejects a challenge: the bond goes to the unreserved balance and the epoch resumes its window", async function () {
      const { pool, token, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      const [data] = await pool.epochOf(1n);
      await pool.connect(challenger).challengeEpoch(1n);
      await expect(pool.connect(guardian).rejectChallenge(1n))
        .to.emit(pool, "ChallengeRejected")
        .withArgs(1n, challenger.address, guardian.address, BOND);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      expect((await pool.epochOf(1n))[0].claimableAt).to.equal(data.claimableAt);
      expect(await pool.bonded()).to.equal(0n);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - REWARD + BOND);
      await expectSolvent(token, pool);
    });

    it("gives holders their whole claim period after a rejection that came past the window", async function () {
      const { pool, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      const { distribution, tx } = commit(1n);
      await tx;
      await pool.connect(challenger).challengeEpoch(1n);
      await time.increase(CLAIM_PERIOD * 2n);
      await pool.connect(guardian).rejectChallenge(1n);
      const rejectedAt = BigInt(await time.latest());
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);
      const [data] = await pool.epochOf(1n);
      expect(data.claimableAt).to.equal(rejectedAt);
      await expect(pool.expireEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning")
        .withArgs(1n, rejectedAt + CLAIM_PERIOD);
      const c = distribution.claims[1];
      await expect(claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof)).to.emit(pool, "Claimed");
    });

    it("resolves only challenged epochs, only by the guardian", async function () {
      const { pool, guardian, challenger, outsider, commit } = await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      for (const resolve of [pool.connect(guardian).upholdChallenge, pool.connect(guardian).rejectChallenge]) {
        await expect(resolve(1n)).to.be.revertedWithCustomError(pool, "RewardPoolNotChallenged").withArgs(1n);
      }
      await pool.connect(challenger).challengeEpoch(1n);
      const role = await pool.GUARDIAN_ROLE();
      for (const resolve of [pool.connect(outsider).upholdChallenge, pool.connect(outsider).rejectChallenge]) {
        await expect(resolve(1n))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(outsider.address, role);
      }
    });

    it("lets KEEPER_ROLE (the keeper quorum) resolve only the open challenge it names, and nobody else", async function () {
      const { pool, token, keeper, guardian, challenger, outsider, commit } =
        await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      await expect(pool.connect(keeper).resolveChallengeByKeepers(1n, 1n, true))
        .to.be.revertedWithCustomError(pool, "RewardPoolNotChallenged")
        .withArgs(1n);
      await expect(pool.connect(challenger).challengeEpoch(1n))
        .to.emit(pool, "EpochChallenged")
        .withArgs(1n, challenger.address, BOND);
      expect(await pool.challengeCount()).to.equal(1n);
      const role = await pool.KEEPER_ROLE();
      for (const signer of [outsider, guardian]) {
        await expect(pool.connect(signer).resolveChallengeByKeepers(1n, 1n, true))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(signer.address, role);
      }
      await expect(pool.connect(keeper).resolveChallengeByKeepers(1n, 2n, true))
        .to.be.revertedWithCustomError(pool, "RewardPoolWrongChallenge")
        .withArgs(1n, 2n, 1n);
      await expect(pool.connect(keeper).resolveChallengeByKeepers(1n, 1n, false))
        .to.emit(pool, "ChallengeRejected")
        .withArgs(1n, challenger.address, keeper.address, BOND);
      // Challenged again in the rest of the window: a new id, resolved by the keepers as upheld — the bond comes
      // back without the challenge reward, which only the guardian's uphold pays.
      await pool.connect(challenger).challengeEpoch(1n);
      expect((await pool.challengeOf(1n)).id).to.equal(2n);
      await expect(pool.connect(keeper).resolveChallengeByKeepers(1n, 2n, true))
        .to.emit(pool, "ChallengeUpheld")
        .withArgs(1n, challenger.address, keeper.address, BOND, 0n);
      expect(await pool.statusOf(1n)).to.equal(Status.Vetoed);
      await expectSolvent(token, pool);
    });

    it("accepts a challenge while paused and keeps it frozen through the unpause", async function () {
      const { pool, token, guardian, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      await pool.connect(guardian).pause();
      await expect(pool.connect(challenger).challengeEpoch(1n)).to.emit(pool, "EpochChallenged");
      await time.increase(CHALLENGE_WINDOW * 2n);
      await pool.connect(guardian).unpause();
      expect(await pool.statusOf(1n)).to.equal(Status.Challenged);
      await pool.connect(guardian).rejectChallenge(1n);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      await expectSolvent(token, pool);
    });

    it("keeps bonds out of sync and out of unreservedBalance", async function () {
      const { pool, token, challenger, commit } = await networkHelpers.loadFixture(challengeFixture);
      await (await commit(1n).tx).wait();
      await pool.connect(challenger).challengeEpoch(1n);
      await token.transfer(await pool.getAddress(), 7n);
      await expect(pool.sync()).to.emit(pool, "Synced").withArgs(7n);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - REWARD + 7n);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS - REWARD + 7n);
      await expectSolvent(token, pool);
    });
  });
});
