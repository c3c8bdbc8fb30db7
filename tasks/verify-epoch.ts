/**
 * `npx hardhat lumora:verify-epoch --epoch E [--proofs-dir DIR | --proofs-url URL] --network N`: one line per
 * check (the publication, TaskLog, RewardPool), then the verdict; exit code 1 with a one-line reason when the
 * chain does not hold what the published records commit to.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import {
  ClaimArgumentError,
  DEFAULT_PAYMENT_TERMS,
  openTooling,
  parseEpoch,
  parseLum,
  runCommand,
  verifyPublishedEpoch,
  type NetworkPaymentTerms,
} from "../claims/index.ts";

interface Args {
  epoch?: string;
  proofsDir?: string;
  proofsUrl?: string;
  lumPerGib?: string;
  subsidyBps?: string;
  settleGridMs?: string;
  settleWindowMs?: string;
  settleAtClose?: boolean;
}

function wholeNumber(value: string, argument: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > max) throw new ClaimArgumentError(argument, `"${value}" is not a whole number`);
  return n;
}

/** The network's paid-demand terms: the protocol's, with what the arguments state instead. */
function paymentTerms(args: Args): NetworkPaymentTerms {
  const d = DEFAULT_PAYMENT_TERMS;
  const grid = args.settleGridMs === undefined ? d.settle!.gridMs : wholeNumber(args.settleGridMs, "settle-grid-ms");
  const window =
    args.settleWindowMs === undefined ? d.settle!.windowMs : wholeNumber(args.settleWindowMs, "settle-window-ms");
  return {
    weiPerGiB: args.lumPerGib === undefined ? d.weiPerGiB : parseLum(args.lumPerGib, "lum-per-gib"),
    subsidyBps:
      args.subsidyBps === undefined ? d.subsidyBps : BigInt(wholeNumber(args.subsidyBps, "subsidy-bps", 10_000)),
    settle: args.settleAtClose === true ? undefined : { gridMs: grid, windowMs: window },
  };
}

export default async function verifyEpochTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(async () => {
    const epoch = parseEpoch(args.epoch);
    const terms = paymentTerms(args);
    const tooling = await openTooling(hre, { proofsDir: args.proofsDir, proofsUrl: args.proofsUrl });
    try {
      const result = await verifyPublishedEpoch(tooling.ctx.contracts, tooling.records, epoch, {
        paymentTerms: terms,
      });
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
