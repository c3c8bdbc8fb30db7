/** `npx hardhat lumora:bond --amount X [--account A] --network N` (X in LUM; signer: the network's first account). */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { bondAccount, openBondTooling, parseAccount, parseLum, runCommand } from "../claims/index.ts";

interface Args {
  amount?: string;
  account?: string;
}

export default async function bond(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const amount = parseLum(args.amount);
    const account = args.account === undefined ? undefined : parseAccount(args.account);
    const tooling = await openBondTooling(hre);
    try {
      console.log((await bondAccount(tooling.contracts, tooling.signer, amount, account)).message);
    } finally {
      await tooling.close();
    }
  });
}
