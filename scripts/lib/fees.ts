/**
 * EIP-1559 fees for every transaction a deployment sends, from the node's fee data or the network's config.
 *
 * Why: Ignition (ignition-core 3.1, `_getNetworkFees`) sends legacy transactions at a hard-coded 32 gwei on chain
 * 80002 (Polygon Amoy) and chain 137, whatever the network's fees or the config say. This module installs a
 * Hardhat `network.onRequest` hook on one connection that rewrites each `eth_sendTransaction` before it is signed:
 * the legacy `gasPrice` is dropped and `maxFeePerGas` / `maxPriorityFeePerGas` are set to
 * - the network config's `ignition.maxFeePerGas` / `ignition.maxPriorityFeePerGas` when given, else
 * - the node's fee data: tip = `eth_maxPriorityFeePerGas` (or {@link DEFAULT_PRIORITY_FEE} when the node has no such
 *   method), max fee = 2 × the latest base fee + tip (ethers' rule, which survives six full blocks of base-fee
 *   rises).
 * A resent transaction (same sender and nonce: Ignition bumping a stuck one) gets at least 12.5 % more on both fees
 * than the previous one, above the 10 % nodes require of a replacement.
 */
import type { HookManager, NetworkHooks } from "hardhat/types/hooks";
import type { NetworkConnection } from "hardhat/types/network";

/** Tip used when the node cannot suggest one (wei per gas). Polygon's minimum accepted tip is 25-30 gwei. */
export const DEFAULT_PRIORITY_FEE = 30_000_000_000n;

/** Fee overrides (wei per gas); an absent one comes from the node. */
export interface FeeOverrides {
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
}

/** The fees chosen for one transaction. */
export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

type Request = (method: string, params?: unknown[]) => Promise<unknown>;

/** The fees of a new transaction: overrides first, then the node's fee data. */
export async function currentFees(request: Request, overrides: FeeOverrides = {}): Promise<Fees> {
  let tip = overrides.maxPriorityFeePerGas;
  if (tip === undefined) {
    try {
      tip = BigInt((await request("eth_maxPriorityFeePerGas")) as string);
    } catch {
      tip = DEFAULT_PRIORITY_FEE;
    }
  }
  let maxFee = overrides.maxFeePerGas;
  if (maxFee === undefined) {
    const block = (await request("eth_getBlockByNumber", ["latest", false])) as { baseFeePerGas?: string } | null;
    if (block?.baseFeePerGas === undefined) {
      throw new Error("the node reports no base fee: it does not support EIP-1559 transactions");
    }
    maxFee = 2n * BigInt(block.baseFeePerGas) + tip;
  }
  if (tip > maxFee) tip = maxFee;
  return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
}

const bump = (previous: bigint, next: bigint) => {
  const floor = previous + (previous + 7n) / 8n;
  return next > floor ? next : floor;
};

/**
 * Installs the fee hook on `connection` through Hardhat's hook manager (`hre.hooks`; other connections are
 * untouched) and returns a function that removes it. `onFees` sees each transaction's fees (for logs).
 */
export function installEip1559Fees(
  hooks: HookManager,
  connection: NetworkConnection,
  overrides: FeeOverrides,
  onFees?: (fees: Fees, tx: { from?: string; nonce?: string }) => void,
): () => void {
  const sent = new Map<string, Fees>();
  const handlers: Partial<NetworkHooks> = {
    async onRequest(context, networkConnection, jsonRpcRequest, next) {
      if (
        (networkConnection as unknown) !== connection ||
        jsonRpcRequest.method !== "eth_sendTransaction" ||
        !Array.isArray(jsonRpcRequest.params)
      ) {
        return next(context, networkConnection, jsonRpcRequest);
      }
      const [tx] = jsonRpcRequest.params as [Record<string, string | undefined>];
      const request: Request = (method, params = []) => connection.provider.request({ method, params });
      let fees = await currentFees(request, overrides);
      const key = tx.nonce === undefined || tx.from === undefined ? undefined : `${tx.from.toLowerCase()}:${tx.nonce}`;
      const previous = key === undefined ? undefined : sent.get(key);
      if (previous !== undefined) {
        fees = {
          maxFeePerGas: bump(previous.maxFeePerGas, fees.maxFeePerGas),
          maxPriorityFeePerGas: bump(previous.maxPriorityFeePerGas, fees.maxPriorityFeePerGas),
        };
      }
      if (key !== undefined) sent.set(key, fees);
      const { gasPrice: _legacy, type: _type, ...rest } = tx;
      const rewritten = {
        ...rest,
        maxFeePerGas: `0x${fees.maxFeePerGas.toString(16)}`,
        maxPriorityFeePerGas: `0x${fees.maxPriorityFeePerGas.toString(16)}`,
      };
      onFees?.(fees, { from: tx.from, nonce: tx.nonce });
      return next(context, networkConnection, { ...jsonRpcRequest, params: [rewritten] });
    },
  };
  hooks.registerHandlers("network", handlers);
  return () => hooks.unregisterHandlers("network", handlers);
}
