/**
 * scripts/deploy.ts's code path (scripts/lib/deploy-lumora.ts) against a real `hardhat node` started as a child
 * process with chain id 80002 — the chain on which Ignition alone sends legacy transactions at a hard-coded 32 gwei.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { formatUnits, JsonRpcProvider } from "ethers";
import hre, { network } from "hardhat";

import {
  DeploymentRefusedError,
  deployLumora,
  isPlaceholder,
  liveRoleProblems,
} from "../../scripts/lib/deploy-lumora.js";
import { MODULE_ID, ROLE_PARAMETERS } from "../../scripts/lib/deployments.js";
import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";

const AMOY_CHAIN_ID = 80002n;
const IGNITION_AMOY_GAS_PRICE = 32_000_000_000n;
// Private key of the first account of Hardhat's default mnemonic ("test test … junk"): the node funds it.
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const NODE_START_DEADLINE_MS = 120_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForNode(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
  const deadline = Date.now() + NODE_START_DEADLINE_MS;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}:\n${output()}`);
      try {
        if (BigInt(await provider.send("eth_chainId", [])) === AMOY_CHAIN_ID) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`hardhat node did not answer on ${url} within ${NODE_START_DEADLINE_MS} ms:\n${output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    provider.destroy();
  }
}

async function expectRefused(attempt: Promise<unknown>, message: string) {
  let error: unknown;
  try {
    await attempt;
  } catch (err) {
    error = err;
  }
  expect(error, "the deployment is refused").to.be.instanceOf(DeploymentRefusedError);
  expect((error as Error).message).to.contain(message);
}

describe("deploy on a live chain (hardhat node, chain 80002)", function () {
  this.timeout(NODE_START_DEADLINE_MS + 120_000);
  let child: ChildProcess;
  let url: string;
  let directory: string;
  let log = "";
  const deploymentIds: string[] = [];

  before(async function () {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const hardhatBin = path.join(hre.config.paths.root, "node_modules", "hardhat", "dist", "src", "cli.js");
    child = spawn(
      process.execPath,
      [hardhatBin, "node", "--chain-id", String(AMOY_CHAIN_ID), "--hostname", "127.0.0.1", "--port", String(port)],
      { cwd: hre.config.paths.root, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.on("data", (chunk) => (log += chunk));
    child.stderr!.on("data", (chunk) => (log += chunk));
    await waitForNode(url, child, () => log);
    directory = await mkdtemp(path.join(tmpdir(), "lumora-deploy-live-"));
  });

  after(async function () {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    for (const id of deploymentIds) {
      await rm(path.join(hre.config.paths.ignition, "deployments", id), { recursive: true, force: true });
    }
  });

  async function connect() {
    return network.create({ network: "localhost", override: { url, accounts: [DEPLOYER_KEY] } });
  }

  async function parameterFile(name: string, roles: Record<string, unknown>) {
    const file = path.join(directory, `${name}.json`);
    const template = await readDeploymentParameters(
      path.join(hre.config.paths.root, "ignition", "parameters", "amoy.json"),
    );
    const values = Object.fromEntries(
      Object.entries({ ...template[MODULE_ID], ...roles }).map(([k, v]) => [k, typeof v === "bigint" ? `${v}n` : v]),
    );
    await writeFile(file, JSON.stringify({ [MODULE_ID]: values }));
    return file;
  }

  const roleAddresses = async () => {
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
    const accounts = (await provider.send("eth_accounts", [])) as string[];
    provider.destroy();
    return {
      ...Object.fromEntries(ROLE_PARAMETERS.map((role, i) => [role, accounts[i + 1]])),
      keepers: accounts.slice(ROLE_PARAMETERS.length + 1, ROLE_PARAMETERS.length + 4),
      threshold: "2n",
    } as unknown as Record<string, unknown> & { keepers: string[]; admin: string };
  };

  it("ships amoy.json with a placeholder for each role and each of its three keepers", async function () {
    const parameters = await readDeploymentParameters(
      path.join(hre.config.paths.root, "ignition", "parameters", "amoy.json"),
    );
    for (const role of ROLE_PARAMETERS) expect(isPlaceholder(parameters[MODULE_ID][role]), role).to.equal(true);
    const keepers = parameters[MODULE_ID].keepers as unknown[];
    expect(keepers).to.have.length(3);
    for (const keeper of keepers) expect(isPlaceholder(keeper), String(keeper)).to.equal(true);
    expect(parameters[MODULE_ID].threshold).to.equal(2n);
    expect(liveRoleProblems(parameters, "amoy.json")).to.have.length(6);
  });

  it("sends type-2 transactions with the node's fees, not Ignition's 32 gwei legacy price, after the confirmation", async function () {
    const connection = await connect();
    const { ethers } = connection;
    expect((await ethers.provider.getNetwork()).chainId).to.equal(AMOY_CHAIN_ID);
    const [deployer] = await ethers.getSigners();
    const startBlock = await ethers.provider.getBlockNumber();
    const summaries: string[] = [];
    const deploymentId = `test-chain-80002-${process.pid}`;
    deploymentIds.push(deploymentId);
    const { record, fees } = await deployLumora({
      hre,
      connection,
      parameterFile: await parameterFile("distinct", await roleAddresses()),
      recordsDir: directory,
      deploymentId,
      confirm: async (summary) => {
        summaries.push(summary);
        return true;
      },
    });
    expect(summaries).to.have.length(1, "a live deployment asks once");
    expect(summaries[0]).to.contain("chain 80002").and.to.contain("node's fee data");
    expect(record.chainId).to.equal(Number(AMOY_CHAIN_ID));

    const nodeTip = BigInt(await ethers.provider.send("eth_maxPriorityFeePerGas", []));
    const latest = await ethers.provider.getBlockNumber();
    let sent = 0;
    for (let n = startBlock + 1; n <= latest; n++) {
      const block = (await ethers.provider.getBlock(n, true))!;
      const parent = (await ethers.provider.getBlock(n - 1))!;
      for (const tx of block.prefetchedTransactions) {
        if (tx.from !== deployer.address) continue;
        sent += 1;
        const context = `block ${n} tx ${tx.hash}`;
        expect(tx.type, context).to.equal(2);
        // Each transaction is mined alone (automine): the fees were read from the block before it.
        expect(tx.maxPriorityFeePerGas, context).to.equal(nodeTip);
        expect(tx.maxFeePerGas, context).to.equal(2n * parent.baseFeePerGas! + nodeTip);
        expect(tx.maxFeePerGas, `${context}: ${formatUnits(tx.maxFeePerGas!, "gwei")} gwei`).to.not.equal(
          IGNITION_AMOY_GAS_PRICE,
        );
      }
    }
    // 7 contracts, 3 × 2 role grants, EpochQuorum's admin grant, the guardian grant, the caps, the challenge terms
    // and the flag mirror's link.
    expect(sent).to.equal(18);
    expect(fees).to.have.length(sent);
    const pool = await ethers.getContractAt("RewardPool", record.contracts.RewardPool);
    expect(await pool.hasRole(await pool.GUARDIAN_ROLE(), record.parameters.guardian)).to.equal(true);
    const quorum = await ethers.getContractAt("EpochQuorum", record.contracts.EpochQuorum!);
    expect(await quorum.keepers()).to.deep.equal(record.parameters.keepers);
    expect(await quorum.threshold()).to.equal(2n);
    expect(await pool.hasRole(await pool.KEEPER_ROLE(), record.contracts.EpochQuorum!)).to.equal(true);
    const vault = await ethers.getContractAt("CreditVault", record.contracts.CreditVault!);
    expect(await vault.rewardPool()).to.equal(record.contracts.RewardPool);
    const registry = await ethers.getContractAt("NodeRegistry", record.contracts.NodeRegistry!);
    expect(await registry.minBond()).to.equal(BigInt(record.parameters.minBond!));
  });

  it("uses the network config's fees when given", async function () {
    const maxFeePerGas = 77_000_000_000n;
    const maxPriorityFeePerGas = 3_000_000_000n;
    const connection = await network.create({
      network: "localhost",
      override: { url, accounts: [DEPLOYER_KEY], ignition: { maxFeePerGas, maxPriorityFeePerGas } },
    });
    const deploymentId = `test-chain-80002-config-${process.pid}`;
    deploymentIds.push(deploymentId);
    const { fees } = await deployLumora({
      hre,
      connection,
      parameterFile: await parameterFile("config-fees", await roleAddresses()),
      recordsDir: directory,
      deploymentId,
      confirm: async () => true,
    });
    expect(fees.length).to.be.greaterThan(0);
    for (const f of fees) expect(f).to.deep.equal({ maxFeePerGas, maxPriorityFeePerGas });
  });

  type Roles = Record<string, unknown> & { keepers: string[]; admin: string };
  for (const [what, change, message] of [
    ["two roles share an account", (r: Roles) => ({ ...r, guardian: r.keepers[0] }), "are the same account"],
    ["a role is left as the placeholder", (r: Roles) => ({ ...r, admin: "<ADMIN>" }), "placeholder"],
    [
      "a role is not named",
      (r: Roles) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "treasury")),
      "treasury is not set",
    ],
    ["one keeper alone may commit", (r: Roles) => ({ ...r, threshold: "1n" }), "not a majority of at least two"],
    [
      "a minority of keepers may commit",
      (r: Roles) => ({ ...r, keepers: [...r.keepers, "0x000000000000000000000000000000000000dEaD"], threshold: "2n" }),
      "not a majority",
    ],
    [
      "two keepers are one account",
      (r: Roles) => ({ ...r, keepers: [r.keepers[0], r.keepers[0], r.keepers[1]] }),
      "are the same account",
    ],
  ] as const) {
    it(`refuses before sending anything when ${what}`, async function () {
      const connection = await connect();
      const [deployer] = await connection.ethers.getSigners();
      const nonce = await connection.ethers.provider.getTransactionCount(deployer.address);
      const roles = change(await roleAddresses());
      const file = path.join(directory, "refused.json");
      const template = await readDeploymentParameters(await parameterFile("template", {}));
      const base = Object.fromEntries(
        Object.entries(template[MODULE_ID])
          .filter(([k]) => ![...ROLE_PARAMETERS, "keepers", "threshold"].includes(k))
          .map(([k, v]) => [k, typeof v === "bigint" ? `${v}n` : v]),
      );
      await writeFile(file, JSON.stringify({ [MODULE_ID]: { ...base, ...roles } }));
      let confirmations = 0;
      const attempt = deployLumora({
        hre,
        connection,
        parameterFile: file,
        recordsDir: directory,
        confirm: async () => (confirmations++, true),
      });
      await expectRefused(attempt, message);
      expect(confirmations).to.equal(0);
      expect(await connection.ethers.provider.getTransactionCount(deployer.address)).to.equal(nonce);
    });
  }

  it("sends nothing when the confirmation is refused", async function () {
    const connection = await connect();
    const [deployer] = await connection.ethers.getSigners();
    const nonce = await connection.ethers.provider.getTransactionCount(deployer.address);
    await expectRefused(
      deployLumora({
        hre,
        connection,
        parameterFile: await parameterFile("declined", await roleAddresses()),
        recordsDir: directory,
        confirm: async () => false,
      }),
      "not confirmed",
    );
    expect(await connection.ethers.provider.getTransactionCount(deployer.address)).to.equal(nonce);
  });
});
