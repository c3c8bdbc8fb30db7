/** `npx hardhat lumora:rewards [--account A] [--proofs-url URL] [--proofs-dir DIR] --network N` */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatRewardsReport, openTooling, parseAccount, rewardsOf, runCommand } from "../claims/index.ts";

interface Args {
  account?: string;
  proofsUrl?: string;
  proofsDir?: string;
}

export default async function rewards(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const tooling = await openTooling(hre, args);
    try {
      const account = parseAccount(args.account ?? (await tooling.signer.getAddress()));
      console.log(formatRewardsReport(await rewardsOf(tooling.ctx, account)));
    } finally {
      await tooling.close();
    }
  });
}
