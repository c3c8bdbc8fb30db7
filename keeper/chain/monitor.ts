/**
 * The chain as the operator needs to see it, checked in the background and never on a request's path: is the
 * RPC reachable, is it the chain the deployment record names, are the contracts still there (a restarted
 * `hardhat node` or a chain reset leaves no code at the recorded addresses), were they redeployed since this
 * keeper first saw them (other code at the addresses, or a chain shorter than the deployment block), and what
 * is the last epoch on chain. `/healthz`, `status` and `/metrics` read `state()`, which answers at once.
 *
 * Each check is one short round of reads with its own timeout (no retries: the next check is the retry), so a
 * hung RPC node costs one timeout per period and never blocks the API. A problem is logged once, in one line
 * that says what to do, when it appears, and again when it clears.
 */
import { keccak256 } from "ethers";

import type { Logger } from "../logger.ts";
import type { Chain } from "./chain.ts";
import { CONTRACT_NAMES } from "./deployment.ts";

/** Seconds between checks while all is well; a failed check is retried at the same cadence. */
export const CHAIN_CHECK_INTERVAL_MS = 15_000;
/** Budget of one check: a node slower than this counts as unreachable for that round. */
export const CHAIN_CHECK_TIMEOUT_MS = 3_000;

/** What is wrong with the chain, when something is. */
export type ChainProblem =
  | "unreachable"
  | "wrong-chain"
  | "contracts-missing"
  | "contracts-changed"
  | "chain-behind-deployment"
  | "chain-rewound";

export interface ChainState {
  /** Whether the last check reached the RPC node. */
  reachable: boolean;
  /** When the last check finished (Unix ms); undefined before the first. */
  checkedAt: number | undefined;
  /** Last epoch TaskLog and RewardPool hold (from the last good check). */
  taskLogEpoch: number | undefined;
  rewardPoolEpoch: number | undefined;
  /** Latest block seen. */
  blockNumber: number | undefined;
  problem: ChainProblem | undefined;
  /** One line: what is wrong and what to do. */
  message: string | undefined;
}

/** Remembers the code hash of the deployment's contracts the first time they are seen (the store's job). */
export interface CodeHashMemory {
  get(): Record<string, string> | undefined;
  set(hashes: Record<string, string>): void;
  /** Highest epoch seen on chain: a chain that now holds fewer lost them (reset) — never silently accepted. */
  highestEpoch?(): number;
  noteEpoch?(epoch: number): void;
}

export interface ChainMonitorInit {
  intervalMs?: number;
  timeoutMs?: number;
}

export interface ChainMonitorComponents {
  chain: Pick<Chain, "provider" | "deployment" | "contracts">;
  logger: Logger;
  /** Where the first-seen code hashes are kept across restarts (redeployment detection). */
  codeHashes?: CodeHashMemory;
  /** Called after every check (e.g. to move the receipts' epoch stamp). */
  onCheck?: (state: ChainState) => void;
}

class CheckTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

