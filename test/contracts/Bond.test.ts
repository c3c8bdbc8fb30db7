/**
 * The bond tooling behind `lumora:bond` / `lumora:unbond` (claims/bond.ts) against the Ignition deployment: each
 * refusal is reported before anything is sent, each success moves the registry as it says.
 */
import { expect } from "chai";
import hre, { network } from "hardhat";
import { parseEther } from "ethers";

import LumoraModule from "../../ignition/modules/Lumora.js";
import {
  BondStateError,
  InsufficientBalanceError,
  bondAccount,
  requestUnbond,
  withdrawUnbonded,
} from "../../claims/index.ts";
import type { LumoraToken, NodeRegistry } from "../../types/ethers-contracts/index.js";

const { ethers, networkHelpers, ignition } = await network.create();
const { time, loadFixture } = networkHelpers;

const MIN_BOND = parseEther("1000");
const DELAY = 14n * 86_400n;

async function deployFixture() {
  const [deployer, operator, node, poor] = await ethers.getSigners();
  const deployed = await ignition.deploy(LumoraModule, {
    parameters: { LumoraModule: { minBond: MIN_BOND, unbondingDelay: DELAY } },
  });
  const registry = (await ethers.getContractAt(
    "NodeRegistry",
    await deployed.nodeRegistry.getAddress(),
  )) as NodeRegistry;
  const token = (await ethers.getContractAt("LumoraToken", await deployed.token.getAddress())) as LumoraToken;
  await token.transfer(operator.address, parseEther("5000"));
  return { contracts: { registry, token }, registry, token, deployer, operator, node, poor };
}

/** The error `promise` rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** Asserts that `promise` rejects with an instance of `type` whose message contains `text`. */
async function expectRejection(promise: Promise<unknown>, type: new (...args: never[]) => Error, text = "") {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(type);
  expect(err.message).to.contain(text);
}

describe("bond tooling (lumora:bond, lumora:unbond)", function () {
  it("registers both tasks with their options", function () {
    const bond = hre.tasks.getTask("lumora:bond");
    expect([...bond.options.keys()].sort()).to.deep.equal(["account", "amount"]);
    const unbond = hre.tasks.getTask("lumora:unbond");
    expect([...unbond.options.keys()].sort()).to.deep.equal(["amount", "withdraw"]);
  });

  it("approves and bonds for the signer, reporting the active bond", async function () {
    const { contracts, registry, operator } = await loadFixture(deployFixture);
    const result = await bondAccount(contracts, operator, MIN_BOND);
    expect(result).to.include({ account: operator.address, active: MIN_BOND, bonded: true });
    expect(result.message).to.contain("active bond now 1000.0 LUM");
    expect(await registry.bondOf(operator.address)).to.equal(MIN_BOND);
  });

  it("bonds for another account with bondFor", async function () {
    const { contracts, registry, operator, node } = await loadFixture(deployFixture);
    await bondAccount(contracts, operator, parseEther("1500"), node.address);
    expect(await registry.bondOf(node.address)).to.equal(parseEther("1500"));
    expect(await registry.bondOf(operator.address)).to.equal(0n);
  });

  it("refuses, before sending, a bond below the minimum or above the balance", async function () {
    const { contracts, operator, poor } = await loadFixture(deployFixture);
    const before = await ethers.provider.getTransactionCount(operator.address);
    await expectRejection(bondAccount(contracts, operator, MIN_BOND - 1n), BondStateError, "below the minimum");
    await expectRejection(bondAccount(contracts, poor, MIN_BOND), InsufficientBalanceError);
    expect(await ethers.provider.getTransactionCount(operator.address), "nothing sent").to.equal(before);
  });

  it("unbonds (the bond stops counting), refuses an early withdrawal, and withdraws after the delay", async function () {
    const { contracts, registry, token, operator } = await loadFixture(deployFixture);
    await bondAccount(contracts, operator, parseEther("3000"));
    const unbond = await requestUnbond(contracts, operator, parseEther("2500"));
    expect(unbond.active).to.equal(parseEther("500"));
    expect(unbond.unbonding).to.equal(parseEther("2500"));
    expect(unbond.message).to.contain("(not counted)");
    expect(await registry.isBonded(operator.address)).to.equal(false);
    await expectRejection(withdrawUnbonded(contracts, operator), BondStateError, "unbonding until");
    await time.increaseTo(unbond.withdrawableAt);
    const balance = await token.balanceOf(operator.address);
    const withdrawn = await withdrawUnbonded(contracts, operator);
    expect(withdrawn.amount).to.equal(parseEther("2500"));
    expect(await token.balanceOf(operator.address)).to.equal(balance + parseEther("2500"));
    await expectRejection(withdrawUnbonded(contracts, operator), BondStateError, "nothing in unbonding");
  });

  it("refuses to unbond more than the active bond", async function () {
    const { contracts, operator } = await loadFixture(deployFixture);
    await bondAccount(contracts, operator, MIN_BOND);
    await expectRejection(requestUnbond(contracts, operator, MIN_BOND + 1n), BondStateError, "cannot unbond");
  });
});
