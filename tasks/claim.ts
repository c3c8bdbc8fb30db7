/** `npx hardhat lumora:claim --epoch E [--account A] [--proofs-url URL] --network N` */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { claimEpoch, openTooling, parseAccount, parseEpoch, runCommand } from "../claims/index.ts";

interface Args {
  epoch?: string;
  account?: string;
  proofsUrl?: string;
  proofsDir?: string;
}

export default async function claim(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const epoch = parseEpoch(args.epoch);
    const tooling = await openTooling(hre, args);
    try {
      const account = parseAccount(args.account ?? (await tooling.signer.getAddress()));
      const result = await claimEpoch(tooling.ctx, tooling.signer, { epoch, account });
      console.log(result.message);
    } finally {
      await tooling.close();
    }
  });
}
