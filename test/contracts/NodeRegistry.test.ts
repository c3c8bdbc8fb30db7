import { expect } from "chai";
import { ZeroAddress, parseEther } from "ethers";
import { network } from "hardhat";

import type { LumoraToken, NodeRegistry } from "../../types/ethers-contracts/index.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const DAY = 86_400n;
const MIN_BOND = parseEther("100");
const UNBONDING_DELAY = 7n * DAY;
const MAX_UNBONDING_DELAY = 365n * DAY;
const UINT96_MAX = 2n ** 96n - 1n;

async function deployFixture() {
  const [admin, alice, bob, funder, outsider] = await ethers.getSigners();
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, parseEther("1000000")]);
  const registry: NodeRegistry = await ethers.deployContract("NodeRegistry", [
    admin.address,
    await token.getAddress(),
    MIN_BOND,
    UNBONDING_DELAY,
  ]);
  const registryAddress = await registry.getAddress();
  for (const s of [alice, bob, funder]) {
    await token.transfer(s.address, parseEther("10000"));
    await token.connect(s).approve(registryAddress, parseEther("10000"));
  }
  return { token, registry, registryAddress, admin, alice, bob, funder, outsider };
}

/** Alice bonded 300 LUM. */
async function bondedFixture() {
  const f = await deployFixture();
  await f.registry.connect(f.alice).bond(parseEther("300"));
  return f;
}

