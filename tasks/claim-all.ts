/** `npx hardhat lumora:claim-all [--account A] [--proofs-url URL] --network N` */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { claimAll, openTooling, parseAccount, runCommand } from "../claims/index.ts";

interface Args {
  account?: string;
  proofsUrl?: string;
  proofsDir?: string;
}

export default async function claimAllTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const tooling = await openTooling(hre, args);
    try {
      const account = parseAccount(args.account ?? (await tooling.signer.getAddress()));
      const result = await claimAll(tooling.ctx, tooling.signer, { account });
      console.log(result.message);
    } finally {
      await tooling.close();
    }
  });
}
