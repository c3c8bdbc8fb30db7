/** `npx hardhat lumora:verify-epoch --epoch E [--proofs-dir DIR] --network N` */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { openTooling, parseEpoch, verifyEpoch, runCommand } from "../keeper/claims/index.ts";

interface Args {
  epoch?: string;
  proofsDir?: string;
}

export default async function verifyEpochTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const epoch = parseEpoch(args.epoch);
    const tooling = await openTooling(hre, { proofsDir: args.proofsDir });
    try {
      const result = await verifyEpoch(tooling.ctx.contracts, tooling.proofsDir, epoch);
      console.log(result.message);
      if (!result.ok) process.exitCode = 1;
    } finally {
      await tooling.close();
    }
  });
}
