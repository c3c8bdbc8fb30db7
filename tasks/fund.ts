/** `npx hardhat lumora:fund --amount X --network N` (X in LUM; signer: the network's first account). */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { fundPool, openTooling, parseLum, runCommand } from "../claims/index.ts";

interface Args {
  amount?: string;
}

export default async function fund(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const amount = parseLum(args.amount);
    const tooling = await openTooling(hre);
    try {
      console.log((await fundPool(tooling.ctx.contracts, tooling.signer, amount)).message);
    } finally {
      await tooling.close();
    }
  });
}
