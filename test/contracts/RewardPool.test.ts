import { expect } from "chai";
import { AbiCoder, ZeroAddress, ZeroHash, keccak256, parseEther, toBeHex } from "ethers";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

import type { LumoraToken, Reputation, RewardPool } from "../../types/ethers-contracts/index.js";
import {
  buildDistribution,
  expectedReward,
  internalNodeOf,
  processProof,
  claimer,
  headerOf,
  toClaimStruct,
  type EpochDistribution,
  type RewardClaim,
  type RewardEntry,
} from "./helpers/rewards.ts";
import { FAST_FLAG_PARAMETERS } from "./helpers/reputation-parameters.ts";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const HOUR = 3600n;
const DAY = 24n * HOUR;
const CHALLENGE_WINDOW = 6n * HOUR;
const CLAIM_PERIOD = 7n * DAY;
const MIN_CHALLENGE_WINDOW = 10n * 60n;
const MAX_CHALLENGE_WINDOW = 30n * DAY;
const MIN_CLAIM_PERIOD = DAY;
const MAX_CLAIM_PERIOD = 3650n * DAY;
const UINT32_MAX = 2n ** 32n - 1n;
const UINT96_MAX = 2n ** 96n - 1n;
const SUPPLY = parseEther("1000000");
const POOL_FUNDS = parseEther("10000");
const REWARD = parseEther("1000");
// ΣC of the fixture's contributions (3 + 5 + 7 + 11); no reward below divides evenly by it.
const TOTAL_CONTRIBUTION = 26n;

// EpochStatus in RewardPool.
const Status = { None: 0n, Pending: 1n, Claimable: 2n, Vetoed: 3n, Expired: 4n } as const;

const REPUTATION_PARAMETERS = FAST_FLAG_PARAMETERS;

async function deployFixture() {
  const [admin, keeper, guardian, alice, bob, carol, dave, outsider] = await ethers.getSigners();
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, SUPPLY]);
  const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
  await reputation.grantRole(await reputation.KEEPER_ROLE(), keeper.address);
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

  // Contributions chosen so that no reward divides evenly: rounding down is visible.
  const entries: RewardEntry[] = [
    { account: alice.address, contribution: 3n },
    { account: bob.address, contribution: 5n },
    { account: carol.address, contribution: 7n },
    { account: dave.address, contribution: 11n },
  ];
  if (entries.reduce((sum, entry) => sum + entry.contribution, 0n) !== TOTAL_CONTRIBUTION) {
    throw new Error("TOTAL_CONTRIBUTION must be the fixture's ΣC");
  }
  const keeperPool = pool.connect(keeper);
  const commit = async (distribution: EpochDistribution, rewardTotal: bigint) =>
    keeperPool.commitEpoch(distribution.epoch, distribution.root, distribution.totalContribution, rewardTotal);

  return {
    token,
    reputation,
    pool,
    admin,
    keeper,
    guardian,
    alice,
    bob,
    carol,
    dave,
    outsider,
    entries,
    commit,
  };
}

/** Epoch 1 committed with {@link REWARD} and past its challenge window. */
async function claimableEpochFixture() {
  const f = await deployFixture();
  const distribution = buildDistribution(1n, f.entries);
  await f.commit(distribution, REWARD);
  const [data] = await f.pool.epochOf(1n);
  await time.increaseTo(data.claimableAt);
  return { ...f, distribution, claimableAt: data.claimableAt };
}

/** Epochs 1 and 2 committed over the same contributors (reward REWARD, then 2·REWARD), both claimable. */
async function twoEpochsFixture() {
  const f = await deployFixture();
  const first = buildDistribution(1n, f.entries);
  const second = buildDistribution(2n, f.entries);
  await f.commit(first, REWARD);
  await f.commit(second, 2n * REWARD);
  const [data] = await f.pool.epochOf(2n);
  await time.increaseTo(data.claimableAt);
  return { ...f, first, second };
}

/** Reports two failing epochs for `account` in Reputation, which flags it. */
async function flag(reputation: Reputation, keeper: HardhatEthersSigner, account: string) {
  for (const epoch of [1n, 2n]) await report(reputation, keeper, epoch, account, 0, 10);
}

/** Applies one node's report, packed as `node · successes · failures · 0` (see `Reputation.encodeReport`). */
async function report(
  reputation: Reputation,
  keeper: HardhatEthersSigner,
  epoch: bigint,
  node: string,
  successes: number,
  failures: number,
) {
  const packed = toBeHex((BigInt(node) << 96n) | (BigInt(successes) << 64n) | (BigInt(failures) << 32n), 32);
  await reputation.connect(keeper).applyReports(epoch, [packed]);
}

/** Pins the next block's timestamp (a little ahead of now) and returns it. */
async function nextTimestamp(): Promise<bigint> {
  const timestamp = BigInt(await time.latest()) + 100n;
  await time.setNextBlockTimestamp(timestamp);
  return timestamp;
}

/**
 * Writes `lastEpoch` directly into storage. Slot 1 packs `_reserved` (96 bits), `_unreserved` (96), `lastEpoch`
 * (32) and the pause clock (32), low to high; the layout is checked against the views before and after the write.
 */
async function writeLastEpoch(pool: RewardPool, lastEpoch: bigint) {
  const address = await pool.getAddress();
  const word = BigInt(await ethers.provider.getStorage(address, 1n));
  const field = (offset: bigint, bits: bigint) => (word >> offset) & ((1n << bits) - 1n);
  expect([field(0n, 96n), field(96n, 96n), field(192n, 32n), field(255n, 1n) === 1n]).to.deep.equal([
    await pool.reserved(),
    await pool.accountedUnreserved(),
    await pool.lastEpoch(),
    await pool.paused(),
  ]);
  const updated = (word & ~(UINT32_MAX << 192n)) | (lastEpoch << 192n);
  await networkHelpers.setStorageAt(address, 1n, updated);
  expect(await pool.lastEpoch()).to.equal(lastEpoch);
  expect(await pool.reserved()).to.equal(field(0n, 96n));
}

function claimArgs(claim: RewardClaim) {
  return [claim.epoch, claim.index, claim.account, claim.contribution, claim.proof] as const;
}

/** Σ rewardTotal over `epochs`: what `reserved()` counts for them while they are live (claimed part included). */
async function committedFor(pool: RewardPool, epochs: readonly bigint[]): Promise<bigint> {
  let sum = 0n;
  for (const epoch of epochs) sum += (await pool.epochOf(epoch))[0].rewardTotal;
  return sum;
}

/** Σ (rewardTotal − claimed) over `epochs`: what they still owe. */
async function reservedFor(pool: RewardPool, epochs: readonly bigint[]): Promise<bigint> {
  let sum = 0n;
  for (const epoch of epochs) {
    const [data, claimed] = await pool.epochOf(epoch);
    sum += data.rewardTotal - claimed;
  }
  return sum;
}

