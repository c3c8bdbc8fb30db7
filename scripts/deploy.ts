/**
 * Deploys Lumora with Ignition to the network given by `--network` and records the result in
 * `deployments/<network>.json`: `npm run deploy:local` (after `npx hardhat node`) or `npm run deploy:amoy`.
 * The module parameters come from `ignition/parameters/<network>.json`; anything missing takes the module's
 * default (accounts default to the deployer). Re-running resumes or reuses Ignition's journaled deployment.
 */
import { existsSync } from "node:fs";
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import hre, { network } from "hardhat";

import LumoraModule from "../ignition/modules/Lumora.js";
import {
  buildDeploymentRecord,
  deploymentBlockFromJournal,
  resolveParameters,
  writeDeploymentRecord,
  type IgnitionParameters,
} from "./lib/deployments.js";

const connection = await network.create();
const { ethers, ignition, networkName, networkConfig } = connection;
if (networkConfig.type === "edr-simulated") {
  throw new Error("deploy.ts records a deployment for later use: pass a persistent network (--network localhost|amoy)");
}

const parameterFile = path.join(hre.config.paths.root, "ignition", "parameters", `${networkName}.json`);
const parameters: IgnitionParameters = existsSync(parameterFile) ? await readDeploymentParameters(parameterFile) : {};
const [deployer] = await ethers.getSigners();
const { chainId } = await ethers.provider.getNetwork();
const deploymentId = `chain-${chainId}`;
console.log(`Deploying LumoraModule to ${networkName} (chain ${chainId}) from ${deployer.address}`);
console.log(
  existsSync(parameterFile)
    ? `Parameters: ${path.relative(process.cwd(), parameterFile)}`
    : "Parameters: module defaults",
);

const deployed = await ignition.deploy(LumoraModule, { parameters, deploymentId, displayUi: true });

const record = buildDeploymentRecord({
  network: networkName,
  chainId,
  deployer: deployer.address,
  contracts: {
    LumoraToken: await deployed.token.getAddress(),
    Reputation: await deployed.reputation.getAddress(),
    TaskLog: await deployed.taskLog.getAddress(),
    RewardPool: await deployed.rewardPool.getAddress(),
  },
  deploymentBlock: await deploymentBlockFromJournal(
    ethers.provider,
    path.join(hre.config.paths.ignition, "deployments", deploymentId),
  ),
  parameters: resolveParameters(parameters, deployer.address),
});
const file = await writeDeploymentRecord(path.join(hre.config.paths.root, "deployments"), record);
console.log(`Recorded the deployment in ${path.relative(process.cwd(), file)}`);
if (record.parameters.admin !== record.deployer) {
  console.warn(
    `The deployer ${record.deployer} still holds DEFAULT_ADMIN_ROLE next to ${record.parameters.admin}: ` +
      "renounce it once the deployment is checked (deployments/README.md).",
  );
}
