/**
 * The cheap claim path (docs/gas.md): the epoch header a claim carries, the flags Reputation mirrors into the pool,
 * and the accounting a claim no longer writes.
 */
import { expect } from "chai";
import { network } from "hardhat";

import type { LumoraToken, Reputation, RewardPool } from "../../types/ethers-contracts/index.ts";

import { buildDistribution, claimer, headerOf, toClaimStruct } from "./helpers/rewards.ts";

const { ethers, networkHelpers } = await network.create();

const WINDOW = 600n;
const PERIOD = 86_400n;
const REWARD = 1_000n * 10n ** 18n;
const FUNDS = 10_000n * 10n ** 18n;
const PARAMETERS = {
  neutralScore: 5000,
  decayBps: 1000,
  learningRateBps: 5000,
  failingRateBps: 2000,
  flagAfterFailingEpochs: 1,
  flagBelowScore: 2000,
  warnBelowScore: 3000,
  unflagAfterGoodEpochs: 1,
  unflagAtScore: 2000,
};

async function deploy(link: boolean) {
  const [admin, keeper, alice, bob, outsider] = await ethers.getSigners();
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, FUNDS * 10n]);
  const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, PARAMETERS]);
  const pool: RewardPool = await ethers.deployContract("RewardPool", [
    admin.address,
    await token.getAddress(),
    await reputation.getAddress(),
    WINDOW,
    PERIOD,
  ]);
  if (link) await reputation.setFlagMirror(await pool.getAddress());
  for (const c of [reputation, pool]) await c.grantRole(await c.KEEPER_ROLE(), keeper.address);
  await token.approve(await pool.getAddress(), FUNDS);
  await pool.fund(FUNDS);
  return { token, reputation, pool, admin, keeper, alice, bob, outsider };
}

const linkedFixture = () => deploy(true);
const unlinkedFixture = () => deploy(false);

async function claimableFixture() {
  const base = await deploy(true);
  const distribution = buildDistribution(1n, [
    { account: base.alice.address, contribution: 3n },
    { account: base.bob.address, contribution: 7n },
  ]);
  await base.pool.connect(base.keeper).commitEpoch(1n, distribution.root, distribution.totalContribution, REWARD);
  await networkHelpers.time.increase(WINDOW);
  return { ...base, distribution };
}