describe("NodeRegistry", function () {
  describe("constructor", function () {
    it("stores the token and parameters, grants the admin role and emits both parameter events", async function () {
      const { registry, token, admin } = await networkHelpers.loadFixture(deployFixture);
      expect(await registry.token()).to.equal(await token.getAddress());
      expect(await registry.minBond()).to.equal(MIN_BOND);
      expect(await registry.unbondingDelay()).to.equal(UNBONDING_DELAY);
      expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      const deployment = registry.deploymentTransaction()!;
      await expect(deployment).to.emit(registry, "MinBondSet").withArgs(MIN_BOND);
      await expect(deployment).to.emit(registry, "UnbondingDelaySet").withArgs(UNBONDING_DELAY);
    });

    it("reverts on a zero admin or token", async function () {
      const { token, admin } = await networkHelpers.loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("NodeRegistry");
      const tokenAddress = await token.getAddress();
      await expect(factory.deploy(ZeroAddress, tokenAddress, MIN_BOND, UNBONDING_DELAY)).to.be.revertedWithCustomError(
        factory,
        "NodeRegistryZeroAddress",
      );
      await expect(factory.deploy(admin.address, ZeroAddress, MIN_BOND, UNBONDING_DELAY)).to.be.revertedWithCustomError(
        factory,
        "NodeRegistryZeroAddress",
      );
    });

    it("reverts on a zero minimum bond or a delay above the maximum", async function () {
      const { token, admin } = await networkHelpers.loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("NodeRegistry");
      const tokenAddress = await token.getAddress();
      await expect(factory.deploy(admin.address, tokenAddress, 0n, UNBONDING_DELAY))
        .to.be.revertedWithCustomError(factory, "NodeRegistryInvalidAmount")
        .withArgs(0n);
      await expect(factory.deploy(admin.address, tokenAddress, MIN_BOND, MAX_UNBONDING_DELAY + 1n))
        .to.be.revertedWithCustomError(factory, "NodeRegistryInvalidDelay")
        .withArgs(MAX_UNBONDING_DELAY + 1n);
    });
  });

  describe("bond", function () {
    it("pulls the tokens, raises the active bond and the total, and emits Bonded", async function () {
      const { registry, registryAddress, token, alice } = await networkHelpers.loadFixture(deployFixture);
      const tx = registry.connect(alice).bond(MIN_BOND);
      await expect(tx).to.emit(registry, "Bonded").withArgs(alice.address, alice.address, MIN_BOND, MIN_BOND);
      await expect(tx).to.changeTokenBalances(ethers, token, [alice, registryAddress], [-MIN_BOND, MIN_BOND]);
      await expect(registry.connect(alice).bond(parseEther("5")))
        .to.emit(registry, "Bonded")
        .withArgs(alice.address, alice.address, parseEther("5"), parseEther("105"));
      expect(await registry.bondOf(alice.address)).to.equal(parseEther("105"));
      expect(await registry.totalBonded()).to.equal(parseEther("105"));
      expect(await registry.isBonded(alice.address)).to.equal(true);
    });

    it("reverts when the resulting bond stays below the minimum", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(alice).bond(MIN_BOND - 1n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryBelowMinimum")
        .withArgs(alice.address, MIN_BOND - 1n, MIN_BOND);
    });

    it("reverts on a zero amount and on an amount past the 96-bit accounting", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(alice).bond(0n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidAmount")
        .withArgs(0n);
      await expect(registry.connect(alice).bond(UINT96_MAX + 1n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidAmount")
        .withArgs(UINT96_MAX + 1n);
    });

    it("reverts when the caller has not approved the registry", async function () {
      const { registry, token, outsider, admin } = await networkHelpers.loadFixture(deployFixture);
      await token.connect(admin).transfer(outsider.address, MIN_BOND);
      await expect(registry.connect(outsider).bond(MIN_BOND))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await registry.getAddress(), 0n, MIN_BOND);
    });
  });

  describe("bondFor", function () {
    it("bonds the caller's tokens for another account, which alone owns them", async function () {
      const { registry, token, funder, bob } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(funder).bondFor(bob.address, MIN_BOND))
        .to.emit(registry, "Bonded")
        .withArgs(bob.address, funder.address, MIN_BOND, MIN_BOND);
      expect(await registry.bondOf(bob.address)).to.equal(MIN_BOND);
      expect(await registry.bondOf(funder.address)).to.equal(0n);
      await expect(registry.connect(funder).requestUnbond(MIN_BOND))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInsufficientBond")
        .withArgs(funder.address, MIN_BOND, 0n);
      await registry.connect(bob).requestUnbond(MIN_BOND);
      await time.increase(UNBONDING_DELAY);
      await expect(registry.connect(bob).withdraw()).to.changeTokenBalance(ethers, token, bob, MIN_BOND);
    });

    it("reverts for the zero account", async function () {
      const { registry, funder } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(funder).bondFor(ZeroAddress, MIN_BOND)).to.be.revertedWithCustomError(
        registry,
        "NodeRegistryZeroAddress",
      );
    });
  });

  describe("requestUnbond", function () {
    it("stops the amount counting at once and dates its withdrawal one delay later", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(bondedFixture);
      const tx = registry.connect(alice).requestUnbond(parseEther("250"));
      const at = BigInt((await time.latest()) + 1);
      await expect(tx)
        .to.emit(registry, "UnbondRequested")
        .withArgs(alice.address, parseEther("250"), parseEther("50"), parseEther("250"), at + UNBONDING_DELAY);
      expect(await registry.bondOf(alice.address)).to.equal(parseEther("50"));
      expect(await registry.totalBonded()).to.equal(parseEther("50"));
      expect(await registry.isBonded(alice.address), "50 LUM active is below the 100 LUM minimum").to.equal(false);
      const [amount, withdrawableAt] = await registry.unbondingOf(alice.address);
      expect(amount).to.equal(parseEther("250"));
      expect(withdrawableAt).to.equal(at + UNBONDING_DELAY);
    });

    it("adds a second request to the amount in unbonding and restarts the delay for all of it", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(bondedFixture);
      await registry.connect(alice).requestUnbond(parseEther("100"));
      await time.increase(DAY);
      await registry.connect(alice).requestUnbond(parseEther("100"));
      const now = BigInt(await time.latest());
      const [amount, withdrawableAt] = await registry.unbondingOf(alice.address);
      expect(amount).to.equal(parseEther("200"));
      expect(withdrawableAt).to.equal(now + UNBONDING_DELAY);
    });

    it("reverts on zero and on more than the active bond", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(bondedFixture);
      await expect(registry.connect(alice).requestUnbond(0n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidAmount")
        .withArgs(0n);
      await expect(registry.connect(alice).requestUnbond(parseEther("301")))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInsufficientBond")
        .withArgs(alice.address, parseEther("301"), parseEther("300"));
    });
  });

  describe("withdraw", function () {
    it("reverts before the delay and pays the account back once it has passed", async function () {
      const { registry, registryAddress, token, alice } = await networkHelpers.loadFixture(bondedFixture);
      await registry.connect(alice).requestUnbond(parseEther("300"));
      const [, withdrawableAt] = await registry.unbondingOf(alice.address);
      await time.setNextBlockTimestamp(withdrawableAt - 1n);
      await expect(registry.connect(alice).withdraw())
        .to.be.revertedWithCustomError(registry, "NodeRegistryStillUnbonding")
        .withArgs(alice.address, withdrawableAt);
      await time.setNextBlockTimestamp(withdrawableAt);
      const tx = registry.connect(alice).withdraw();
      await expect(tx).to.emit(registry, "Withdrawn").withArgs(alice.address, parseEther("300"));
      await expect(tx).to.changeTokenBalances(
        ethers,
        token,
        [alice, registryAddress],
        [parseEther("300"), -parseEther("300")],
      );
      expect(await registry.unbondingOf(alice.address)).to.deep.equal([0n, 0n]);
    });

    it("reverts when nothing is in unbonding, also after a withdrawal (no double withdrawal)", async function () {
      const { registry, alice } = await networkHelpers.loadFixture(bondedFixture);
      await expect(registry.connect(alice).withdraw())
        .to.be.revertedWithCustomError(registry, "NodeRegistryNothingToWithdraw")
        .withArgs(alice.address);
      await registry.connect(alice).requestUnbond(parseEther("300"));
      await time.increase(UNBONDING_DELAY);
      await registry.connect(alice).withdraw();
      await expect(registry.connect(alice).withdraw())
        .to.be.revertedWithCustomError(registry, "NodeRegistryNothingToWithdraw")
        .withArgs(alice.address);
    });

    it("keeps a delay change away from requests already made", async function () {
      const { registry, admin, alice } = await networkHelpers.loadFixture(bondedFixture);
      await registry.connect(alice).requestUnbond(parseEther("300"));
      const [, before] = await registry.unbondingOf(alice.address);
      await registry.connect(admin).setUnbondingDelay(30n * DAY);
      expect((await registry.unbondingOf(alice.address))[1]).to.equal(before);
    });
  });

  describe("admin parameters", function () {
    it("sets the minimum bond, which applies at once to isBonded, and emits MinBondSet", async function () {
      const { registry, admin, alice } = await networkHelpers.loadFixture(bondedFixture);
      await expect(registry.connect(admin).setMinBond(parseEther("301")))
        .to.emit(registry, "MinBondSet")
        .withArgs(parseEther("301"));
      expect(await registry.isBonded(alice.address)).to.equal(false);
      expect(await registry.bondOf(alice.address), "nobody's tokens move").to.equal(parseEther("300"));
    });

    it("sets the unbonding delay and emits UnbondingDelaySet", async function () {
      const { registry, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(admin).setUnbondingDelay(0n)).to.emit(registry, "UnbondingDelaySet").withArgs(0n);
      expect(await registry.unbondingDelay()).to.equal(0n);
    });

    it("refuses invalid values", async function () {
      const { registry, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(registry.connect(admin).setMinBond(0n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidAmount")
        .withArgs(0n);
      await expect(registry.connect(admin).setMinBond(UINT96_MAX + 1n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidAmount")
        .withArgs(UINT96_MAX + 1n);
      await expect(registry.connect(admin).setUnbondingDelay(MAX_UNBONDING_DELAY + 1n))
        .to.be.revertedWithCustomError(registry, "NodeRegistryInvalidDelay")
        .withArgs(MAX_UNBONDING_DELAY + 1n);
    });

    it("refuses both setters to anyone but the admin", async function () {
      const { registry, outsider } = await networkHelpers.loadFixture(deployFixture);
      const role = await registry.DEFAULT_ADMIN_ROLE();
      await expect(registry.connect(outsider).setMinBond(1n))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, role);
      await expect(registry.connect(outsider).setUnbondingDelay(1n))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, role);
    });
  });

  describe("views", function () {
    it("bondsOf returns the active bonds in order, unbonding excluded", async function () {
      const { registry, alice, bob, outsider } = await networkHelpers.loadFixture(bondedFixture);
      await registry.connect(bob).bond(parseEther("150"));
      await registry.connect(bob).requestUnbond(parseEther("40"));
      expect(await registry.bondsOf([bob.address, outsider.address, alice.address])).to.deep.equal([
        parseEther("110"),
        0n,
        parseEther("300"),
      ]);
      expect(await registry.isBonded(outsider.address)).to.equal(false);
    });

    it("keeps the token balance equal to active plus unbonding through bond, unbond and withdraw", async function () {
      const { registry, registryAddress, token, alice, bob } = await networkHelpers.loadFixture(bondedFixture);
      const held = async () => {
        const [a] = await registry.unbondingOf(alice.address);
        const [b] = await registry.unbondingOf(bob.address);
        return (await registry.totalBonded()) + a + b;
      };
      await registry.connect(bob).bond(parseEther("200"));
      expect(await token.balanceOf(registryAddress)).to.equal(await held());
      await registry.connect(alice).requestUnbond(parseEther("120"));
      expect(await token.balanceOf(registryAddress)).to.equal(await held());
      await time.increase(UNBONDING_DELAY);
      await registry.connect(alice).withdraw();
      expect(await token.balanceOf(registryAddress)).to.equal(await held());
    });
  });
});
