import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { HardhatArtifactResolver, readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import { DeploymentResultType, deploy } from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import { ZeroHash, parseEther } from "ethers";
import hre, { network } from "hardhat";

import LumoraModule, { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";
import type {
  CreditVault,
  EpochQuorum,
  LumoraToken,
  NodeRegistry,
  Reputation,
  RewardPool,
  TaskLog,
} from "../../types/ethers-contracts/index.js";
import {
  CONTRACT_NAMES,
  CREDIT_CONTRACT_NAMES,
  MODULE_ID,
  ROLE_PARAMETERS,
  buildDeploymentRecord,
  deploymentBlockFromJournal,
  readDeploymentRecord,
  resolveParameters,
  writeDeploymentRecord,
  type ContractName,
  type CreditContractName,
} from "../../scripts/lib/deployments.js";
import { isPlaceholder } from "../../scripts/lib/deploy-lumora.js";
import { parametersTuple } from "./helpers/reputationModel.js";

const connection = await network.create();
const { ethers, networkHelpers, ignition } = connection;

const KEEPER_ROLE = ethers.id("KEEPER_ROLE");
const GUARDIAN_ROLE = ethers.id("GUARDIAN_ROLE");

const REPUTATION_PARAMETERS = {
  neutralScore: 6000,
  decayBps: 500,
  learningRateBps: 2500,
  failingRateBps: 1500,
  flagAfterFailingEpochs: 4,
  flagBelowScore: 1500,
  warnBelowScore: 2500,
  unflagAfterGoodEpochs: 3,
  unflagAtScore: 5500,
};

/** Typed handles on what the module returned. */
async function contractsOf(deployed: {
  token: unknown;
  reputation: unknown;
  taskLog: unknown;
  rewardPool: unknown;
  epochQuorum: unknown;
  nodeRegistry: unknown;
  creditVault: unknown;
}) {
  const at = async (contract: unknown) => (contract as { getAddress(): Promise<string> }).getAddress();
  return {
    token: (await ethers.getContractAt("LumoraToken", await at(deployed.token))) as LumoraToken,
    reputation: (await ethers.getContractAt("Reputation", await at(deployed.reputation))) as Reputation,
    taskLog: (await ethers.getContractAt("TaskLog", await at(deployed.taskLog))) as TaskLog,
    rewardPool: (await ethers.getContractAt("RewardPool", await at(deployed.rewardPool))) as RewardPool,
    epochQuorum: (await ethers.getContractAt("EpochQuorum", await at(deployed.epochQuorum))) as EpochQuorum,
    nodeRegistry: (await ethers.getContractAt("NodeRegistry", await at(deployed.nodeRegistry))) as NodeRegistry,
    creditVault: (await ethers.getContractAt("CreditVault", await at(deployed.creditVault))) as CreditVault,
  };
}

describe("Deployment (ignition/modules/Lumora.ts)", function () {
  async function deployWithParametersFixture() {
    const [deployer, admin, treasury, keeper, guardian, stranger, keeper2, keeper3] = await ethers.getSigners();
    const parameters = {
      [MODULE_ID]: {
        admin: admin.address,
        treasury: treasury.address,
        keepers: [keeper.address, keeper2.address, keeper3.address],
        threshold: 2n,
        guardian: guardian.address,
        initialSupply: parseEther("21000000"),
        challengeWindow: 7200n,
        claimPeriod: 30n * 86_400n,
        minBond: parseEther("500"),
        unbondingDelay: 3n * 86_400n,
        burnBps: 1500n,
        withdrawalDelay: 86_400n,
        reputationParameters: REPUTATION_PARAMETERS,
      },
    };
    const contracts = await contractsOf(await ignition.deploy(LumoraModule, { parameters }));
    return { ...contracts, parameters, deployer, admin, treasury, keeper, guardian, stranger };
  }

  async function deployWithDefaultsFixture() {
    const [deployer, stranger] = await ethers.getSigners();
    const contracts = await contractsOf(await ignition.deploy(LumoraModule));
    return { ...contracts, deployer, stranger };
  }

  describe("with explicit parameters", function () {
    it("mints the initial supply to the treasury", async function () {
      const { token, treasury, deployer, parameters } = await networkHelpers.loadFixture(deployWithParametersFixture);
      expect(await token.totalSupply()).to.equal(parameters[MODULE_ID].initialSupply);
      expect(await token.balanceOf(treasury.address)).to.equal(parameters[MODULE_ID].initialSupply);
      expect(await token.balanceOf(deployer.address)).to.equal(0n);
    });

    it("points RewardPool at the deployed token and Reputation, with the given windows", async function () {
      const { token, reputation, rewardPool, parameters } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      expect(await rewardPool.token()).to.equal(await token.getAddress());
      expect(await rewardPool.reputation()).to.equal(await reputation.getAddress());
      expect(await rewardPool.challengeWindow()).to.equal(parameters[MODULE_ID].challengeWindow);
      expect(await rewardPool.claimPeriod()).to.equal(parameters[MODULE_ID].claimPeriod);
    });

    it("sets the given Reputation parameters", async function () {
      const { reputation } = await networkHelpers.loadFixture(deployWithParametersFixture);
      expect(await reputation.parameters()).to.deep.equal(parametersTuple(REPUTATION_PARAMETERS));
    });

    it("grants KEEPER_ROLE on TaskLog, Reputation and RewardPool to EpochQuorum only, with the keepers and threshold", async function () {
      const { taskLog, reputation, rewardPool, epochQuorum, keeper, guardian, admin, deployer, parameters } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      expect(await epochQuorum.keepers()).to.deep.equal(parameters[MODULE_ID].keepers);
      expect(await epochQuorum.threshold()).to.equal(2n);
      expect(await epochQuorum.taskLog()).to.equal(await taskLog.getAddress());
      expect(await epochQuorum.reputation()).to.equal(await reputation.getAddress());
      expect(await epochQuorum.rewardPool()).to.equal(await rewardPool.getAddress());
      expect(await epochQuorum.hasRole(ZeroHash, admin.address)).to.equal(true);
      for (const [name, contract] of Object.entries({ taskLog, reputation, rewardPool })) {
        expect(await contract.hasRole(KEEPER_ROLE, await epochQuorum.getAddress()), `${name}: quorum`).to.equal(true);
        for (const other of [keeper, guardian, admin, deployer]) {
          expect(await contract.hasRole(KEEPER_ROLE, other.address), `${name}: ${other.address}`).to.equal(false);
        }
      }
    });

    it("grants GUARDIAN_ROLE on RewardPool to the guardian only", async function () {
      const { rewardPool, keeper, guardian, admin, deployer } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      expect(await rewardPool.hasRole(GUARDIAN_ROLE, guardian.address)).to.equal(true);
      for (const other of [keeper, admin, deployer]) {
        expect(await rewardPool.hasRole(GUARDIAN_ROLE, other.address), other.address).to.equal(false);
      }
    });

    it("grants the admin role to the admin, and leaves it with the deployer until renounced", async function () {
      const { taskLog, reputation, rewardPool, admin, deployer, keeper } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      for (const [name, contract] of Object.entries({ taskLog, reputation, rewardPool })) {
        expect(await contract.hasRole(ZeroHash, admin.address), `${name}: admin`).to.equal(true);
        expect(await contract.hasRole(ZeroHash, deployer.address), `${name}: deployer`).to.equal(true);
        expect(await contract.hasRole(ZeroHash, keeper.address), `${name}: keeper`).to.equal(false);
      }
      // The documented hand-over: the deployer renounces, the admin keeps control.
      await taskLog.connect(deployer).renounceRole(ZeroHash, deployer.address);
      expect(await taskLog.hasRole(ZeroHash, deployer.address)).to.equal(false);
      await taskLog.connect(admin).grantRole(KEEPER_ROLE, deployer.address);
      expect(await taskLog.hasRole(KEEPER_ROLE, deployer.address)).to.equal(true);
    });

    it("deploys NodeRegistry and CreditVault on the token and the pool, with the given parameters, admin only", async function () {
      const { token, rewardPool, nodeRegistry, creditVault, parameters, admin, deployer } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      const given = parameters[MODULE_ID];
      expect(await nodeRegistry.token()).to.equal(await token.getAddress());
      expect(await nodeRegistry.minBond()).to.equal(given.minBond);
      expect(await nodeRegistry.unbondingDelay()).to.equal(given.unbondingDelay);
      expect(await creditVault.token()).to.equal(await token.getAddress());
      expect(await creditVault.rewardPool()).to.equal(await rewardPool.getAddress());
      expect(await creditVault.burnBps()).to.equal(given.burnBps);
      expect(await creditVault.withdrawalDelay()).to.equal(given.withdrawalDelay);
      for (const [name, contract] of Object.entries({ nodeRegistry, creditVault })) {
        expect(await contract.hasRole(ZeroHash, admin.address), `${name}: admin`).to.equal(true);
        expect(await contract.hasRole(ZeroHash, deployer.address), `${name}: no deployer left over`).to.equal(false);
      }
    });

    it("leaves a working credit path: a settled voucher funds the deployed pool", async function () {
      const { token, rewardPool, creditVault, treasury, stranger } =
        await networkHelpers.loadFixture(deployWithParametersFixture);
      await token.connect(treasury).approve(await creditVault.getAddress(), parseEther("10"));
      await creditVault.connect(treasury).depositFor(stranger.address, parseEther("10"));
      const voucher = {
        consumer: stranger.address,
        provider: treasury.address,
        consumerPeer: ethers.id("the stranger's peer"),
        cumulativeAmount: parseEther("10"),
      };
      const { chainId } = await ethers.provider.getNetwork();
      const signature = await stranger.signTypedData(
        { name: "Lumora CreditVault", version: "1", chainId, verifyingContract: await creditVault.getAddress() },
        {
          Voucher: [
            { name: "consumer", type: "address" },
            { name: "provider", type: "address" },
            { name: "consumerPeer", type: "bytes32" },
            { name: "cumulativeAmount", type: "uint256" },
          ],
        },
        voucher,
      );
      await expect(creditVault.settle(voucher, signature))
        .to.emit(rewardPool, "Funded")
        .withArgs(await creditVault.getAddress(), parseEther("8.5"));
    });

    it("leaves a working system: a single keeper cannot commit, the guardian pauses", async function () {
      const { taskLog, rewardPool, keeper, guardian } = await networkHelpers.loadFixture(deployWithParametersFixture);
      await expect(taskLog.connect(keeper).commit(1, ethers.id("root"), 1, "ipfs://x"))
        .to.be.revertedWithCustomError(taskLog, "AccessControlUnauthorizedAccount")
        .withArgs(keeper.address, KEEPER_ROLE);
      await expect(rewardPool.connect(guardian).pause()).to.emit(rewardPool, "Paused").withArgs(guardian.address);
    });
  });

  describe("with the module defaults", function () {
    it("gives every role and the whole supply to the deployer, the only keeper of a 1-of-1 quorum", async function () {
      const { token, taskLog, reputation, rewardPool, epochQuorum, deployer, stranger } =
        await networkHelpers.loadFixture(deployWithDefaultsFixture);
      expect(await token.balanceOf(deployer.address)).to.equal(LUMORA_DEFAULTS.initialSupply);
      expect(await epochQuorum.keepers()).to.deep.equal([deployer.address]);
      expect(await epochQuorum.threshold()).to.equal(1n);
      for (const [name, contract] of Object.entries({ taskLog, reputation, rewardPool })) {
        expect(await contract.hasRole(KEEPER_ROLE, await epochQuorum.getAddress()), `${name}: quorum`).to.equal(true);
        expect(await contract.hasRole(KEEPER_ROLE, deployer.address), `${name}: deployer`).to.equal(false);
        expect(await contract.hasRole(ZeroHash, deployer.address), `${name}: admin`).to.equal(true);
        expect(await contract.hasRole(KEEPER_ROLE, stranger.address), `${name}: stranger`).to.equal(false);
      }
      expect(await rewardPool.hasRole(GUARDIAN_ROLE, deployer.address)).to.equal(true);
    });

    it("uses the default windows and Reputation parameters", async function () {
      const { reputation, rewardPool } = await networkHelpers.loadFixture(deployWithDefaultsFixture);
      expect(await rewardPool.challengeWindow()).to.equal(LUMORA_DEFAULTS.challengeWindow);
      expect(await rewardPool.claimPeriod()).to.equal(LUMORA_DEFAULTS.claimPeriod);
      expect(await reputation.parameters()).to.deep.equal(parametersTuple(LUMORA_DEFAULTS.reputationParameters));
    });

    it("uses the default bond and credit parameters", async function () {
      const { nodeRegistry, creditVault, deployer } = await networkHelpers.loadFixture(deployWithDefaultsFixture);
      expect(await nodeRegistry.minBond()).to.equal(LUMORA_DEFAULTS.minBond);
      expect(await nodeRegistry.unbondingDelay()).to.equal(LUMORA_DEFAULTS.unbondingDelay);
      expect(await creditVault.burnBps()).to.equal(LUMORA_DEFAULTS.burnBps);
      expect(await creditVault.withdrawalDelay()).to.equal(LUMORA_DEFAULTS.withdrawalDelay);
      expect(await nodeRegistry.hasRole(ZeroHash, deployer.address)).to.equal(true);
    });
  });

  describe("network parameter files", function () {
    for (const networkName of ["localhost", "amoy"]) {
      it(`deploys with ignition/parameters/${networkName}.json exactly as resolveParameters reports`, async function () {
        const file = path.join(hre.config.paths.root, "ignition", "parameters", `${networkName}.json`);
        const parameters = await readDeploymentParameters(file);
        expect(Object.keys(parameters)).to.deep.equal([MODULE_ID]);
        const [deployer, ...others] = await ethers.getSigners();
        // amoy.json names every role with a placeholder the deployer must fill: stand-ins here.
        for (const [i, role] of ROLE_PARAMETERS.entries()) {
          if (isPlaceholder(parameters[MODULE_ID][role])) parameters[MODULE_ID][role] = others[i].address;
        }
        const keepers = parameters[MODULE_ID].keepers as string[] | undefined;
        if (keepers !== undefined) {
          parameters[MODULE_ID].keepers = keepers.map((k, i) =>
            isPlaceholder(k) ? others[ROLE_PARAMETERS.length + i].address : k,
          );
        }
        const { token, reputation, taskLog, rewardPool, epochQuorum, nodeRegistry, creditVault } = await contractsOf(
          await ignition.deploy(LumoraModule, { parameters }),
        );
        const resolved = resolveParameters(parameters, deployer.address);

        expect(await token.balanceOf(resolved.treasury)).to.equal(resolved.initialSupply);
        expect(await token.totalSupply()).to.equal(resolved.initialSupply);
        expect(await rewardPool.challengeWindow()).to.equal(resolved.challengeWindow);
        expect(await rewardPool.claimPeriod()).to.equal(resolved.claimPeriod);
        expect(await rewardPool.rewardCap()).to.equal(resolved.rewardCap);
        expect(await rewardPool.rewardCapBps()).to.equal(resolved.rewardCapBps);
        expect(await rewardPool.challengeBond()).to.equal(resolved.challengeBond);
        expect(await rewardPool.challengeReward()).to.equal(resolved.challengeReward);
        expect(await reputation.parameters()).to.deep.equal(parametersTuple(resolved.reputationParameters));
        expect(await nodeRegistry.minBond()).to.equal(resolved.minBond);
        expect(await nodeRegistry.unbondingDelay()).to.equal(resolved.unbondingDelay);
        expect(await creditVault.burnBps()).to.equal(resolved.burnBps);
        expect(await creditVault.withdrawalDelay()).to.equal(resolved.withdrawalDelay);
        expect(await rewardPool.hasRole(GUARDIAN_ROLE, resolved.guardian)).to.equal(true);
        expect(await epochQuorum.keepers()).to.deep.equal(resolved.keepers);
        expect(await epochQuorum.threshold()).to.equal(resolved.threshold);
        for (const contract of [taskLog, reputation, rewardPool]) {
          expect(await contract.hasRole(KEEPER_ROLE, await epochQuorum.getAddress())).to.equal(true);
          expect(await contract.hasRole(ZeroHash, resolved.admin)).to.equal(true);
        }
      });
    }
  });

  describe("resolveParameters", function () {
    it("fills missing accounts with the deployer and missing values with the defaults", async function () {
      const [deployer, keeper] = await ethers.getSigners();
      const resolved = resolveParameters(
        { [MODULE_ID]: { keepers: [keeper.address], claimPeriod: 99_999n } },
        deployer.address,
      );
      expect(resolved).to.deep.equal({
        admin: deployer.address,
        treasury: deployer.address,
        keepers: [keeper.address],
        threshold: LUMORA_DEFAULTS.threshold,
        guardian: deployer.address,
        initialSupply: LUMORA_DEFAULTS.initialSupply,
        challengeWindow: LUMORA_DEFAULTS.challengeWindow,
        claimPeriod: 99_999n,
        rewardCap: LUMORA_DEFAULTS.rewardCap,
        rewardCapBps: LUMORA_DEFAULTS.rewardCapBps,
        challengeBond: LUMORA_DEFAULTS.challengeBond,
        challengeReward: LUMORA_DEFAULTS.challengeReward,
        minBond: LUMORA_DEFAULTS.minBond,
        unbondingDelay: LUMORA_DEFAULTS.unbondingDelay,
        burnBps: LUMORA_DEFAULTS.burnBps,
        withdrawalDelay: LUMORA_DEFAULTS.withdrawalDelay,
        reputationParameters: { ...LUMORA_DEFAULTS.reputationParameters },
      });
    });

    it("rejects an account parameter that is not an address", async function () {
      const [deployer] = await ethers.getSigners();
      expect(() => resolveParameters({ [MODULE_ID]: { guardian: "0xnot-an-address" } }, deployer.address)).to.throw(
        "parameter guardian is not an address",
      );
    });
  });

  describe("deployment record", function () {
    let directory: string;
    beforeEach(async function () {
      directory = await mkdtemp(path.join(tmpdir(), "lumora-deployments-"));
    });
    afterEach(async function () {
      await rm(directory, { recursive: true, force: true });
    });

    /** The first block at which any of `addresses` has code, found by scanning the chain's history. */
    async function firstBlockWithCode(addresses: string[]): Promise<number> {
      const latest = await ethers.provider.getBlockNumber();
      for (let block = 0; block <= latest; block++) {
        const codes = await Promise.all(addresses.map((a) => ethers.provider.getCode(a, block)));
        if (codes.some((code) => code !== "0x")) return block;
      }
      throw new Error("no contract code found");
    }

    it("records an in-process deployment, its first block read from Ignition's journal", async function () {
      const [deployer, keeper] = await ethers.getSigners();
      // Some unrelated blocks first, so that the deployment block is not trivially 1.
      await networkHelpers.mine(3);
      const parameters = { [MODULE_ID]: { keepers: [keeper.address], challengeWindow: 1200n } };
      const journal = path.join(directory, "journal");
      const result = await deploy({
        config: ignition.getResolvedConfig({}),
        provider: connection.provider,
        deploymentDir: journal,
        artifactResolver: new HardhatArtifactResolver(hre.artifacts),
        ignitionModule: LumoraModule,
        deploymentParameters: parameters,
        accounts: (await ethers.getSigners()).map((s) => s.address),
      });
      if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT)
        throw new Error(`deployment failed: ${result.type}`);
      const futures: Record<ContractName | CreditContractName, string> = {
        LumoraToken: "LumoraModule#LumoraToken",
        Reputation: "LumoraModule#Reputation",
        TaskLog: "LumoraModule#TaskLog",
        RewardPool: "LumoraModule#RewardPool",
        NodeRegistry: "LumoraModule#NodeRegistry",
        CreditVault: "LumoraModule#CreditVault",
      };
      const contracts = Object.fromEntries(
        [...CONTRACT_NAMES, ...CREDIT_CONTRACT_NAMES].map((name) => [name, result.contracts[futures[name]].address]),
      ) as Record<ContractName | CreditContractName, string>;

      const deploymentBlock = await deploymentBlockFromJournal(ethers.provider, journal);
      expect(deploymentBlock).to.equal(await firstBlockWithCode(Object.values(contracts)));

      const { chainId } = await ethers.provider.getNetwork();
      const record = buildDeploymentRecord({
        network: "hardhat",
        chainId,
        deployer: deployer.address.toLowerCase(),
        contracts,
        deploymentBlock,
        parameters: resolveParameters(parameters, deployer.address),
      });
      const file = await writeDeploymentRecord(directory, record);

      expect(file).to.equal(path.join(directory, "hardhat.json"));
      const text = await readFile(file, "utf8");
      expect(text.endsWith("}\n")).to.equal(true);
      expect(JSON.parse(text)).to.deep.equal({
        network: "hardhat",
        chainId: Number(chainId),
        deployer: deployer.address,
        contracts,
        deploymentBlock,
        parameters: {
          admin: deployer.address,
          treasury: deployer.address,
          keepers: [keeper.address],
          threshold: "1",
          guardian: deployer.address,
          initialSupply: LUMORA_DEFAULTS.initialSupply.toString(),
          challengeWindow: "1200",
          claimPeriod: LUMORA_DEFAULTS.claimPeriod.toString(),
          rewardCap: LUMORA_DEFAULTS.rewardCap.toString(),
          rewardCapBps: LUMORA_DEFAULTS.rewardCapBps.toString(),
          challengeBond: LUMORA_DEFAULTS.challengeBond.toString(),
          challengeReward: LUMORA_DEFAULTS.challengeReward.toString(),
          minBond: LUMORA_DEFAULTS.minBond.toString(),
          unbondingDelay: LUMORA_DEFAULTS.unbondingDelay.toString(),
          burnBps: LUMORA_DEFAULTS.burnBps.toString(),
          withdrawalDelay: LUMORA_DEFAULTS.withdrawalDelay.toString(),
          reputationParameters: { ...LUMORA_DEFAULTS.reputationParameters },
        },
      });
      expect(await readDeploymentRecord(directory, "hardhat")).to.deep.equal(record);
      expect((await readdir(directory)).sort()).to.deep.equal(["hardhat.json", "journal"]);

      // The record describes the chain: the recorded addresses are the wired contracts.
      const rewardPool = await ethers.getContractAt("RewardPool", record.contracts.RewardPool);
      expect(await rewardPool.token()).to.equal(record.contracts.LumoraToken);
      expect(await rewardPool.reputation()).to.equal(record.contracts.Reputation);
      expect(await rewardPool.challengeWindow()).to.equal(BigInt(record.parameters.challengeWindow));
    });

    it("replaces an earlier record of the same network", async function () {
      const [deployer] = await ethers.getSigners();
      const input = {
        network: "localhost",
        chainId: 31337n,
        deployer: deployer.address,
        contracts: Object.fromEntries(
          CONTRACT_NAMES.map((name) => [name, ethers.Wallet.createRandom().address]),
        ) as Record<ContractName, string>,
        parameters: resolveParameters({}, deployer.address),
      };
      await writeDeploymentRecord(directory, buildDeploymentRecord({ ...input, deploymentBlock: 1 }));
      await writeDeploymentRecord(directory, buildDeploymentRecord({ ...input, deploymentBlock: 42 }));
      expect((await readDeploymentRecord(directory, "localhost")).deploymentBlock).to.equal(42);
      expect(await readdir(directory)).to.deep.equal(["localhost.json"]);
    });
  });
});