export class ChainMonitor {
  private readonly log: Logger;
  private current: ChainState = {
    reachable: false,
    checkedAt: undefined,
    taskLogEpoch: undefined,
    rewardPoolEpoch: undefined,
    blockNumber: undefined,
    problem: undefined,
    message: undefined,
  };
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<ChainState> | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly components: ChainMonitorComponents,
    private readonly init: ChainMonitorInit = {},
  ) {
    this.log = components.logger.child("chain:monitor");
  }

  /** Starts checking in the background (the first check at once); never waits for the chain. */
  start(): void {
    const loop = async () => {
      await this.check();
      this.timer = setTimeout(() => void loop(), this.init.intervalMs ?? CHAIN_CHECK_INTERVAL_MS);
      this.timer.unref?.();
    };
    void loop();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  state(): ChainState {
    return { ...this.current };
  }

  /** Resolves once a check found the chain healthy, or when `signal` aborts (rejects then). */
  whenHealthy(options: { signal?: AbortSignal } = {}): Promise<ChainState> {
    return this.when((s) => s.reachable && s.problem === undefined, options);
  }

  /** Resolves with the first checked state that satisfies `accept`; rejects when `signal` aborts. */
  async when(accept: (s: ChainState) => boolean, options: { signal?: AbortSignal } = {}): Promise<ChainState> {
    while (this.current.checkedAt === undefined || !accept(this.current)) {
      options.signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        options.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    return this.state();
  }

  /** One check now (joins a check in progress). */
  check(): Promise<ChainState> {
    this.checking ??= this.doCheck().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async doCheck(): Promise<ChainState> {
    const { chain } = this.components;
    const timeoutMs = this.init.timeoutMs ?? CHAIN_CHECK_TIMEOUT_MS;
    const next: ChainState = { ...this.current, checkedAt: undefined };
    try {
      const [chainIdHex, blockNumber, codes] = await withTimeout(
        Promise.all([
          chain.provider.send("eth_chainId", []) as Promise<string>,
          chain.provider.getBlockNumber(),
          Promise.all(CONTRACT_NAMES.map((name) => chain.provider.getCode(chain.deployment.contracts[name]))),
        ]),
        timeoutMs,
      );
      next.reachable = true;
      next.blockNumber = blockNumber;
      const verdict = this.judge(Number(chainIdHex), blockNumber, codes);
      next.problem = verdict?.problem;
      next.message = verdict?.message;
      if (verdict === undefined) {
        const { taskLog, rewardPool } = chain.contracts;
        const [t, r] = await withTimeout(Promise.all([taskLog.lastEpoch(), rewardPool.lastEpoch()]), timeoutMs);
        next.taskLogEpoch = Number(t);
        next.rewardPoolEpoch = Number(r);
        const memory = this.components.codeHashes;
        const onChain = Math.max(next.taskLogEpoch, next.rewardPoolEpoch);
        const seen = memory?.highestEpoch?.() ?? 0;
        if (onChain < seen) {
          next.problem = "chain-rewound";
          next.message =
            `the contracts hold epoch ${onChain} but this keeper saw epoch ${seen} on chain: the chain was reset ` +
            "(its state lost); redeploy if needed and restart this keeper with --chain-new-deployment true " +
            "(docs/operator.md, 'Starting over')";
        } else memory?.noteEpoch?.(onChain);
      }
    } catch (err) {
      next.reachable = false;
      next.problem = "unreachable";
      next.message =
        `chain RPC unreachable (${shortError(err)}): epochs are closed and kept, and submitted once it answers; ` +
        "check chain.rpcUrl and the node";
    }
    next.checkedAt = Date.now();
    this.report(this.current, next);
    this.current = next;
    for (const w of this.waiters.splice(0)) w();
    this.components.onCheck?.(next);
    return next;
  }

  private judge(
    chainId: number,
    blockNumber: number,
    codes: string[],
  ): { problem: ChainProblem; message: string } | undefined {
    const { deployment } = this.components.chain;
    if (chainId !== deployment.chainId) {
      return {
        problem: "wrong-chain",
        message:
          `the RPC serves chain ${chainId}, the deployment record chain ${deployment.chainId}: ` +
          "point chain.rpcUrl at the right network or chain.deployment at its record",
      };
    }
    const missing = CONTRACT_NAMES.filter((_, i) => codes[i] === "0x" || codes[i] === undefined);
    if (missing.length > 0) {
      return {
        problem: "contracts-missing",
        message:
          `no contract code at ${missing.join(", ")} (${deployment.contracts[missing[0]!]}): the chain was reset ` +
          "or the deployment record belongs to another chain; redeploy, then restart this keeper with " +
          "--chain-deployment <new record> --chain-new-deployment true (docs/operator.md, 'Starting over')",
      };
    }
    if (deployment.deploymentBlock !== undefined && blockNumber < deployment.deploymentBlock) {
      return {
        problem: "chain-behind-deployment",
        message:
          `the chain is at block ${blockNumber}, before the deployment block ${deployment.deploymentBlock}: the ` +
          "node was reset or is still syncing; wait for it, or redeploy and start over (docs/operator.md)",
      };
    }
    const hashes = Object.fromEntries(CONTRACT_NAMES.map((name, i) => [name, keccak256(codes[i]!)]));
    const known = this.components.codeHashes?.get();
    if (known === undefined) {
      this.components.codeHashes?.set(hashes);
      return undefined;
    }
    const changed = CONTRACT_NAMES.filter((name) => known[name] !== undefined && known[name] !== hashes[name]);
    if (changed.length > 0) {
      return {
        problem: "contracts-changed",
        message:
          `other code at ${changed.join(", ")} than when this keeper first used it: the contracts were ` +
          "redeployed at the same addresses (a reset chain); restart with --chain-new-deployment true to start over " +
          "against them (docs/operator.md, 'Starting over')",
      };
    }
    return undefined;
  }

  private report(before: ChainState, after: ChainState): void {
    if (after.problem !== before.problem || (after.problem !== undefined && before.checkedAt === undefined)) {
      if (after.problem !== undefined) this.log.error(after.message!, { problem: after.problem });
      else if (before.problem !== undefined) this.log.info("chain healthy again", { was: before.problem });
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(ms)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function shortError(err: unknown): string {
  const e = err as { code?: string; shortMessage?: string; message?: string };
  return e.shortMessage ?? e.code ?? (e.message ?? String(err)).split("\n")[0]!.slice(0, 160);
}

/** Factory in the keeper's component style. */
export function chainMonitor(init: ChainMonitorInit = {}): (components: ChainMonitorComponents) => ChainMonitor {
  return (components) => new ChainMonitor(components, init);
}
