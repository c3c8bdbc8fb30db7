/**
 * `npx hardhat lumora:unbond --amount X --network N` asks to unbond X LUM of the signer's bond;
 * `npx hardhat lumora:unbond --withdraw --network N` withdraws what finished its unbonding delay.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import {
  ClaimArgumentError,
  openBondTooling,
  parseLum,
  requestUnbond,
  runCommand,
  withdrawUnbonded,
} from "../claims/index.ts";

interface Args {
  amount?: string;
  withdraw?: boolean;
}

export default async function unbond(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    if (args.withdraw === true && args.amount !== undefined) {
      throw new ClaimArgumentError("withdraw", "takes no --amount (it withdraws everything that finished unbonding)");
    }
    const amount = args.withdraw === true ? undefined : parseLum(args.amount);
    const tooling = await openBondTooling(hre);
    try {
      const result =
        amount === undefined
          ? await withdrawUnbonded(tooling.contracts, tooling.signer)
          : await requestUnbond(tooling.contracts, tooling.signer, amount);
      console.log(result.message);
    } finally {
      await tooling.close();
    }
  });
}