describe("RewardPool", function () {
  describe("deployment", function () {
    it("stores the token, the reputation contract, the admin and both windows", async function () {
      const { pool, token, reputation, admin, keeper } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.token()).to.equal(await token.getAddress());
      expect(await pool.reputation()).to.equal(await reputation.getAddress());
      expect(await pool.hasRole(await pool.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await pool.hasRole(await pool.DEFAULT_ADMIN_ROLE(), keeper.address)).to.equal(false);
      expect(await pool.challengeWindow()).to.equal(CHALLENGE_WINDOW);
      expect(await pool.claimPeriod()).to.equal(CLAIM_PERIOD);
      expect(await pool.lastEpoch()).to.equal(0n);
      expect(await pool.reserved()).to.equal(0n);
      expect(await pool.paused()).to.equal(false);
    });

    it("emits the initial challenge window and claim period", async function () {
      const { token, reputation, admin } = await networkHelpers.loadFixture(deployFixture);
      const pool = await ethers.deployContract("RewardPool", [
        admin.address,
        await token.getAddress(),
        await reputation.getAddress(),
        CHALLENGE_WINDOW,
        CLAIM_PERIOD,
      ]);
      const deployment = pool.deploymentTransaction();
      await expect(deployment).to.emit(pool, "ChallengeWindowSet").withArgs(CHALLENGE_WINDOW);
      await expect(deployment).to.emit(pool, "ClaimPeriodSet").withArgs(CLAIM_PERIOD);
    });

    it("reverts when the admin, the token or the reputation contract is the zero address", async function () {
      const { token, reputation, admin } = await networkHelpers.loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("RewardPool");
      const tokenAddress = await token.getAddress();
      const reputationAddress = await reputation.getAddress();
      const cases = [
        [ZeroAddress, tokenAddress, reputationAddress],
        [admin.address, ZeroAddress, reputationAddress],
        [admin.address, tokenAddress, ZeroAddress],
      ] as const;
      for (const [adminArg, tokenArg, reputationArg] of cases) {
        await expect(factory.deploy(adminArg, tokenArg, reputationArg, CHALLENGE_WINDOW, CLAIM_PERIOD))
          .to.be.revertedWithCustomError(factory, "RewardPoolZeroAddress")
          .withArgs();
      }
    });

    it("reverts when the challenge window exceeds 30 days and accepts exactly 30 days", async function () {
      const { token, reputation, admin } = await networkHelpers.loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("RewardPool");
      const args = [admin.address, await token.getAddress(), await reputation.getAddress()] as const;
      await expect(factory.deploy(...args, MAX_CHALLENGE_WINDOW + 1n, CLAIM_PERIOD))
        .to.be.revertedWithCustomError(factory, "RewardPoolInvalidWindow")
        .withArgs(MAX_CHALLENGE_WINDOW + 1n);
      const pool = await factory.deploy(...args, MAX_CHALLENGE_WINDOW, CLAIM_PERIOD);
      expect(await pool.challengeWindow()).to.equal(MAX_CHALLENGE_WINDOW);
    });

    it("reverts when the claim period is below 1 day or above 3650 days and accepts both bounds", async function () {
      const { pool, token, reputation, admin } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.MIN_CLAIM_PERIOD()).to.equal(MIN_CLAIM_PERIOD);
      expect(await pool.MAX_CLAIM_PERIOD()).to.equal(MAX_CLAIM_PERIOD);
      const factory = await ethers.getContractFactory("RewardPool");
      const args = [admin.address, await token.getAddress(), await reputation.getAddress()] as const;
      for (const invalid of [0n, MIN_CLAIM_PERIOD - 1n, MAX_CLAIM_PERIOD + 1n, 2n ** 40n]) {
        await expect(factory.deploy(...args, CHALLENGE_WINDOW, invalid))
          .to.be.revertedWithCustomError(factory, "RewardPoolInvalidWindow")
          .withArgs(invalid);
      }
      for (const valid of [MIN_CLAIM_PERIOD, MAX_CLAIM_PERIOD]) {
        const deployed = await factory.deploy(...args, CHALLENGE_WINDOW, valid);
        expect(await deployed.claimPeriod()).to.equal(valid);
      }
    });
  });

  describe("commitEpoch", function () {
    it("commits the next epoch, reserves its reward and emits EpochCommitted", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      const committedAt = await nextTimestamp();
      await expect(commit(distribution, REWARD))
        .to.emit(pool, "EpochCommitted")
        .withArgs(1n, distribution.root, distribution.totalContribution, REWARD);
      const [data, claimed] = await pool.epochOf(1n);
      expect(data.root).to.equal(distribution.root);
      expect(data.totalContribution).to.equal(distribution.totalContribution);
      expect(data.rewardTotal).to.equal(REWARD);
      expect(data.claimableAt).to.equal(committedAt + CHALLENGE_WINDOW);
      expect(claimed).to.equal(0n);
      expect(await pool.lastEpoch()).to.equal(1n);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      expect(await pool.reserved()).to.equal(REWARD);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS - REWARD);
    });

    it("reverts when the caller lacks KEEPER_ROLE", async function () {
      const { pool, entries, outsider, guardian, admin } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      const keeperRole = await pool.KEEPER_ROLE();
      for (const caller of [outsider, guardian, admin]) {
        await expect(pool.connect(caller).commitEpoch(1n, distribution.root, distribution.totalContribution, REWARD))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, keeperRole);
      }
    });

    it("reverts while paused", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await pool.connect(guardian).pause();
      await expect(commit(buildDistribution(1n, entries), REWARD)).to.be.revertedWithCustomError(
        pool,
        "RewardPoolPaused",
      );
    });

    it("reverts when the epoch is not the next one", async function () {
      const { pool, keeper, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const keeperPool = pool.connect(keeper);
      const root = buildDistribution(1n, entries).root;
      for (const epoch of [0n, 2n, 7n]) {
        await expect(keeperPool.commitEpoch(epoch, root, TOTAL_CONTRIBUTION, REWARD))
          .to.be.revertedWithCustomError(pool, "RewardPoolNonConsecutiveEpoch")
          .withArgs(epoch, 1n);
      }
      await commit(buildDistribution(1n, entries), REWARD);
      await expect(keeperPool.commitEpoch(3n, root, TOTAL_CONTRIBUTION, REWARD))
        .to.be.revertedWithCustomError(pool, "RewardPoolNonConsecutiveEpoch")
        .withArgs(3n, 2n);
    });

    it("reverts when a pending, claimable or expired epoch is committed again", async function () {
      const { pool, keeper, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const keeperPool = pool.connect(keeper);
      const distribution = buildDistribution(1n, entries);
      const recommit = () => keeperPool.commitEpoch(1n, distribution.root, distribution.totalContribution, REWARD);
      await commit(distribution, REWARD);
      await expect(recommit()).to.be.revertedWithCustomError(pool, "RewardPoolNonConsecutiveEpoch").withArgs(1n, 2n);

      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt);
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);
      await expect(recommit()).to.be.revertedWithCustomError(pool, "RewardPoolNonConsecutiveEpoch").withArgs(1n, 2n);

      await time.increaseTo(data.claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      await expect(recommit()).to.be.revertedWithCustomError(pool, "RewardPoolNonConsecutiveEpoch").withArgs(1n, 2n);
    });

    it("recommits a vetoed epoch with a new distribution without moving lastEpoch", async function () {
      const { pool, guardian, alice, bob, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const faulty = buildDistribution(1n, [{ account: alice.address, contribution: 1n }]);
      await commit(faulty, REWARD);
      await commit(buildDistribution(2n, entries), REWARD);
      await pool.connect(guardian).vetoEpoch(1n);

      const corrected = buildDistribution(1n, entries);
      const newReward = REWARD / 2n;
      const recommittedAt = await nextTimestamp();
      await expect(commit(corrected, newReward))
        .to.emit(pool, "EpochCommitted")
        .withArgs(1n, corrected.root, corrected.totalContribution, newReward);
      const [data, claimed] = await pool.epochOf(1n);
      expect(data.root).to.equal(corrected.root);
      expect(data.totalContribution).to.equal(corrected.totalContribution);
      expect(data.rewardTotal).to.equal(newReward);
      expect(data.claimableAt).to.equal(recommittedAt + CHALLENGE_WINDOW);
      expect(claimed).to.equal(0n);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      expect(await pool.lastEpoch()).to.equal(2n);
      expect(await pool.reserved()).to.equal(REWARD + newReward);

      // The corrected epoch pays out; the vetoed root is gone for good.
      await time.increaseTo(data.claimableAt);
      const bobClaim = corrected.claims[1];
      await expect(claimer(pool).claim(...claimArgs(bobClaim)))
        .to.emit(pool, "Claimed")
        .withArgs(1n, bobClaim.index, bob.address, expectedReward(newReward, 5n, TOTAL_CONTRIBUTION));
      const faultyClaim = faulty.claims[0];
      await expect(claimer(pool).claim(...claimArgs(faultyClaim)))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(1n, alice.address);
    });

    it("reverts when the root is zero, ΣC is zero or too large, or the reward is zero or does not fit uint96", async function () {
      const { pool, keeper, entries } = await networkHelpers.loadFixture(deployFixture);
      const keeperPool = pool.connect(keeper);
      const root = buildDistribution(1n, entries).root;
      const invalid: [string, bigint, bigint][] = [
        [ZeroHash, TOTAL_CONTRIBUTION, REWARD],
        [root, 0n, REWARD],
        [root, 2n ** 120n, REWARD],
        [root, TOTAL_CONTRIBUTION, 0n],
        [root, TOTAL_CONTRIBUTION, 2n ** 96n],
      ];
      for (const [badRoot, total, reward] of invalid) {
        await expect(keeperPool.commitEpoch(1n, badRoot, total, reward))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidCommitment")
          .withArgs(1n);
      }
      await expect(keeperPool.commitEpoch(1n, root, 2n ** 120n - 1n, REWARD)).to.emit(pool, "EpochCommitted");
    });

    it("reverts when the pool holds no unreserved funds", async function () {
      const { token, admin, keeper, entries } = await networkHelpers.loadFixture(deployFixture);
      const reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
      const empty = await ethers.deployContract("RewardPool", [
        admin.address,
        await token.getAddress(),
        await reputation.getAddress(),
        CHALLENGE_WINDOW,
        CLAIM_PERIOD,
      ]);
      await reputation.setFlagMirror(await empty.getAddress());
      await empty.grantRole(await empty.KEEPER_ROLE(), keeper.address);
      const distribution = buildDistribution(1n, entries);
      const commitEmpty = () =>
        empty.connect(keeper).commitEpoch(1n, distribution.root, distribution.totalContribution, REWARD);
      await expect(commitEmpty())
        .to.be.revertedWithCustomError(empty, "RewardPoolInsufficientUnreserved")
        .withArgs(REWARD, 0n);

      await token.transfer(await empty.getAddress(), REWARD - 1n);
      await expect(commitEmpty())
        .to.be.revertedWithCustomError(empty, "RewardPoolInsufficientUnreserved")
        .withArgs(REWARD, REWARD - 1n);

      await token.transfer(await empty.getAddress(), 1n);
      await expect(commitEmpty()).to.emit(empty, "EpochCommitted");
      expect(await empty.unreservedBalance()).to.equal(0n);
    });

    it("reverts when the reward would use funds reserved for an earlier epoch", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const firstReward = POOL_FUNDS - REWARD;
      await commit(buildDistribution(1n, entries), firstReward);
      expect(await pool.unreservedBalance()).to.equal(REWARD);

      await expect(commit(buildDistribution(2n, entries), REWARD + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInsufficientUnreserved")
        .withArgs(REWARD + 1n, REWARD);
      await expect(commit(buildDistribution(2n, entries), REWARD)).to.emit(pool, "EpochCommitted");
      expect(await pool.reserved()).to.equal(POOL_FUNDS);
      expect(await pool.unreservedBalance()).to.equal(0n);
    });

    it("reverts when a vetoed epoch is recommitted with a zero reward", async function () {
      const { pool, keeper, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      await commit(distribution, REWARD);
      await pool.connect(guardian).vetoEpoch(1n);
      await expect(pool.connect(keeper).commitEpoch(1n, distribution.root, distribution.totalContribution, 0n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidCommitment")
        .withArgs(1n);
      expect(await pool.statusOf(1n)).to.equal(Status.Vetoed);
    });

    it("commits epoch 2^32 - 1 and reverts for the next epoch, which does not fit 32 bits", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      // 2^32 commitments are out of reach of a test: lastEpoch is written directly (see writeLastEpoch).
      await writeLastEpoch(pool, UINT32_MAX - 1n);
      await expect(commit(buildDistribution(UINT32_MAX, entries), REWARD)).to.emit(pool, "EpochCommitted");
      expect(await pool.lastEpoch()).to.equal(UINT32_MAX);
      await expect(commit(buildDistribution(UINT32_MAX + 1n, entries), REWARD))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidCommitment")
        .withArgs(UINT32_MAX + 1n);
      expect(await pool.lastEpoch()).to.equal(UINT32_MAX);
      expect(await pool.reserved()).to.equal(REWARD);
    });

    it("syncs tokens sent by plain transfer before reserving them and emits Synced", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      // The fixture funds the pool by plain transfer: nothing is booked until a commitment needs it.
      expect(await pool.accountedUnreserved()).to.equal(0n);
      const tx = commit(buildDistribution(1n, entries), REWARD);
      await expect(tx).to.emit(pool, "Synced").withArgs(POOL_FUNDS);
      await expect(tx).to.emit(pool, "EpochCommitted");
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - REWARD);
      expect(await pool.reserved()).to.equal(REWARD);
      // Enough is booked now: the next commitment does not sync.
      await expect(commit(buildDistribution(2n, entries), REWARD)).to.not.emit(pool, "Synced");
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - 2n * REWARD);
    });

    it("reverts for lack of funds with what is available: the balance minus the reserved rewards", async function () {
      const { pool, token, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      await token.transfer(await pool.getAddress(), 5n);
      const available = POOL_FUNDS + 5n - REWARD;
      await expect(commit(buildDistribution(2n, entries), available + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInsufficientUnreserved")
        .withArgs(available + 1n, available);
      // The failed commitment's sync was rolled back with it; a commitment of exactly what is available syncs.
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - REWARD);
      await expect(commit(buildDistribution(2n, entries), available))
        .to.emit(pool, "Synced")
        .withArgs(5n);
      expect(await pool.accountedUnreserved()).to.equal(0n);
      expect(await pool.reserved()).to.equal(POOL_FUNDS + 5n);
    });

    it("uses the challenge window in force at commit time", async function () {
      const { pool, admin, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const [before] = await pool.epochOf(1n);
      await pool.connect(admin).setChallengeWindow(MIN_CHALLENGE_WINDOW);
      const [after] = await pool.epochOf(1n);
      expect(after.claimableAt).to.equal(before.claimableAt);

      const committedAt = await nextTimestamp();
      await commit(buildDistribution(2n, entries), REWARD);
      const [second] = await pool.epochOf(2n);
      expect(second.claimableAt).to.equal(committedAt + MIN_CHALLENGE_WINDOW);
      expect(second.claimableAt < after.claimableAt).to.equal(true);
    });
  });

  describe("vetoEpoch", function () {
    it("vetoes a pending epoch, unreserves its reward and emits EpochVetoed", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.emit(pool, "EpochVetoed")
        .withArgs(1n, guardian.address, REWARD);
      expect(await pool.statusOf(1n)).to.equal(Status.Vetoed);
      expect(await pool.reserved()).to.equal(0n);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS);
      // The commitment stays readable for the record.
      const [data] = await pool.epochOf(1n);
      expect(data.rewardTotal).to.equal(REWARD);
    });

    it("vetoes until the last second before the epoch becomes claimable", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const [data] = await pool.epochOf(1n);
      await time.setNextBlockTimestamp(data.claimableAt - 1n);
      await expect(pool.connect(guardian).vetoEpoch(1n)).to.emit(pool, "EpochVetoed");
    });

    it("reverts when the caller lacks GUARDIAN_ROLE", async function () {
      const { pool, keeper, admin, outsider, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const guardianRole = await pool.GUARDIAN_ROLE();
      for (const caller of [outsider, keeper, admin]) {
        await expect(pool.connect(caller).vetoEpoch(1n))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, guardianRole);
      }
    });

    it("reverts when the epoch was never committed", async function () {
      const { pool, guardian } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch")
        .withArgs(1n);
    });

    it("reverts when the epoch was already vetoed", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      await pool.connect(guardian).vetoEpoch(1n);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochVetoed")
        .withArgs(1n);
      expect(await pool.reserved()).to.equal(0n);
    });

    it("reverts when the epoch is already claimable", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const [data] = await pool.epochOf(1n);
      await time.setNextBlockTimestamp(data.claimableAt);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochNotPending")
        .withArgs(1n, data.claimableAt);
    });

    it("reverts when the epoch was expired", async function () {
      const { pool, guardian, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochNotPending")
        .withArgs(1n, claimableAt);
    });

    it("still vetoes while paused", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      await pool.connect(guardian).pause();
      await expect(pool.connect(guardian).vetoEpoch(1n))
        .to.emit(pool, "EpochVetoed")
        .withArgs(1n, guardian.address, REWARD);
    });
  });

  describe("pause and unpause", function () {
    it("pauses and unpauses when called by the guardian", async function () {
      const { pool, guardian } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(guardian).pause()).to.emit(pool, "Paused").withArgs(guardian.address);
      expect(await pool.paused()).to.equal(true);
      await expect(pool.connect(guardian).unpause()).to.emit(pool, "Unpaused").withArgs(guardian.address, 1n);
      expect(await pool.paused()).to.equal(false);
    });

    it("reverts when the caller lacks GUARDIAN_ROLE", async function () {
      const { pool, guardian, keeper, admin, outsider } = await networkHelpers.loadFixture(deployFixture);
      const guardianRole = await pool.GUARDIAN_ROLE();
      for (const caller of [outsider, keeper, admin]) {
        await expect(pool.connect(caller).pause())
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, guardianRole);
      }
      await pool.connect(guardian).pause();
      for (const caller of [outsider, keeper, admin]) {
        await expect(pool.connect(caller).unpause())
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, guardianRole);
      }
    });

    it("reverts when pausing twice or unpausing while not paused", async function () {
      const { pool, guardian } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(guardian).unpause()).to.be.revertedWithCustomError(pool, "RewardPoolNotPaused");
      await pool.connect(guardian).pause();
      await expect(pool.connect(guardian).pause()).to.be.revertedWithCustomError(pool, "RewardPoolPaused");
    });
  });

  describe("setChallengeWindow", function () {
    it("sets the window and emits ChallengeWindowSet", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      for (const seconds of [MIN_CHALLENGE_WINDOW, HOUR, MAX_CHALLENGE_WINDOW]) {
        await expect(pool.connect(admin).setChallengeWindow(seconds))
          .to.emit(pool, "ChallengeWindowSet")
          .withArgs(seconds);
        expect(await pool.challengeWindow()).to.equal(seconds);
      }
    });

    it("reverts when the window exceeds 30 days", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(admin).setChallengeWindow(MAX_CHALLENGE_WINDOW + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
        .withArgs(MAX_CHALLENGE_WINDOW + 1n);
      expect(await pool.challengeWindow()).to.equal(CHALLENGE_WINDOW);
    });

    it("reverts when the caller lacks DEFAULT_ADMIN_ROLE", async function () {
      const { pool, keeper, guardian, outsider } = await networkHelpers.loadFixture(deployFixture);
      for (const caller of [outsider, keeper, guardian]) {
        await expect(pool.connect(caller).setChallengeWindow(HOUR))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ZeroHash);
      }
    });
  });

  describe("setClaimPeriod", function () {
    it("extends the period up to 3650 days and emits ClaimPeriodSet", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      for (const seconds of [CLAIM_PERIOD, CLAIM_PERIOD + 1n, 90n * DAY, MAX_CLAIM_PERIOD]) {
        await expect(pool.connect(admin).setClaimPeriod(seconds)).to.emit(pool, "ClaimPeriodSet").withArgs(seconds);
        expect(await pool.claimPeriod()).to.equal(seconds);
      }
    });

    it("reverts when the period would get shorter, even within the bounds", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      for (const shorter of [CLAIM_PERIOD - 1n, MIN_CLAIM_PERIOD]) {
        await expect(pool.connect(admin).setClaimPeriod(shorter))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
          .withArgs(shorter);
      }
      await pool.connect(admin).setClaimPeriod(90n * DAY);
      await expect(pool.connect(admin).setClaimPeriod(90n * DAY - 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
        .withArgs(90n * DAY - 1n);
      expect(await pool.claimPeriod()).to.equal(90n * DAY);
    });

    it("reverts when the period is below 1 day or above 3650 days", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      for (const invalid of [0n, MIN_CLAIM_PERIOD - 1n, MAX_CLAIM_PERIOD + 1n, 2n ** 40n]) {
        await expect(pool.connect(admin).setClaimPeriod(invalid))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidWindow")
          .withArgs(invalid);
      }
      expect(await pool.claimPeriod()).to.equal(CLAIM_PERIOD);
    });

    it("reverts when the caller lacks DEFAULT_ADMIN_ROLE", async function () {
      const { pool, keeper, guardian, outsider } = await networkHelpers.loadFixture(deployFixture);
      for (const caller of [outsider, keeper, guardian]) {
        await expect(pool.connect(caller).setClaimPeriod(2n * CLAIM_PERIOD))
          .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ZeroHash);
      }
    });

    it("extends the claim period of epochs committed before the change", async function () {
      const { pool, admin, distribution, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      const longer = 2n * CLAIM_PERIOD;
      await pool.connect(admin).setClaimPeriod(longer);
      // The old deadline has passed, the new one has not: the epoch is still claimable and cannot be expired.
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await expect(pool.expireEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning")
        .withArgs(1n, claimableAt + longer);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.emit(pool, "Claimed");
      await time.increaseTo(claimableAt + longer);
      const [, claimed] = await pool.epochOf(1n);
      await expect(pool.expireEpoch(1n))
        .to.emit(pool, "EpochExpired")
        .withArgs(1n, REWARD - claimed);
    });
  });

  describe("claim", function () {
    it("pays floor(R_total · C_i / ΣC) to the account and emits Claimed", async function () {
      const { pool, token, alice, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const aliceClaim = distribution.claims[0];
      const amount = expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION);
      expect(amount * TOTAL_CONTRIBUTION).to.not.equal(REWARD * 3n, "the example must exercise rounding down");
      expect(
        await pool.claim.staticCall(
          aliceClaim.epoch,
          await headerOf(pool, aliceClaim.epoch),
          aliceClaim.index,
          aliceClaim.account,
          aliceClaim.contribution,
          aliceClaim.proof,
        ),
      ).to.equal(amount);

      const tx = claimer(pool.connect(alice)).claim(...claimArgs(aliceClaim));
      await expect(tx).to.emit(pool, "Claimed").withArgs(1n, aliceClaim.index, alice.address, amount);
      await expect(tx).to.changeTokenBalances(ethers, token, [pool, alice], [-amount, amount]);
      expect(await pool.isClaimed(1n, aliceClaim.index)).to.equal(true);
      const [, claimed] = await pool.epochOf(1n);
      expect(claimed).to.equal(amount);
      expect(await pool.reserved()).to.equal(REWARD, "a claim writes nothing pool-wide");
      expect(await reservedFor(pool, [1n])).to.equal(REWARD - amount);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS - REWARD);
    });

    it("pays every leaf of the epoch and leaves only the rounding dust reserved", async function () {
      const { pool, token, entries, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      let paid = 0n;
      for (const [i, claim] of distribution.claims.entries()) {
        const amount = expectedReward(REWARD, entries[i].contribution, distribution.totalContribution);
        await expect(claimer(pool).claim(...claimArgs(claim))).to.changeTokenBalances(
          ethers,
          token,
          [claim.account],
          [amount],
        );
        paid += amount;
      }
      const [, claimed] = await pool.epochOf(1n);
      expect(claimed).to.equal(paid);
      expect(paid <= REWARD).to.equal(true);
      expect(REWARD - paid < BigInt(entries.length)).to.equal(true, "dust is below one wei per leaf");
      expect(await pool.reserved()).to.equal(REWARD, "a claim writes nothing pool-wide");
      expect(await reservedFor(pool, [1n])).to.equal(REWARD - paid);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(POOL_FUNDS - paid);
    });

    it("pays the account, not the sender, when a third party submits the claim", async function () {
      const { pool, token, bob, outsider, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const bobClaim = distribution.claims[1];
      const amount = expectedReward(REWARD, 5n, TOTAL_CONTRIBUTION);
      const tx = claimer(pool.connect(outsider)).claim(...claimArgs(bobClaim));
      await expect(tx).to.emit(pool, "Claimed").withArgs(1n, bobClaim.index, bob.address, amount);
      await expect(tx).to.changeTokenBalances(ethers, token, [bob, outsider, pool], [amount, 0n, -amount]);
    });

    it("accepts the proofs of a third-party StandardMerkleTree for every leaf", async function () {
      const { pool, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      for (const claim of distribution.claims) {
        const leaf = distribution.tree.leafHash([claim.epoch, claim.index, claim.account, claim.contribution]);
        expect(await pool.leafOf(claim.epoch, claim.index, claim.account, claim.contribution)).to.equal(leaf);
        expect(
          distribution.tree.verify([claim.epoch, claim.index, claim.account, claim.contribution], claim.proof),
        ).to.equal(true);
      }
    });

    it("reverts when the leaf was already claimed", async function () {
      const { pool, token, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const aliceClaim = distribution.claims[0];
      await claimer(pool).claim(...claimArgs(aliceClaim));
      const poolBalance = await token.balanceOf(await pool.getAddress());
      await expect(claimer(pool).claim(...claimArgs(aliceClaim)))
        .to.be.revertedWithCustomError(pool, "RewardPoolAlreadyClaimed")
        .withArgs(1n, aliceClaim.index);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(poolBalance);
    });

    it("reverts when the epoch was never committed", async function () {
      const { pool, entries } = await networkHelpers.loadFixture(claimableEpochFixture);
      const claim = buildDistribution(2n, entries).claims[0];
      await expect(claimer(pool).claim(...claimArgs(claim)))
        .to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch")
        .withArgs(2n);
    });

    it("reverts when the epoch is still pending", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      await commit(distribution, REWARD);
      const [data] = await pool.epochOf(1n);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochPending")
        .withArgs(1n, data.claimableAt);
      await time.setNextBlockTimestamp(data.claimableAt - 1n);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochPending")
        .withArgs(1n, data.claimableAt);
      await time.setNextBlockTimestamp(data.claimableAt);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.emit(pool, "Claimed");
    });

    it("reverts when the epoch was vetoed", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      await commit(distribution, REWARD);
      const [data] = await pool.epochOf(1n);
      await pool.connect(guardian).vetoEpoch(1n);
      await time.increaseTo(data.claimableAt);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochVetoed")
        .withArgs(1n);
    });

    it("reverts when the epoch was expired", async function () {
      const { pool, distribution, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      // Claims stay open until someone expires the epoch.
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.emit(pool, "Claimed");
      await pool.expireEpoch(1n);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[1])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochExpired")
        .withArgs(1n);
    });

    it("reverts while paused and pays once unpaused", async function () {
      const { pool, guardian, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      await pool.connect(guardian).pause();
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.be.revertedWithCustomError(
        pool,
        "RewardPoolPaused",
      );
      await pool.connect(guardian).unpause();
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.emit(pool, "Claimed");
    });

    it("reverts while the account is flagged and pays once it recovered", async function () {
      const { pool, token, reputation, keeper, alice, distribution } =
        await networkHelpers.loadFixture(claimableEpochFixture);
      await flag(reputation, keeper, alice.address);
      expect(await reputation.isFlagged(alice.address)).to.equal(true);
      const aliceClaim = distribution.claims[0];
      await expect(claimer(pool.connect(alice)).claim(...claimArgs(aliceClaim)))
        .to.be.revertedWithCustomError(pool, "RewardPoolAccountFlagged")
        .withArgs(alice.address);
      expect(await pool.isClaimed(1n, aliceClaim.index)).to.equal(false);
      expect(await pool.reserved()).to.equal(REWARD);

      // Two good epochs lift the flag (see REPUTATION_PARAMETERS).
      for (const epoch of [3n, 4n]) await report(reputation, keeper, epoch, alice.address, 10, 0);
      expect(await reputation.isFlagged(alice.address)).to.equal(false);
      const amount = expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION);
      await expect(claimer(pool).claim(...claimArgs(aliceClaim))).to.changeTokenBalances(
        ethers,
        token,
        [alice],
        [amount],
      );
    });

    it("reverts when the proof belongs to another epoch", async function () {
      const { pool, alice, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      const fromFirst = first.claims[0];
      await expect(claimer(pool).claim(2n, fromFirst.index, fromFirst.account, fromFirst.contribution, fromFirst.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(2n, alice.address);
      const fromSecond = second.claims[0];
      await expect(
        claimer(pool).claim(1n, fromSecond.index, fromSecond.account, fromSecond.contribution, fromSecond.proof),
      )
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(1n, alice.address);
    });

    it("reverts when the proof belongs to another account", async function () {
      const { pool, outsider, bob, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const aliceClaim = distribution.claims[0];
      for (const thief of [outsider.address, bob.address]) {
        await expect(claimer(pool).claim(1n, aliceClaim.index, thief, aliceClaim.contribution, aliceClaim.proof))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
          .withArgs(1n, thief);
      }
    });

    it("reverts when the contribution or the index was altered, without consuming the leaf", async function () {
      const { pool, token, alice, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const aliceClaim = distribution.claims[0];
      const altered = [
        [aliceClaim.index, aliceClaim.contribution + 1n],
        [aliceClaim.index, 11n],
        [aliceClaim.index + 1n, aliceClaim.contribution],
      ] as const;
      for (const [index, contribution] of altered) {
        await expect(claimer(pool).claim(1n, index, alice.address, contribution, aliceClaim.proof))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
          .withArgs(1n, alice.address);
        expect(await pool.isClaimed(1n, index)).to.equal(false);
      }
      await expect(claimer(pool).claim(...claimArgs(aliceClaim))).to.changeTokenBalances(
        ethers,
        token,
        [alice],
        [expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION)],
      );
    });

    it("rejects an internal node of the tree passed off as a 64-byte leaf", async function () {
      const { pool, alice, distribution } = await networkHelpers.loadFixture(claimableEpochFixture);
      const node = internalNodeOf(distribution.tree);
      // The node with the proof above it reproduces the root: it is a valid "leaf" for any verifier that
      // accepts a single-hashed 64-byte leaf...
      expect(processProof(node.hash, node.proof)).to.equal(distribution.root);
      // ...and the two free 32-byte words of a leaf (index and contribution) abi-encode to its preimage.
      const [low, high] = BigInt(node.left) < BigInt(node.right) ? [node.left, node.right] : [node.right, node.left];
      const coder = AbiCoder.defaultAbiCoder();
      expect(keccak256(coder.encode(["uint256", "uint256"], [BigInt(low), BigInt(high)]))).to.equal(node.hash);

      // RewardPool hashes the 128-byte encoding and then that 32-byte hash again: neither preimage can be a
      // node's 64-byte preimage, so the forged fields never hash to the node.
      for (const [index, contribution] of [
        [BigInt(low), BigInt(high)],
        [BigInt(high), BigInt(low)],
      ]) {
        expect(await pool.leafOf(1n, index, alice.address, contribution)).to.not.equal(node.hash);
        await expect(claimer(pool).claim(1n, index, alice.address, contribution, node.proof))
          .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
          .withArgs(1n, alice.address);
      }
      // Nor does the node's preimage pass as the inner (once-hashed) leaf.
      await expect(claimer(pool).claim(1n, 0n, alice.address, BigInt(node.hash), node.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(1n, alice.address);
    });

    it("never pays more than rewardTotal for a faulty root and keeps other epochs' reserves intact", async function () {
      const { pool, keeper, token, alice, bob, carol, dave, entries, commit } =
        await networkHelpers.loadFixture(deployFixture);
      // Leaves sum to 281 but the keeper commits ΣC = 100: the root is faulty.
      const faulty = buildDistribution(1n, [
        { account: alice.address, contribution: 60n },
        { account: bob.address, contribution: 60n },
        { account: carol.address, contribution: 30n },
        { account: dave.address, contribution: 101n },
      ]);
      await pool.connect(keeper).commitEpoch(1n, faulty.root, 100n, REWARD);
      const healthy = buildDistribution(2n, entries);
      await commit(healthy, 2n * REWARD);
      const [data] = await pool.epochOf(2n);
      await time.increaseTo(data.claimableAt);

      // A single leaf above ΣC overdraws on its own.
      await expect(claimer(pool).claim(...claimArgs(faulty.claims[3])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochOverdrawn")
        .withArgs(1n);
      const aliceAmount = expectedReward(REWARD, 60n, 100n);
      await expect(claimer(pool).claim(...claimArgs(faulty.claims[0]))).to.changeTokenBalances(
        ethers,
        token,
        [alice],
        [aliceAmount],
      );
      // Bob's 60 % would bring the epoch to 120 % of its reward: nothing is paid.
      await expect(claimer(pool).claim(...claimArgs(faulty.claims[1])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochOverdrawn")
        .withArgs(1n);
      expect(await pool.isClaimed(1n, faulty.claims[1].index)).to.equal(false);
      // Carol's 30 % still fits (90 % in all), and then bob's claim overdraws again.
      const carolAmount = expectedReward(REWARD, 30n, 100n);
      await expect(claimer(pool).claim(...claimArgs(faulty.claims[2]))).to.changeTokenBalances(
        ethers,
        token,
        [carol],
        [carolAmount],
      );
      await expect(claimer(pool).claim(...claimArgs(faulty.claims[1])))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochOverdrawn")
        .withArgs(1n);
      const [, claimed] = await pool.epochOf(1n);
      expect(claimed).to.equal(aliceAmount + carolAmount);
      expect(claimed <= REWARD).to.equal(true);

      // Epoch 2's reserve is untouched: every one of its leaves is paid in full.
      expect(await reservedFor(pool, [1n, 2n])).to.equal(REWARD - claimed + 2n * REWARD);
      for (const [i, claim] of healthy.claims.entries()) {
        const amount = expectedReward(2n * REWARD, entries[i].contribution, healthy.totalContribution);
        await expect(claimer(pool).claim(...claimArgs(claim))).to.changeTokenBalances(
          ethers,
          token,
          [claim.account],
          [amount],
        );
      }
      expect(await pool.reserved()).to.equal(await committedFor(pool, [1n, 2n]));
      expect((await token.balanceOf(await pool.getAddress())) >= (await reservedFor(pool, [1n, 2n]))).to.equal(true);
    });

    it("keeps claimed bits independent across bitmap words", async function () {
      const { pool, token, alice, bob, carol, dave, commit } = await networkHelpers.loadFixture(deployFixture);
      const indices = [255n, 256n, 257n, 2n ** 200n];
      const distribution = buildDistribution(
        1n,
        [alice, bob, carol, dave].map((signer, i) => ({
          account: signer.address,
          contribution: 1n,
          index: indices[i],
        })),
      );
      await commit(distribution, REWARD);
      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt);

      await claimer(pool).claim(...claimArgs(distribution.claims[1]));
      expect(await pool.isClaimed(1n, 256n)).to.equal(true);
      for (const other of [0n, 255n, 257n, 512n, 2n ** 200n]) {
        expect(await pool.isClaimed(1n, other)).to.equal(false, `index ${other}`);
      }
      // The same index in any other epoch, whichever word a bitmap layout puts it in, stays unclaimed.
      for (let epoch = 0n; epoch < 20n; ++epoch) {
        if (epoch !== 1n) expect(await pool.isClaimed(epoch, 256n)).to.equal(false, `epoch ${epoch} index 256`);
      }
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[3]))).to.changeTokenBalances(
        ethers,
        token,
        [dave],
        [REWARD / 4n],
      );
      expect(await pool.isClaimed(1n, 2n ** 200n)).to.equal(true);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[3])))
        .to.be.revertedWithCustomError(pool, "RewardPoolAlreadyClaimed")
        .withArgs(1n, 2n ** 200n);
    });
  });

  describe("claimMany", function () {
    it("pays several epochs in one transfer and emits Claimed for each", async function () {
      const { pool, token, carol, outsider, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      const claims = [first.claims[2], second.claims[2]];
      const amounts = [
        expectedReward(REWARD, 7n, TOTAL_CONTRIBUTION),
        expectedReward(2n * REWARD, 7n, TOTAL_CONTRIBUTION),
      ];
      const total = amounts[0] + amounts[1];
      const withHeaders = await Promise.all(
        claims.map(async (c) => ({ ...toClaimStruct(c), header: await headerOf(pool, c.epoch) })),
      );
      expect(await pool.claimMany.staticCall(carol.address, withHeaders)).to.equal(total);

      // Submitted by a third party: the account is paid, the sender is not.
      const tx = claimer(pool.connect(outsider)).claimMany(carol.address, claims.map(toClaimStruct));
      await expect(tx).to.emit(pool, "Claimed").withArgs(1n, claims[0].index, carol.address, amounts[0]);
      await expect(tx).to.emit(pool, "Claimed").withArgs(2n, claims[1].index, carol.address, amounts[1]);
      await expect(tx).to.changeTokenBalances(ethers, token, [carol, outsider, pool], [total, 0n, -total]);
      const receipt = await (await tx).wait();
      const transfers = receipt!.logs.filter(
        (log) => log.address === token.target && log.topics[0] === token.interface.getEvent("Transfer").topicHash,
      );
      expect(transfers.length).to.equal(1);
      expect(await pool.isClaimed(1n, claims[0].index)).to.equal(true);
      expect(await pool.isClaimed(2n, claims[1].index)).to.equal(true);
      expect(await pool.reserved()).to.equal(3n * REWARD);
      expect(await reservedFor(pool, [1n, 2n])).to.equal(3n * REWARD - total);
    });

    it("reverts when given no claims", async function () {
      const { pool, alice } = await networkHelpers.loadFixture(twoEpochsFixture);
      await expect(claimer(pool).claimMany(alice.address, []))
        .to.be.revertedWithCustomError(pool, "RewardPoolNoClaims")
        .withArgs();
    });

    it("skips an epoch already claimed with claim and pays the others", async function () {
      const { pool, token, alice, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      await claimer(pool).claim(...claimArgs(second.claims[0]));
      const before = await token.balanceOf(alice.address);
      await expect(claimer(pool).claimMany(alice.address, [first.claims[0], second.claims[0]].map(toClaimStruct)))
        .to.emit(pool, "ClaimSkipped")
        .withArgs(2n, second.claims[0].index, alice.address);
      expect(await token.balanceOf(alice.address)).to.equal(before + expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION));
      expect(await pool.isClaimed(1n, first.claims[0].index)).to.equal(true);
    });

    it("makes claim revert for the epochs it paid", async function () {
      const { pool, alice, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      await claimer(pool).claimMany(alice.address, [first.claims[0], second.claims[0]].map(toClaimStruct));
      for (const claim of [first.claims[0], second.claims[0]]) {
        await expect(claimer(pool).claim(...claimArgs(claim)))
          .to.be.revertedWithCustomError(pool, "RewardPoolAlreadyClaimed")
          .withArgs(claim.epoch, claim.index);
      }
      await expect(claimer(pool).claimMany(alice.address, [toClaimStruct(first.claims[0])]))
        .to.emit(pool, "ClaimSkipped")
        .withArgs(1n, first.claims[0].index, alice.address);
    });

    it("pays a leaf that appears twice in one call once and skips the copy", async function () {
      const { pool, token, dave, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      const poolBalance = await token.balanceOf(await pool.getAddress());
      const paid =
        expectedReward(REWARD, 11n, TOTAL_CONTRIBUTION) + expectedReward(2n * REWARD, 11n, TOTAL_CONTRIBUTION);
      await expect(
        claimer(pool).claimMany(dave.address, [first.claims[3], second.claims[3], first.claims[3]].map(toClaimStruct)),
      )
        .to.emit(pool, "ClaimSkipped")
        .withArgs(1n, first.claims[3].index, dave.address);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(poolBalance - paid);
      expect(await pool.isClaimed(1n, first.claims[3].index)).to.equal(true);
      expect(await pool.isClaimed(2n, second.claims[3].index)).to.equal(true);
    });

    it("reverts as a whole when one proof is invalid", async function () {
      const { pool, bob, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      const forged = { ...toClaimStruct(second.claims[1]), contribution: TOTAL_CONTRIBUTION };
      await expect(claimer(pool).claimMany(bob.address, [toClaimStruct(first.claims[1]), forged]))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(2n, bob.address);
      expect(await pool.isClaimed(1n, first.claims[1].index)).to.equal(false);
    });

    it("reverts when the claims belong to another account", async function () {
      const { pool, outsider, first } = await networkHelpers.loadFixture(twoEpochsFixture);
      await expect(claimer(pool.connect(outsider)).claimMany(outsider.address, [toClaimStruct(first.claims[0])]))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidProof")
        .withArgs(1n, outsider.address);
    });

    it("reverts when one epoch is still pending", async function () {
      const { pool, alice, entries, first, commit } = await networkHelpers.loadFixture(twoEpochsFixture);
      const third = buildDistribution(3n, entries);
      await commit(third, REWARD);
      const [data] = await pool.epochOf(3n);
      await expect(claimer(pool).claimMany(alice.address, [first.claims[0], third.claims[0]].map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochPending")
        .withArgs(3n, data.claimableAt);
    });

    it("reverts when one epoch is unknown, vetoed or expired", async function () {
      const { pool, guardian, alice, entries, first, second, commit } =
        await networkHelpers.loadFixture(twoEpochsFixture);
      const unknown = buildDistribution(9n, entries);
      await expect(claimer(pool).claimMany(alice.address, [first.claims[0], unknown.claims[0]].map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch")
        .withArgs(9n);

      const third = buildDistribution(3n, entries);
      await commit(third, REWARD);
      await pool.connect(guardian).vetoEpoch(3n);
      await expect(claimer(pool).claimMany(alice.address, [first.claims[0], third.claims[0]].map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochVetoed")
        .withArgs(3n);

      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      await expect(claimer(pool).claimMany(alice.address, [second.claims[0], first.claims[0]].map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochExpired")
        .withArgs(1n);
    });

    it("reverts while paused", async function () {
      const { pool, guardian, alice, first } = await networkHelpers.loadFixture(twoEpochsFixture);
      await pool.connect(guardian).pause();
      await expect(
        claimer(pool).claimMany(alice.address, [toClaimStruct(first.claims[0])]),
      ).to.be.revertedWithCustomError(pool, "RewardPoolPaused");
    });

    it("reverts while the account is flagged", async function () {
      const { pool, reputation, keeper, bob, first, second } = await networkHelpers.loadFixture(twoEpochsFixture);
      await flag(reputation, keeper, bob.address);
      await expect(claimer(pool).claimMany(bob.address, [first.claims[1], second.claims[1]].map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolAccountFlagged")
        .withArgs(bob.address);
    });

    it("reverts when the batch would overdraw a faulty epoch", async function () {
      const { pool, keeper, token, alice, commit, entries } = await networkHelpers.loadFixture(deployFixture);
      // Alice appears twice in a faulty tree whose leaves sum to twice the committed ΣC.
      const faulty = buildDistribution(1n, [
        { account: alice.address, contribution: 10n },
        { account: alice.address, contribution: 10n },
      ]);
      await pool.connect(keeper).commitEpoch(1n, faulty.root, 10n, REWARD);
      await commit(buildDistribution(2n, entries), REWARD);
      const [data] = await pool.epochOf(2n);
      await time.increaseTo(data.claimableAt);
      await expect(claimer(pool).claimMany(alice.address, faulty.claims.map(toClaimStruct)))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochOverdrawn")
        .withArgs(1n);
      await expect(claimer(pool).claimMany(alice.address, [toClaimStruct(faulty.claims[1])])).to.changeTokenBalances(
        ethers,
        token,
        [alice],
        [REWARD],
      );
      expect(await reservedFor(pool, [1n, 2n])).to.equal(REWARD, "only epoch 2 still owes");
    });
  });

  describe("expireEpoch", function () {
    it("releases exactly rewardTotal minus claimed and emits EpochExpired", async function () {
      const { pool, token, outsider, distribution, claimableAt } =
        await networkHelpers.loadFixture(claimableEpochFixture);
      await claimer(pool).claim(...claimArgs(distribution.claims[0]));
      await claimer(pool).claim(...claimArgs(distribution.claims[2]));
      const [, claimed] = await pool.epochOf(1n);
      expect(claimed).to.equal(
        expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION) + expectedReward(REWARD, 7n, TOTAL_CONTRIBUTION),
      );
      const unreservedBefore = await pool.unreservedBalance();
      const accountedBefore = await pool.accountedUnreserved();

      await time.setNextBlockTimestamp(claimableAt + CLAIM_PERIOD);
      const tx = pool.connect(outsider).expireEpoch(1n);
      await expect(tx)
        .to.emit(pool, "EpochExpired")
        .withArgs(1n, REWARD - claimed);
      await expect(tx).to.changeTokenBalances(ethers, token, [pool, outsider], [0n, 0n]);
      expect(await pool.statusOf(1n)).to.equal(Status.Expired);
      expect(await pool.reserved()).to.equal(0n);
      expect(await pool.unreservedBalance()).to.equal(unreservedBefore + REWARD - claimed);
      expect(await pool.accountedUnreserved()).to.equal(accountedBefore + REWARD - claimed);
    });

    it("reverts while paused, so holders blocked by the pause keep their rewards", async function () {
      const { pool, token, guardian, alice, distribution, claimableAt } =
        await networkHelpers.loadFixture(claimableEpochFixture);
      await pool.connect(guardian).pause();
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await expect(pool.expireEpoch(1n)).to.be.revertedWithCustomError(pool, "RewardPoolPaused");
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);

      // Once unpaused the claim period resumes where it stopped: holders keep the time they had left.
      await pool.connect(guardian).unpause();
      const [moved] = await pool.epochOf(1n);
      await expect(pool.expireEpoch(1n)).to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning");
      const amount = expectedReward(REWARD, 3n, TOTAL_CONTRIBUTION);
      await expect(claimer(pool).claim(...claimArgs(distribution.claims[0]))).to.changeTokenBalances(
        ethers,
        token,
        [alice],
        [amount],
      );
      await time.increaseTo(moved.claimableAt + CLAIM_PERIOD);
      await expect(pool.expireEpoch(1n))
        .to.emit(pool, "EpochExpired")
        .withArgs(1n, REWARD - amount);
    });

    it("returns the released amount", async function () {
      const { pool, distribution, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      await claimer(pool).claim(...claimArgs(distribution.claims[3]));
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      expect(await pool.expireEpoch.staticCall(1n)).to.equal(REWARD - expectedReward(REWARD, 11n, TOTAL_CONTRIBUTION));
    });

    it("rolls the released rewards over into a later epoch", async function () {
      const { pool, token, entries, distribution, claimableAt, commit } =
        await networkHelpers.loadFixture(claimableEpochFixture);
      await claimer(pool).claim(...claimArgs(distribution.claims[1]));
      // Spend every unreserved token on epoch 2 so that epoch 3 can only be funded by the rollover.
      await commit(buildDistribution(2n, entries), await pool.unreservedBalance());
      expect(await pool.unreservedBalance()).to.equal(0n);
      const [, claimed] = await pool.epochOf(1n);
      const released = REWARD - claimed;
      const third = buildDistribution(3n, entries);
      await expect(commit(third, released))
        .to.be.revertedWithCustomError(pool, "RewardPoolInsufficientUnreserved")
        .withArgs(released, 0n);

      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      expect(await pool.unreservedBalance()).to.equal(released);
      await expect(commit(third, released + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInsufficientUnreserved")
        .withArgs(released + 1n, released);
      const committedAt = await nextTimestamp();
      await expect(commit(third, released))
        .to.emit(pool, "EpochCommitted")
        .withArgs(3n, third.root, third.totalContribution, released);

      const [data] = await pool.epochOf(3n);
      await time.increaseTo(data.claimableAt);
      for (const [i, claim] of third.claims.entries()) {
        const amount = expectedReward(released, entries[i].contribution, third.totalContribution);
        await expect(claimer(pool).claim(...claimArgs(claim))).to.changeTokenBalances(
          ethers,
          token,
          [claim.account],
          [amount],
        );
      }
      expect(await pool.reserved()).to.equal(await committedFor(pool, [2n, 3n]));
      expect((await token.balanceOf(await pool.getAddress())) >= (await reservedFor(pool, [2n, 3n]))).to.equal(true);
    });

    it("reverts while the claim period is running", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const [data] = await pool.epochOf(1n);
      const deadline = data.claimableAt + CLAIM_PERIOD;
      // Pending, then claimable, then the last second of the claim period.
      await expect(pool.expireEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning")
        .withArgs(1n, deadline);
      await time.increaseTo(data.claimableAt);
      await expect(pool.expireEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning")
        .withArgs(1n, deadline);
      await time.setNextBlockTimestamp(deadline - 1n);
      await expect(pool.expireEpoch(1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolClaimPeriodRunning")
        .withArgs(1n, deadline);
    });

    it("reverts when the epoch was never committed", async function () {
      const { pool } = await networkHelpers.loadFixture(claimableEpochFixture);
      await expect(pool.expireEpoch(2n)).to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch").withArgs(2n);
    });

    it("reverts when the epoch was vetoed", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await commit(buildDistribution(1n, entries), REWARD);
      const [data] = await pool.epochOf(1n);
      await pool.connect(guardian).vetoEpoch(1n);
      await time.increaseTo(data.claimableAt + CLAIM_PERIOD);
      await expect(pool.expireEpoch(1n)).to.be.revertedWithCustomError(pool, "RewardPoolEpochVetoed").withArgs(1n);
      expect(await pool.reserved()).to.equal(0n);
    });

    it("reverts when the epoch was already expired", async function () {
      const { pool, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      await expect(pool.expireEpoch(1n)).to.be.revertedWithCustomError(pool, "RewardPoolEpochExpired").withArgs(1n);
      expect(await pool.reserved()).to.equal(0n);
    });
  });

  describe("fund and sync", function () {
    /** A pool over a token whose supply exceeds the pool's 96-bit accounting, with nothing sent to it yet. */
    async function bigSupplyFixture() {
      const [admin, , , , , , , outsider] = await ethers.getSigners();
      const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, 2n ** 100n]);
      const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
      const pool: RewardPool = await ethers.deployContract("RewardPool", [
        admin.address,
        await token.getAddress(),
        await reputation.getAddress(),
        CHALLENGE_WINDOW,
        CLAIM_PERIOD,
      ]);
      return { token, pool, admin, outsider };
    }

    it("pulls the amount with transferFrom, books it as unreserved and emits Funded", async function () {
      const { pool, token, admin, outsider } = await networkHelpers.loadFixture(deployFixture);
      const amount = parseEther("250");
      await token.connect(admin).transfer(outsider.address, amount);
      await token.connect(outsider).approve(await pool.getAddress(), amount);
      const tx = pool.connect(outsider).fund(amount);
      await expect(tx).to.emit(pool, "Funded").withArgs(outsider.address, amount);
      await expect(tx).to.changeTokenBalances(ethers, token, [outsider, pool], [-amount, amount]);
      expect(await pool.accountedUnreserved()).to.equal(amount);
      expect(await pool.reserved()).to.equal(0n);
      // The fixture's plain transfer is still unbooked; unreservedBalance counts it, accountedUnreserved not.
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS + amount);
    });

    it("reverts when the pool may not pull the amount", async function () {
      const { pool, token, outsider } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(outsider).fund(1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await pool.getAddress(), 0n, 1n);
      expect(await pool.accountedUnreserved()).to.equal(0n);
    });

    it("reverts for a zero amount", async function () {
      const { pool, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(pool.connect(admin).fund(0n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidAmount")
        .withArgs(0n);
    });

    it("reverts when reserved plus unreserved would exceed 96 bits, and accepts exactly 2^96 - 1", async function () {
      const { pool, token, admin } = await networkHelpers.loadFixture(bigSupplyFixture);
      const poolAddress = await pool.getAddress();
      await token.connect(admin).approve(poolAddress, UINT96_MAX + 1n);
      await pool.connect(admin).fund(1000n);
      const room = UINT96_MAX - 1000n;
      await expect(pool.connect(admin).fund(room + 1n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidAmount")
        .withArgs(room + 1n);
      // Far above 2^96 the check must not wrap around either.
      await expect(pool.connect(admin).fund(2n ** 255n))
        .to.be.revertedWithCustomError(pool, "RewardPoolInvalidAmount")
        .withArgs(2n ** 255n);
      await expect(pool.connect(admin).fund(room)).to.emit(pool, "Funded").withArgs(admin.address, room);
      expect(await pool.accountedUnreserved()).to.equal(UINT96_MAX);
      expect(await token.balanceOf(poolAddress)).to.equal(UINT96_MAX);
    });

    it("books plain transfers as unreserved, emits Synced and returns the new unreserved balance", async function () {
      const { pool, token, admin, outsider } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.sync.staticCall()).to.equal(POOL_FUNDS);
      await expect(pool.connect(outsider).sync()).to.emit(pool, "Synced").withArgs(POOL_FUNDS);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS);

      await token.connect(admin).transfer(await pool.getAddress(), 42n);
      expect(await pool.sync.staticCall()).to.equal(POOL_FUNDS + 42n);
      await expect(pool.sync()).to.emit(pool, "Synced").withArgs(42n);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS + 42n);
    });

    it("does not emit Synced when there is nothing to book", async function () {
      const { pool, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      await pool.sync();
      await expect(pool.sync()).to.not.emit(pool, "Synced");
      // Reserved tokens are not a surplus either.
      await commit(buildDistribution(1n, entries), REWARD);
      expect(await pool.sync.staticCall()).to.equal(POOL_FUNDS - REWARD);
      await expect(pool.sync()).to.not.emit(pool, "Synced");
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - REWARD);
    });

    it("caps the sync at 96 bits of reserved plus unreserved", async function () {
      const { pool, token, admin } = await networkHelpers.loadFixture(bigSupplyFixture);
      const poolAddress = await pool.getAddress();
      await token.connect(admin).approve(poolAddress, 1000n);
      await pool.connect(admin).fund(1000n);
      await token.connect(admin).transfer(poolAddress, UINT96_MAX + 5n);
      await expect(pool.sync())
        .to.emit(pool, "Synced")
        .withArgs(UINT96_MAX - 1000n);
      expect(await pool.accountedUnreserved()).to.equal(UINT96_MAX);
      await expect(pool.sync()).to.not.emit(pool, "Synced");
      expect(await pool.sync.staticCall()).to.equal(UINT96_MAX);
      const balance = await token.balanceOf(poolAddress);
      expect(balance >= (await pool.reserved()) + (await pool.accountedUnreserved())).to.equal(true);
    });

    it("returns vetoed and expired rewards to the accounted unreserved balance", async function () {
      const { pool, guardian, entries, distribution, claimableAt, commit } =
        await networkHelpers.loadFixture(claimableEpochFixture);
      const afterFirst = POOL_FUNDS - REWARD;
      expect(await pool.accountedUnreserved()).to.equal(afterFirst);
      await commit(buildDistribution(2n, entries), 3n * REWARD);
      expect(await pool.accountedUnreserved()).to.equal(afterFirst - 3n * REWARD);
      await pool.connect(guardian).vetoEpoch(2n);
      expect(await pool.accountedUnreserved()).to.equal(afterFirst);

      await claimer(pool).claim(...claimArgs(distribution.claims[2]));
      const paid = expectedReward(REWARD, 7n, TOTAL_CONTRIBUTION);
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      expect(await pool.accountedUnreserved()).to.equal(POOL_FUNDS - paid);
      expect(await pool.reserved()).to.equal(0n);
    });
  });

  describe("claimed bitmap", function () {
    it("keeps isClaimed independent for every neighbour across epoch groups of 8 and index groups of 32", async function () {
      const { pool, keeper } = await networkHelpers.loadFixture(deployFixture);
      const signers = await ethers.getSigners();
      // Indices on both sides of the 32-index and 256-index word boundaries; epochs 1..20 span three groups of 8.
      const indices = [0n, 30n, 31n, 32n, 33n, 63n, 64n, 254n, 255n, 256n, 257n];
      const accounts = indices.map((_, position) => signers[8 + position].address);
      const epochs = Array.from({ length: 20 }, (_, i) => BigInt(i + 1));
      const distributions = epochs.map((epoch) =>
        buildDistribution(
          epoch,
          indices.map((index, position) => ({ account: accounts[position], contribution: 1n, index })),
        ),
      );
      for (const distribution of distributions) {
        await pool
          .connect(keeper)
          .commitEpoch(distribution.epoch, distribution.root, distribution.totalContribution, REWARD / 20n);
      }
      await time.increaseTo((await pool.epochOf(20n))[0].claimableAt);

      // A checkerboard: every claimed leaf's neighbours in epoch and in index are unclaimed, and vice versa.
      const firstHalf = (epoch: bigint, position: number) => (epoch + BigInt(position)) % 2n === 0n;
      const claimAll = async (which: (epoch: bigint, position: number) => boolean) => {
        for (const [position, account] of accounts.entries()) {
          const claims = distributions.flatMap((d) => d.claims.filter((c) => c.index === indices[position]));
          const chosen = claims.filter((claim) => which(claim.epoch, position));
          await claimer(pool).claimMany(account, chosen.map(toClaimStruct));
        }
      };
      const expectClaimed = async (claimed: (epoch: bigint, position: number) => boolean) => {
        for (let epoch = 0n; epoch <= 21n; ++epoch) {
          for (const [position, index] of indices.entries()) {
            const expected = epoch >= 1n && epoch <= 20n && claimed(epoch, position);
            expect(await pool.isClaimed(epoch, index)).to.equal(expected, `epoch ${epoch} index ${index}`);
          }
          for (const outside of [1n, 29n, 34n, 65n, 253n, 258n, 511n, 512n]) {
            expect(await pool.isClaimed(epoch, outside)).to.equal(false, `epoch ${epoch} index ${outside}`);
          }
        }
      };

      await claimAll(firstHalf);
      await expectClaimed(firstHalf);
      // The other half is still claimable: no bit of the first half was taken for one of the second.
      await claimAll((epoch, position) => !firstHalf(epoch, position));
      await expectClaimed(() => true);
    });
  });

  describe("views", function () {
    it("reports each status of an epoch's lifecycle", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.statusOf(1n)).to.equal(Status.None);
      await commit(buildDistribution(1n, entries), REWARD);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      const [data] = await pool.epochOf(1n);
      await time.increaseTo(data.claimableAt - 1n);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      await time.increaseTo(data.claimableAt);
      expect(await pool.statusOf(1n)).to.equal(Status.Claimable);
      await time.increaseTo(data.claimableAt + CLAIM_PERIOD);
      await pool.expireEpoch(1n);
      expect(await pool.statusOf(1n)).to.equal(Status.Expired);

      await commit(buildDistribution(2n, entries), REWARD);
      await pool.connect(guardian).vetoEpoch(2n);
      expect(await pool.statusOf(2n)).to.equal(Status.Vetoed);
    });

    it("returns zeros for an epoch never committed", async function () {
      const { pool } = await networkHelpers.loadFixture(claimableEpochFixture);
      const [data, claimed] = await pool.epochOf(2n);
      expect(data.root).to.equal(ZeroHash);
      expect(data.totalContribution).to.equal(0n);
      expect(data.rewardTotal).to.equal(0n);
      expect(data.claimableAt).to.equal(0n);
      expect(claimed).to.equal(0n);
      expect(await pool.rewardFor(2n, 5n)).to.equal(0n);
      expect(await pool.isClaimed(2n, 0n)).to.equal(false);
    });

    it("computes rewardFor as R_total · C_i / ΣC rounded down", async function () {
      const { pool } = await networkHelpers.loadFixture(claimableEpochFixture);
      for (const contribution of [0n, 1n, 3n, 13n, TOTAL_CONTRIBUTION]) {
        expect(await pool.rewardFor(1n, contribution)).to.equal(
          expectedReward(REWARD, contribution, TOTAL_CONTRIBUTION),
        );
      }
    });

    it("computes rewardFor for a pending epoch too, with a product that does not fit 256 bits", async function () {
      const { pool, keeper, token, entries } = await networkHelpers.loadFixture(deployFixture);
      const reward = POOL_FUNDS;
      const total = 2n ** 120n - 1n;
      await pool.connect(keeper).commitEpoch(1n, buildDistribution(1n, entries).root, total, reward);
      expect(await pool.statusOf(1n)).to.equal(Status.Pending);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(reward);
      // R_total · C_i exceeds 2^256 for C_i near 2^200: mulDiv keeps the exact quotient.
      const huge = 2n ** 200n + 12345n;
      expect(reward * huge > 2n ** 256n, "the example must overflow a plain product").to.equal(true);
      for (const contribution of [1n, 2n ** 100n, huge, total]) {
        expect(await pool.rewardFor(1n, contribution), `contribution ${contribution}`).to.equal(
          expectedReward(reward, contribution, total),
        );
      }
    });

    it("returns 0 from rewardFor for a vetoed epoch, and the new formula once it is recommitted", async function () {
      const { pool, guardian, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      const distribution = buildDistribution(1n, entries);
      await commit(distribution, REWARD);
      expect(await pool.rewardFor(1n, 5n)).to.equal(expectedReward(REWARD, 5n, TOTAL_CONTRIBUTION));
      await pool.connect(guardian).vetoEpoch(1n);
      for (const contribution of [1n, 5n, TOTAL_CONTRIBUTION]) {
        expect(await pool.rewardFor(1n, contribution), `contribution ${contribution}`).to.equal(0n);
      }
      await commit(distribution, 2n * REWARD);
      expect(await pool.rewardFor(1n, 5n)).to.equal(expectedReward(2n * REWARD, 5n, TOTAL_CONTRIBUTION));
    });

    it("returns 0 from rewardFor for an expired epoch", async function () {
      const { pool, claimableAt } = await networkHelpers.loadFixture(claimableEpochFixture);
      await time.increaseTo(claimableAt + CLAIM_PERIOD);
      // Past the deadline but not expired yet: still claimable, still priced.
      expect(await pool.rewardFor(1n, 5n)).to.equal(expectedReward(REWARD, 5n, TOTAL_CONTRIBUTION));
      await pool.expireEpoch(1n);
      for (const contribution of [1n, 5n, TOTAL_CONTRIBUTION]) {
        expect(await pool.rewardFor(1n, contribution), `contribution ${contribution}`).to.equal(0n);
      }
    });

    it("tracks the unreserved balance against direct transfers and reservations", async function () {
      const { pool, token, entries, commit } = await networkHelpers.loadFixture(deployFixture);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS);
      await token.transfer(await pool.getAddress(), 7n);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS + 7n);
      await commit(buildDistribution(1n, entries), REWARD);
      expect(await pool.reserved()).to.equal(REWARD);
      expect(await pool.unreservedBalance()).to.equal(POOL_FUNDS + 7n - REWARD);
    });

    it("computes leafOf in the StandardMerkleTree encoding", async function () {
      const { pool, alice } = await networkHelpers.loadFixture(deployFixture);
      const coder = AbiCoder.defaultAbiCoder();
      const values = [2n ** 64n - 1n, 2n ** 255n, alice.address, 123456789n] as const;
      const inner = keccak256(coder.encode(["uint64", "uint256", "address", "uint256"], values));
      const leaf = buildDistribution(values[0], [
        { account: values[2], contribution: values[3], index: values[1] },
      ]).tree.leafHash([...values]);
      expect(keccak256(inner)).to.equal(leaf);
      expect(await pool.leafOf(...values)).to.equal(leaf);
    });
  });
});
