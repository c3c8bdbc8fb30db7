/**
 * Verifies a published epoch against the chain, without a task runner's argument parser:
 *   EPOCH=3 [PROOFS_DIR=deployments/localhost/epochs] npx hardhat run scripts/verify-epoch.ts --network localhost
 * (the same check as `npx hardhat lumora:verify-epoch --epoch 3`). Exit code 1 when it does not match.
 */
import hre from "hardhat";

import { openTooling, parseEpoch, verifyEpoch } from "../keeper/claims/index.ts";

const epoch = parseEpoch(process.env.EPOCH);
const tooling = await openTooling(hre, { proofsDir: process.env.PROOFS_DIR });
try {
  const result = await verifyEpoch(tooling.ctx.contracts, tooling.proofsDir, epoch);
  console.log(result.message);
  if (!result.ok) process.exitCode = 1;
} finally {
  await tooling.close();
}
