/**
 * Funding the pool (deployer, treasury): approve the pool, then `RewardPool.fund(amount)`. Later epochs can
 * distribute what the pool holds unreserved.
 */
import type { Signer } from "ethers";

import { formatLum, type LumoraContracts } from "./context.ts";
import { InsufficientBalanceError } from "./errors.ts";

export interface FundResult {
  approveTx?: string;
  fundTx: string;
  amount: bigint;
  unreserved: bigint;
  message: string;
}

export async function fundPool(contracts: LumoraContracts, signer: Signer, amount: bigint): Promise<FundResult> {
  const from = await signer.getAddress();
  const token = contracts.token.connect(signer);
  const pool = contracts.pool.connect(signer);
  const poolAddress = await pool.getAddress();
  const balance = await token.balanceOf(from);
  if (balance < amount) throw new InsufficientBalanceError(from, amount, balance);
  let approveTx: string | undefined;
  if ((await token.allowance(from, poolAddress)) < amount) {
    const tx = await token.approve(poolAddress, amount);
    await tx.wait();
    approveTx = tx.hash;
  }
  const tx = await pool.fund(amount);
  await tx.wait();
  const unreserved = await pool.unreservedBalance();
  return {
    approveTx,
    fundTx: tx.hash,
    amount,
    unreserved,
    message: `funded the pool with ${formatLum(amount)} from ${from} (tx ${tx.hash}); unreserved balance now ${formatLum(unreserved)}`,
  };
}
