/**
 * `npx hardhat lumora:settle --epoch E [--proofs-dir DIR | --proofs-url URL] --network N`: settles on CreditVault the
 * highest voucher of each channel the epoch's published evidence carries (anyone may; the fees fund the RewardPool).
 * One line per channel, then the total.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import {
  formatLum,
  openSettleTooling,
  parseEpoch,
  runCommand,
  settleEpochVouchers,
  vouchersOfEvidence,
} from "../claims/index.ts";

interface Args {
  epoch?: string;
  proofsDir?: string;
  proofsUrl?: string;
}

export default async function settleTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const epoch = parseEpoch(args.epoch);
    const tooling = await openSettleTooling(hre, { proofsDir: args.proofsDir, proofsUrl: args.proofsUrl });
    try {
      const evidence = await tooling.records.source.fullEvidence(epoch);
      if (evidence === undefined) throw new Error(`epoch ${epoch} has no published evidence ${tooling.records.where}`);
      const { vouchers, skipped } = await vouchersOfEvidence(evidence, {
        chainId: tooling.chainId,
        address: await tooling.vault.getAddress(),
      });
      for (const s of skipped) console.log(`  skipped: ${s}`);
      const result = await settleEpochVouchers(tooling.vault, vouchers);
      console.log(`epoch ${epoch}: ${vouchers.length} vouchers, ${result.outcomes.length} channels`);
      for (const line of result.lines) console.log(`  ${line}`);
      console.log(`settled ${formatLum(result.paid)}`);
    } finally {
      await tooling.close();
    }
  });
}
