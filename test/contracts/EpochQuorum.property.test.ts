import { expect } from "chai";
import { Wallet, id } from "ethers";
import { network } from "hardhat";

import { createRandom, type Random } from "./helpers/random.js";
import { signCommitment, signResolution, type EpochCommitment } from "./helpers/quorum.ts";
import { deployQuorumSet } from "./helpers/quorum-deploy.ts";
import { buildDistribution } from "./helpers/rewards.ts";

const { ethers, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

const HOUR = 3600n;
const CHALLENGE_WINDOW = HOUR;
const CLAIM_PERIOD = 24n * HOUR;
const BOND = 10n ** 18n;
const KEYS = 8;
const STEPS = 60;
const RUNS = 2;

/** Eight keys the admin moves in and out of the keeper set. */
const wallets = Array.from({ length: KEYS }, (_, i) => new Wallet(id(`lumora quorum property key ${i}`)));

async function deployFixture() {
  const [admin, guardian, submitter, challenger] = await ethers.getSigners();
  const set = await deployQuorumSet(ethers, {
    admin,
    guardian,
    challenger,
    keepers: wallets.slice(0, 5).map((w) => w.address),
    threshold: 3,
    challengeWindow: CHALLENGE_WINDOW,
    claimPeriod: CLAIM_PERIOD,
    supply: 10n ** 28n,
    fund: 10n ** 27n,
    bond: BOND,
    challengerFunds: 100n * BOND,
  });
  return { ...set, admin, guardian, submitter, challenger };
}

describe("EpochQuorum properties", function () {
  for (let run = 0; run < RUNS; run++) {
    const random = createRandom(createRandom().seed + run);
    it(`commits an epoch exactly when ≥ t current keepers signed it, and resolves a challenge exactly when a supermajority did, through keeper-set changes, vetoes, challenges and pauses (seed ${random.seed})`, async function () {
      await scenario(random);
    });
  }
});

async function scenario(random: Random) {
  const { token, taskLog, pool, quorum, admin, guardian, submitter, challenger, domain } =
    await loadFixture(deployFixture);
  const poolAddress = await pool.getAddress();
  // The model: the keeper set and threshold, and what each epoch holds.
  const keepers = new Set(wallets.slice(0, 5).map((w) => w.address));
  let threshold = 3;
  let committed = 0n;
  const vetoed = new Set<bigint>();
  const context = (step: number, what: string) => `seed ${random.seed}, step ${step} (${what})`;

  const commitment = (epoch: bigint): EpochCommitment => ({
    epoch,
    taskRoot: random.bytes32(),
    taskCount: BigInt(random.int(1, 1000)),
    taskUri: `lumora:epoch/${epoch}/tasks`,
    rewardRoot: buildDistribution(epoch, [{ account: random.address(), contribution: BigInt(random.int(1, 1e6)) }])
      .root,
    totalContribution: BigInt(random.int(1, 1e6)),
    rewardTotal: BigInt(random.int(1, 1e9)) * 10n ** 9n,
    reportsRoot: "0x" + "00".repeat(32),
    evidenceHash: random.bytes32(),
  });

  let keeperResolutions = 0;
  for (let step = 0; step < STEPS; step++) {
    const roll = random.int(0, 99);
    if (roll < 45) {
      // A commit attempt signed by a random subset of all keys (members and non-members alike).
      const epoch = committed + 1n;
      const c = commitment(epoch);
      // Mostly members only (around the threshold), sometimes any keys.
      const pool_ = random.chance(0.7) ? wallets.filter((w) => keepers.has(w.address)) : wallets;
      const signers = random.shuffle(pool_).slice(0, random.int(Math.max(0, threshold - 1), pool_.length));
      const members = signers.filter((w) => keepers.has(w.address)).length;
      const strangers = signers.length - members;
      const tx = quorum.connect(submitter).commitEpoch(c, [], [], await signCommitment(signers, domain, c));
      const what = `commit epoch ${epoch}: ${members} keepers + ${strangers} others signed, t = ${threshold}`;
      if (signers.length < threshold) {
        await expect(tx, context(step, what)).to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures");
      } else if (strangers > 0) {
        await expect(tx, context(step, what)).to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper");
      } else {
        await expect(tx, context(step, what)).to.emit(quorum, "EpochApproved");
        committed = epoch;
      }
    } else if (roll < 60) {
      // The admin changes the keeper set or the threshold, within 1 ≤ t ≤ n.
      const key = random.pick(wallets).address;
      if (keepers.has(key)) {
        if (keepers.size - 1 >= threshold) {
          await expect(quorum.connect(admin).removeKeeper(key)).to.emit(quorum, "KeeperRemoved").withArgs(key);
          keepers.delete(key);
        } else {
          await expect(quorum.connect(admin).removeKeeper(key)).to.be.revertedWithCustomError(
            quorum,
            "EpochQuorumInvalidThreshold",
          );
        }
      } else {
        await expect(quorum.connect(admin).addKeeper(key)).to.emit(quorum, "KeeperAdded").withArgs(key);
        keepers.add(key);
      }
      const t = random.int(1, keepers.size);
      await expect(quorum.connect(admin).setThreshold(t)).to.emit(quorum, "ThresholdSet").withArgs(t, keepers.size);
      threshold = t;
    } else if (roll < 70 && committed > 0n && !vetoed.has(committed)) {
      // The guardian vetoes the latest epoch while pending; then a quorum recommits it.
      if ((await pool.statusOf(committed)) === 1n) {
        await pool.connect(guardian).vetoEpoch(committed);
        vetoed.add(committed);
        const [held] = await taskLog.queryFilter(taskLog.filters.EpochCommitted(committed));
        const c = {
          ...commitment(committed),
          taskRoot: await taskLog.rootOf(committed),
          taskCount: held.args.taskCount,
        };
        const signers = random.shuffle(wallets.filter((w) => keepers.has(w.address))).slice(0, threshold);
        await expect(quorum.recommitRewards(c, await signCommitment(signers, domain, c))).to.emit(
          pool,
          "EpochCommitted",
        );
        vetoed.delete(committed);
      }
    } else if (roll < 80 && committed > 0n) {
      // Someone challenges the latest epoch if it is pending. A random subset of the keys signs a resolution: it
      // passes exactly when at least a supermajority, max(t, ⌈2n/3⌉), of current keepers and nobody else signed;
      // otherwise the guardian rejects the challenge.
      if ((await pool.statusOf(committed)) === 1n) {
        await pool.connect(challenger).challengeEpoch(committed);
        const challengeId = (await pool.challengeOf(committed)).id;
        const supermajority = Math.max(threshold, Math.ceil((2 * keepers.size) / 3));
        expect(await quorum.supermajority(), context(step, "supermajority")).to.equal(BigInt(supermajority));
        const pool_ = random.chance(0.8) ? wallets.filter((w) => keepers.has(w.address)) : wallets;
        const signers = random.shuffle(pool_).slice(0, random.int(Math.max(0, supermajority - 1), pool_.length));
        const members = signers.filter((w) => keepers.has(w.address)).length;
        const strangers = signers.length - members;
        const upheld = random.chance(0.5);
        const resolution = { epoch: committed, challengeId, upheld };
        const tx = quorum.resolveChallenge(
          committed,
          challengeId,
          upheld,
          await signResolution(signers, domain, resolution),
        );
        const what = `resolve challenge ${challengeId}: ${members} keepers + ${strangers} others signed, supermajority ${supermajority}`;
        if (signers.length < supermajority) {
          await expect(tx, context(step, what)).to.be.revertedWithCustomError(quorum, "EpochQuorumNotEnoughSignatures");
        } else if (strangers > 0) {
          await expect(tx, context(step, what)).to.be.revertedWithCustomError(quorum, "EpochQuorumNotKeeper");
        } else if (upheld) {
          await expect(tx, context(step, what)).to.emit(pool, "ChallengeUpheld");
          keeperResolutions += 1;
          expect(await pool.statusOf(committed), context(step, what)).to.equal(3n);
          // The keepers recommit the vetoed epoch's rewards, as after a guardian's veto.
          const [held] = await taskLog.queryFilter(taskLog.filters.EpochCommitted(committed));
          const c = {
            ...commitment(committed),
            taskRoot: await taskLog.rootOf(committed),
            taskCount: held.args.taskCount,
          };
          const recommitters = random.shuffle(wallets.filter((w) => keepers.has(w.address))).slice(0, threshold);
          await expect(quorum.recommitRewards(c, await signCommitment(recommitters, domain, c))).to.emit(
            pool,
            "EpochCommitted",
          );
        } else {
          await expect(tx, context(step, what)).to.emit(pool, "ChallengeRejected");
          keeperResolutions += 1;
        }
        if ((await pool.statusOf(committed)) === 5n) await pool.connect(guardian).rejectChallenge(committed);
      }
    } else if (roll < 90) {
      // A pause: a commit attempt with enough signatures is refused while paused, and nothing moves.
      await pool.connect(guardian).pause();
      const c = commitment(committed + 1n);
      const signers = random.shuffle(wallets.filter((w) => keepers.has(w.address))).slice(0, threshold);
      await expect(
        quorum.commitEpoch(c, [], [], await signCommitment(signers, domain, c)),
      ).to.be.revertedWithCustomError(pool, "RewardPoolPaused");
      await pool.connect(guardian).unpause();
    } else {
      await time.increase(random.int(0, Number(2n * CHALLENGE_WINDOW)));
    }

    // Invariants after every step.
    const ctx = context(step, "invariants");
    expect(await taskLog.lastEpoch(), ctx).to.equal(committed);
    expect(await pool.lastEpoch(), ctx).to.equal(committed);
    expect(new Set(await quorum.keepers()), ctx).to.deep.equal(keepers);
    expect(await quorum.threshold(), ctx).to.equal(BigInt(threshold));
    const [balance, reserved, unreserved, bonded] = await Promise.all([
      token.balanceOf(poolAddress),
      pool.reserved(),
      pool.accountedUnreserved(),
      pool.bonded(),
    ]);
    expect(balance >= reserved + unreserved + bonded, `${ctx}: solvency`).to.equal(true);
  }
  expect(committed > 0n, `seed ${random.seed}: some epoch was committed`).to.equal(true);
  expect(keeperResolutions > 0, `seed ${random.seed}: some challenge was resolved by the keepers`).to.equal(true);
}
