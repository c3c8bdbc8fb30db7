/**
 * Deploys Lumora with Ignition to the network given by `--network` and records the result in
 * `deployments/<network>.json`: `npm run deploy:local` (after `npx hardhat node`) or `npm run deploy:amoy`.
 * The module parameters come from `ignition/parameters/<network>.json`. On a live network (any chain but 31337)
 * the four roles must be named, distinct and not placeholders, every transaction is EIP-1559 with the node's fees
 * (or the network's `ignition.maxFeePerGas` / `maxPriorityFeePerGas`), and the deployment is sent only after you
 * type "yes" — or with LUMORA_DEPLOY_YES=1 when there is no terminal. The work is in scripts/lib/deploy-lumora.ts.
 */
import path from "node:path";
import { createInterface } from "node:readline/promises";

import hre, { network } from "hardhat";

import { deployLumora } from "./lib/deploy-lumora.js";

/** Set to 1 to deploy to a live network without the interactive confirmation (CI, scripts). */
const CONFIRM_ENV = "LUMORA_DEPLOY_YES";

const connection = await network.create();
if (connection.networkConfig.type === "edr-simulated") {
  throw new Error("deploy.ts records a deployment for later use: pass a persistent network (--network localhost|amoy)");
}

async function confirm(summary: string): Promise<boolean> {
  if (process.env[CONFIRM_ENV] === "1") return true;
  if (!process.stdin.isTTY) {
    console.error(`No terminal to confirm the deployment: set ${CONFIRM_ENV}=1 to deploy without asking.`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\n${summary}\n\nDeploy with these settings? Type "yes" to send: `);
    return answer.trim().toLowerCase() === "yes";
  } finally {
    rl.close();
  }
}

const { record, file } = await deployLumora({
  hre,
  connection,
  parameterFile: path.join(hre.config.paths.root, "ignition", "parameters", `${connection.networkName}.json`),
  recordsDir: path.join(hre.config.paths.root, "deployments"),
  confirm,
  log: (line) => console.log(line),
  displayUi: true,
});
console.log(`Recorded the deployment in ${path.relative(process.cwd(), file)}`);
if (record.parameters.admin !== record.deployer) {
  console.warn(
    `The deployer ${record.deployer} still holds DEFAULT_ADMIN_ROLE next to ${record.parameters.admin}: ` +
      "renounce it once the deployment is checked (deployments/README.md).",
  );
}
