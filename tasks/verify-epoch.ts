/**
 * `npx hardhat lumora:verify-epoch --epoch E [--proofs-dir DIR | --proofs-url URL] --network N`: one line per
 * check (the publication, TaskLog, RewardPool), then the verdict; exit code 1 with a one-line reason when the
 * chain does not hold what the published records commit to.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { openTooling, parseEpoch, runCommand, verifyPublishedEpoch } from "../claims/index.ts";

interface Args {
  epoch?: string;
  proofsDir?: string;
  proofsUrl?: string;
}

export default async function verifyEpochTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const epoch = parseEpoch(args.epoch);
    const tooling = await openTooling(hre, { proofsDir: args.proofsDir, proofsUrl: args.proofsUrl });
    try {
      const result = await verifyPublishedEpoch(tooling.ctx.contracts, tooling.records, epoch);
      console.log(`epoch ${epoch}, records from ${result.source}:`);
      for (const line of result.lines) console.log(`  ${line}`);
      if (result.ok) console.log(result.message);
      else {
        console.error(`error: ${result.message}`);
        process.exitCode = 1;
      }
    } finally {
      await tooling.close();
    }
  });
}