describe("RewardPool claim path", function () {
  describe("flag mirror", function () {
    it("refuses commitments until Reputation mirrors its flags into the pool", async function () {
      const { pool, reputation, keeper } = await networkHelpers.loadFixture(unlinkedFixture);
      const d = buildDistribution(1n, [{ account: keeper.address, contribution: 1n }]);
      await expect(
        pool.connect(keeper).commitEpoch(1n, d.root, d.totalContribution, REWARD),
      ).to.be.revertedWithCustomError(pool, "RewardPoolFlagsNotMirrored");
      await expect(reputation.setFlagMirror(await pool.getAddress()))
        .to.emit(reputation, "FlagMirrorLinked")
        .withArgs(await pool.getAddress())
        .and.to.emit(pool, "FlagsMirrored")
        .withArgs(await reputation.getAddress());
      await expect(pool.connect(keeper).commitEpoch(1n, d.root, d.totalContribution, REWARD)).to.emit(
        pool,
        "EpochCommitted",
      );
    });

    it("links once, before any report, by the admin only, and never to zero", async function () {
      const { pool, reputation, keeper, outsider } = await networkHelpers.loadFixture(unlinkedFixture);
      const address = await pool.getAddress();
      await expect(reputation.connect(outsider).setFlagMirror(address)).to.be.revertedWithCustomError(
        reputation,
        "AccessControlUnauthorizedAccount",
      );
      await expect(reputation.setFlagMirror(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(reputation, "ReputationFlagMirrorNotLinkable")
        .withArgs(ethers.ZeroAddress);
      await reputation.connect(keeper).applyReports(1n, []);
      await expect(reputation.setFlagMirror(address))
        .to.be.revertedWithCustomError(reputation, "ReputationFlagMirrorNotLinkable")
        .withArgs(address);

      const fresh = await deploy(true);
      await expect(fresh.reputation.setFlagMirror(await fresh.pool.getAddress()))
        .to.be.revertedWithCustomError(fresh.reputation, "ReputationFlagMirrorNotLinkable")
        .withArgs(await fresh.pool.getAddress());
    });

    it("accepts flag changes and the link only from its Reputation contract", async function () {
      const { pool, outsider } = await networkHelpers.loadFixture(linkedFixture);
      await expect(pool.connect(outsider).setFlagged(outsider.address, true))
        .to.be.revertedWithCustomError(pool, "RewardPoolNotReputation")
        .withArgs(outsider.address);
      await expect(pool.connect(outsider).onFlagMirrorLinked())
        .to.be.revertedWithCustomError(pool, "RewardPoolNotReputation")
        .withArgs(outsider.address);
    });

    it("follows Reputation's flag and unflag of an account, and blocks its claims meanwhile", async function () {
      const { pool, reputation, keeper, alice, distribution } = await networkHelpers.loadFixture(claimableFixture);
      const report = (successes: number, failures: number) =>
        ethers.solidityPacked(["address", "uint32", "uint32", "uint32"], [alice.address, successes, failures, 0]);
      await expect(reputation.connect(keeper).applyReports(1n, [report(0, 5)])).to.emit(reputation, "NodeFlagged");
      expect(await pool.isFlagged(alice.address)).to.equal(true);
      const c = distribution.claims[0];
      await expect(claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolAccountFlagged")
        .withArgs(alice.address);
      await expect(claimer(pool).claimMany(alice.address, [toClaimStruct(c)]))
        .to.be.revertedWithCustomError(pool, "RewardPoolAccountFlagged")
        .withArgs(alice.address);

      await expect(reputation.connect(keeper).applyReports(2n, [report(9, 0)])).to.emit(reputation, "NodeUnflagged");
      expect(await pool.isFlagged(alice.address)).to.equal(false);
      await expect(claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof)).to.emit(pool, "Claimed");
    });
  });

  describe("epoch header", function () {
    it("rejects a header that is not the committed one, before and after the epoch's first claim", async function () {
      const { pool, alice, bob, distribution } = await networkHelpers.loadFixture(claimableFixture);
      const header = await headerOf(pool, 1n);
      const [a, b] = distribution.claims;
      const inflated = { root: header.root, terms: header.terms + (1n << 120n) }; // R_total + 1
      await expect(pool.claim(1n, inflated, a.index, alice.address, a.contribution, a.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolWrongHeader")
        .withArgs(1n);
      const otherRoot = { root: ethers.keccak256("0x02"), terms: header.terms };
      await expect(pool.claim(1n, otherRoot, a.index, alice.address, a.contribution, a.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolWrongHeader")
        .withArgs(1n);

      await expect(pool.claim(1n, header, a.index, alice.address, a.contribution, a.proof)).to.emit(pool, "Claimed");
      // After the first claim the digest decides.
      await expect(pool.claim(1n, inflated, b.index, bob.address, b.contribution, b.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolWrongHeader")
        .withArgs(1n);
      await expect(
        pool.claimMany(bob.address, [{ ...toClaimStruct(b), header: inflated }]),
      ).to.be.revertedWithCustomError(pool, "RewardPoolWrongHeader");
      await expect(pool.claim(1n, header, b.index, bob.address, b.contribution, b.proof)).to.emit(pool, "Claimed");
    });

    it("reports an unknown epoch whatever header the claim carries", async function () {
      const { pool, alice, distribution } = await networkHelpers.loadFixture(claimableFixture);
      const a = distribution.claims[0];
      await expect(pool.claim(9n, await headerOf(pool, 1n), a.index, alice.address, a.contribution, a.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolUnknownEpoch")
        .withArgs(9n);
    });

    it("reverts as overdrawn for a contribution of 2^160 or more instead of overflowing", async function () {
      const { pool, keeper, alice } = await networkHelpers.loadFixture(claimableFixture);
      const faulty = buildDistribution(2n, [
        { account: alice.address, contribution: 2n ** 200n },
        { account: alice.address, contribution: 1n },
      ]);
      await pool.connect(keeper).commitEpoch(2n, faulty.root, 10n, REWARD);
      await networkHelpers.time.increase(WINDOW);
      const c = faulty.claims[0];
      await expect(claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof))
        .to.be.revertedWithCustomError(pool, "RewardPoolEpochOverdrawn")
        .withArgs(2n);
    });
  });

  describe("accounting", function () {
    it("books a plain transfer only beyond what live epochs paid out, the rest once they expire", async function () {
      const { pool, token, admin, distribution } = await networkHelpers.loadFixture(claimableFixture);
      for (const c of distribution.claims) {
        await claimer(pool).claim(c.epoch, c.index, c.account, c.contribution, c.proof);
      }
      const [, paid] = await pool.epochOf(1n);
      expect(await pool.reserved()).to.equal(REWARD);
      expect(await pool.unreservedBalance()).to.equal(FUNDS - REWARD);

      await token.connect(admin).transfer(await pool.getAddress(), paid + 5n);
      expect(await pool.unreservedBalance()).to.equal(FUNDS - REWARD + 5n);
      await expect(pool.sync()).to.emit(pool, "Synced").withArgs(5n);

      await networkHelpers.time.increase(PERIOD);
      await expect(pool.expireEpoch(1n))
        .to.emit(pool, "EpochExpired")
        .withArgs(1n, REWARD - paid);
      expect(await pool.reserved()).to.equal(0n);
      await expect(pool.sync()).to.emit(pool, "Synced").withArgs(paid);
      expect(await pool.accountedUnreserved()).to.equal(await token.balanceOf(await pool.getAddress()));
    });
  });
});
