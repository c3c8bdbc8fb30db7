/**
 * Typed access to the Lumora contracts (TypeChain + ethers v6) for one keeper, with the transaction machinery
 * the epoch submission relies on:
 * - one nonce sequence per signer, handed out under a lock and re-read from the node's pending nonce after any
 *   failure;
 * - transactions signed locally, handed to the caller (`onSigned`) before they are broadcast, so a journal can
 *   hold the exact bytes: a rebroadcast after a crash or a timeout resends the same transaction, never a second;
 * - exponential back-off on transient RPC failures (classify.ts), never on reverts;
 * - a fee cap: above it the send waits for fees to fall;
 * - N confirmations before a transaction counts.
 *
 * The private key is held by the ethers Wallet only; it is never logged nor put in an error.
 */
import {
  FetchRequest,
  JsonRpcProvider,
  Network,
  Transaction,
  Wallet,
  keccak256,
  type Interface,
  type TransactionReceipt,
} from "ethers";

import {
  EpochQuorum__factory,
  LumoraToken__factory,
  NodeRegistry__factory,
  CreditVault__factory,
  Reputation__factory,
  RewardPool__factory,
  TaskLog__factory,
  type EpochQuorum,
  type LumoraToken,
  type NodeRegistry,
  type CreditVault,
  type Reputation,
  type RewardPool,
  type TaskLog,
} from "../../types/ethers-contracts/index.ts";
import type { Logger } from "../logger.ts";
import { linkSignals } from "../signals.ts";
import { classifyRpcError, revertDataOf } from "./classify.ts";
import {
  CONFIRMATIONS,
  DEFAULT_PRIORITY_FEE_WEI,
  GAS_CAP_POLL_MS,
  GAS_LIMIT_MARGIN_PERCENT,
  MAX_FEE_PER_GAS_WEI,
  REBROADCAST_AFTER_MS,
  RECEIPT_POLL_MS,
  RETRY_MAX_ELAPSED_MS,
  RPC_TIMEOUT_MS,
} from "./constants.ts";
import { checkDeploymentRecord, type DeploymentRecord } from "./deployment.ts";
import { RpcTransport } from "./http.ts";
import {
  ChainConfigError,
  ContractRevertError,
  GasPriceAboveCapError,
  NoSignerError,
  TransactionRejectedError,
  TransactionReplacedError,
  WrongChainError,
} from "./errors.ts";
import { sleep, withRetry, type RetryOptions } from "./retry.ts";

export interface ChainInit {
  /** JSON-RPC endpoint (http/https). */
  rpcUrl: string;
  /** The deployment to talk to (see deployment.ts `loadDeploymentRecord`). */
  deployment: DeploymentRecord;
  /**
   * Hex private key of this keeper's signer (the operator's comes from `LUMORA_CHAIN_KEY` or a keystore, read by
   * keeper/config/secrets.ts); without it the connection is read-only. Never logged.
   */
  privateKey?: string;
  /** Confirmations before a transaction counts. Default CONFIRMATIONS. */
  confirmations?: number;
  /** Fee cap in wei per gas. Default MAX_FEE_PER_GAS_WEI. */
  maxFeePerGasWei?: bigint;
  /** How long a send waits for fees under the cap before failing with GasPriceAboveCapError. Default 10 min. */
  gasCapMaxWaitMs?: number;
  gasCapPollMs?: number;
  rpcTimeoutMs?: number;
  /** Sockets open at once to the RPC node (keep-alive; more requests wait for one). Default RPC_MAX_SOCKETS. */
  rpcMaxSockets?: number;
  receiptPollMs?: number;
  rebroadcastAfterMs?: number;
  retry?: Pick<RetryOptions, "initialDelayMs" | "maxDelayMs" | "maxElapsedMs">;
}

export interface ChainComponents {
  logger: Logger;
  /** Called for every transient RPC failure that is retried (the operator's metrics). */
  onRpcError?: (err: unknown) => void;
}

export interface ChainOptions {
  signal?: AbortSignal;
}

/** A transaction signed by this keeper, as journaled before its broadcast. */
export interface SignedTx {
  label: string;
  hash: string;
  nonce: number;
  raw: string;
}

export interface TxRequest {
  /** What the transaction does, for logs and errors (`TaskLog.commit(7)`). */
  label: string;
  to: string;
  data: string;
  /** ABI used to decode a revert into the contract's custom error. */
  iface?: Interface;
}

export interface SendOptions extends ChainOptions {
  /** Called with the signed transaction before it is broadcast (journal it here). */
  onSigned?: (tx: SignedTx) => void | Promise<void>;
  /** Called once the node accepted the transaction, before its receipt is awaited. */
  onBroadcast?: (tx: SignedTx) => void | Promise<void>;
}

export interface TxOutcome {
  hash: string;
  nonce: number;
  blockNumber: number;
  gasUsed: bigint;
}

/** What became of a journaled transaction: confirmed, or its nonce went to another transaction. */
export type ResumeOutcome = ({ status: "confirmed" } & TxOutcome) | { status: "replaced" };

export interface LumoraContracts {
  token: LumoraToken;
  taskLog: TaskLog;
  reputation: Reputation;
  rewardPool: RewardPool;
  /** The keeper quorum, when the deployment has one: epochs are then committed through it (t-of-n signatures). */
  epochQuorum?: EpochQuorum;
  /** The bond registry; absent from deployments made before it (then the keeper gates nothing by bond). */
  nodeRegistry?: NodeRegistry;
  /** Consumers' deposits and vouchers (paid demand); absent from deployments made before it. */
  creditVault?: CreditVault;
}

export class Chain {
  readonly provider: JsonRpcProvider;
  readonly deployment: DeploymentRecord;
  readonly contracts: LumoraContracts;
  /** This keeper's address, or undefined when read-only. */
  readonly address: string | undefined;
  readonly confirmations: number;
  /** The bounded HTTP transport every JSON-RPC request goes through (http.ts). */
  readonly transport: RpcTransport;

  private readonly log: Logger;
  private readonly wallet: Wallet | undefined;
  private readonly controller = new AbortController();
  private nonce: number | undefined;
  private nonceLock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly components: ChainComponents,
    private readonly init: ChainInit,
  ) {
    this.log = components.logger.child("chain");
    this.deployment = checkDeploymentRecord(init.deployment);
    if (!/^https?:\/\//.test(init.rpcUrl)) throw new ChainConfigError("rpcUrl", "must be an http(s) URL");
    this.confirmations = init.confirmations ?? CONFIRMATIONS;
    if (!Number.isInteger(this.confirmations) || this.confirmations < 1) {
      throw new ChainConfigError("confirmations", "must be an integer ≥ 1");
    }
    const request = new FetchRequest(init.rpcUrl);
    request.timeout = init.rpcTimeoutMs ?? RPC_TIMEOUT_MS;
    this.transport = new RpcTransport({ maxSockets: init.rpcMaxSockets });
    request.getUrlFunc = this.transport.getUrl;
    // A static network: ethers otherwise re-detects the chain id in the background, forever, while the node is down.
    this.provider = new JsonRpcProvider(request, Network.from(this.deployment.chainId), {
      staticNetwork: Network.from(this.deployment.chainId),
      batchMaxCount: 1,
      // ethers caches identical requests for 250 ms; a nonce or epochOf read right after a transaction must be fresh.
      cacheTimeout: -1,
    });
    const key = init.privateKey;
    if (key !== undefined && key !== "") {
      try {
        this.wallet = new Wallet(key, this.provider);
      } catch {
        // Deliberately no cause: ethers' error would echo the value.
        throw new ChainConfigError("privateKey", "not a 32-byte hex private key");
      }
    }
    this.address = this.wallet?.address;
    const c = this.deployment.contracts;
    this.contracts = {
      token: LumoraToken__factory.connect(c.LumoraToken, this.provider),
      taskLog: TaskLog__factory.connect(c.TaskLog, this.provider),
      reputation: Reputation__factory.connect(c.Reputation, this.provider),
      rewardPool: RewardPool__factory.connect(c.RewardPool, this.provider),
      ...(c.EpochQuorum !== undefined && { epochQuorum: EpochQuorum__factory.connect(c.EpochQuorum, this.provider) }),
      ...(c.NodeRegistry !== undefined && {
        nodeRegistry: NodeRegistry__factory.connect(c.NodeRegistry, this.provider),
      }),
      ...(c.CreditVault !== undefined && { creditVault: CreditVault__factory.connect(c.CreditVault, this.provider) }),
    };
  }

  /**
   * This keeper's signature (65 bytes r, s, v, hex) of a 32-byte digest — for EpochQuorum, the EIP-712 digest of
   * an epoch commitment it checked. Throws NoSignerError when read-only. The key never leaves the wallet.
   */
  signDigest(digest: string): string {
    return this.requireWallet().signingKey.sign(digest).serialized;
  }

  /** Checks that the node serves the deployment's chain (retrying while it is unreachable). */
  async start(options: ChainOptions = {}): Promise<void> {
    const chainId = await this.read("eth_chainId", () => this.provider.send("eth_chainId", []), options);
    if (Number(chainId) !== this.deployment.chainId)
      throw new WrongChainError(this.deployment.chainId, Number(chainId));
    this.log.info("chain connected", { chainId: this.deployment.chainId, keeper: this.address ?? "read-only" });
  }

  /** Aborts pending waits and releases the provider (its timers would keep the process alive). */
  async stop(): Promise<void> {
    this.controller.abort(new Error("chain stopped"));
    this.provider.destroy();
    this.transport.destroy();
  }

  /** A read (eth_call, block number, …) retried on transient failures; a revert becomes ContractRevertError. */
  async read<T>(operation: string, fn: () => Promise<T>, options: ChainOptions = {}): Promise<T> {
    try {
      return await this.linked(options, (signal) => withRetry(operation, fn, this.retryOptions(signal)));
    } catch (err) {
      if (classifyRpcError(err) === "revert") throw this.revertError(operation, err);
      throw err;
    }
  }

  /**
   * Estimates, signs (with the managed nonce), journals through `onSigned`, broadcasts and waits for the
   * configured confirmations. A revert at estimation or in the receipt is a ContractRevertError.
   */
  async send(request: TxRequest, options: SendOptions = {}): Promise<TxOutcome> {
    const wallet = this.requireWallet();
    const gas = await this.read(
      `${request.label}.estimateGas`,
      () => this.provider.estimateGas({ from: wallet.address, to: request.to, data: request.data }),
      options,
    ).catch((err: unknown) => {
      throw err instanceof ContractRevertError ? this.revertError(request.label, err.cause, request.iface) : err;
    });
    const fees = await this.feesUnderCap(options);
    // A nonce taken by another transaction of this key (another process, a manual send) is not the request's
    // fault: sign again with the re-read pending nonce, a few times.
    let signed: SignedTx | undefined;
    for (let attempt = 1; signed === undefined; attempt++) {
      try {
        signed = await this.signAndBroadcast(wallet, request, gas, fees, options);
      } catch (err) {
        if (!(err instanceof TransactionReplacedError) || attempt >= 3) throw err;
        this.log.warn("nonce taken by another transaction, signing again", { label: request.label, nonce: err.nonce });
      }
    }
    this.log.debug("transaction sent", { label: request.label, hash: signed.hash, nonce: signed.nonce });
    await options.onBroadcast?.(signed);
    return this.waitFor(signed, request.iface, options);
  }

  private signAndBroadcast(
    wallet: Wallet,
    request: TxRequest,
    gas: bigint,
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
    options: SendOptions,
  ): Promise<SignedTx> {
    return this.withNonce(async (nonce) => {
      const raw = await wallet.signTransaction({
        type: 2,
        chainId: this.deployment.chainId,
        nonce,
        to: request.to,
        data: request.data,
        gasLimit: (gas * (100n + GAS_LIMIT_MARGIN_PERCENT)) / 100n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const tx: SignedTx = { label: request.label, hash: keccak256(raw), nonce, raw };
      await options.onSigned?.(tx);
      await this.broadcast(tx, options);
      return tx;
    });
  }

  /**
   * Settles a journaled transaction after a crash or an error: waits for it if it was mined or is still
   * pending (rebroadcasting the same bytes), or reports that its nonce went to another transaction.
   */
  async resume(tx: SignedTx, iface?: Interface, options: ChainOptions = {}): Promise<ResumeOutcome> {
    this.requireWallet();
    try {
      const receipt = await this.read(
        `${tx.label}.receipt`,
        () => this.provider.getTransactionReceipt(tx.hash),
        options,
      );
      if (receipt === null) {
        if ((await this.latestNonce(options)) > tx.nonce) {
          // Mined between the two reads, or replaced: one more look decides.
          const again = await this.read(
            `${tx.label}.receipt`,
            () => this.provider.getTransactionReceipt(tx.hash),
            options,
          );
          if (again === null) return { status: "replaced" };
        } else {
          await this.broadcast(tx, options);
        }
      }
      return { status: "confirmed", ...(await this.waitFor(tx, iface, options)) };
    } catch (err) {
      if (err instanceof TransactionReplacedError) return { status: "replaced" };
      throw err;
    } finally {
      this.nonce = undefined;
    }
  }

  // ─────────────────────────────────────────── internals ───────────────────────────────────────────

  private requireWallet(): Wallet {
    if (this.wallet === undefined) throw new NoSignerError();
    return this.wallet;
  }

  /**
   * Runs `fn` under the caller's signal and this chain's stop signal, linked for the call only (keeper/signals.ts:
   * AbortSignal.any on the long-lived stop signal kept memory for every chain read, for the keeper's life).
   */
  private async linked<T>(options: ChainOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (options.signal === undefined) return fn(this.controller.signal);
    const link = linkSignals([options.signal, this.controller.signal]);
    try {
      return await fn(link.signal);
    } finally {
      link.clear();
    }
  }

  private retryOptions(signal: AbortSignal): RetryOptions {
    return {
      ...this.init.retry,
      signal,
      log: this.log,
      ...(this.components.onRpcError !== undefined && { onTransientError: this.components.onRpcError }),
    };
  }

  /** Runs `fn` with the next nonce of this signer, one at a time; any failure re-reads the pending nonce. */
  private async withNonce<T>(fn: (nonce: number) => Promise<T>): Promise<T> {
    const run = this.nonceLock.then(async () => {
      const wallet = this.requireWallet();
      if (this.nonce === undefined) {
        this.nonce = await this.read("nonce", () => this.provider.getTransactionCount(wallet.address, "pending"));
      }
      const nonce = this.nonce;
      try {
        const result = await fn(nonce);
        this.nonce = nonce + 1;
        return result;
      } catch (err) {
        this.nonce = undefined;
        throw err;
      }
    });
    this.nonceLock = run.catch(() => {});
    return run;
  }

  private latestNonce(options: ChainOptions): Promise<number> {
    const address = this.requireWallet().address;
    return this.read("nonce", () => this.provider.getTransactionCount(address, "latest"), options);
  }

  /**
   * Sends the signed bytes, retrying transient failures (the same bytes: a retry cannot make a second
   * transaction). "Already known / nonce too low" means either our transaction is in (fine) or the nonce went
   * to another one (TransactionReplacedError).
   */
  private async broadcast(tx: SignedTx, options: ChainOptions): Promise<void> {
    try {
      await this.linked(options, (signal) =>
        withRetry(
          `${tx.label}.broadcast`,
          () => this.provider.send("eth_sendRawTransaction", [tx.raw]),
          this.retryOptions(signal),
        ),
      );
    } catch (err) {
      const kind = classifyRpcError(err);
      if (kind === "nonce") {
        const known = await this.read("getTransaction", () => this.provider.getTransaction(tx.hash), options);
        if (known !== null) return;
        throw new TransactionReplacedError(tx.hash, tx.nonce);
      }
      if (kind === "revert") throw this.revertError(tx.label, err);
      if (kind === "fatal") {
        const code = String((err as { code?: unknown }).code ?? "UNKNOWN");
        throw new TransactionRejectedError(tx.label, code, { cause: err });
      }
      throw err;
    }
  }

  /** Polls until the transaction has the configured confirmations; rebroadcasts it while it stays unmined. */
  private async waitFor(tx: SignedTx, iface: Interface | undefined, options: ChainOptions): Promise<TxOutcome> {
    const pollMs = this.init.receiptPollMs ?? RECEIPT_POLL_MS;
    const rebroadcastMs = this.init.rebroadcastAfterMs ?? REBROADCAST_AFTER_MS;
    let lastBroadcast = Date.now();
    for (;;) {
      const receipt = await this.read(
        `${tx.label}.receipt`,
        () => this.provider.getTransactionReceipt(tx.hash),
        options,
      );
      if (receipt !== null) {
        if (receipt.status === 0) throw await this.minedRevert(tx, receipt, iface, options);
        const tip = await this.read("blockNumber", () => this.provider.getBlockNumber(), options);
        if (tip - receipt.blockNumber + 1 >= this.confirmations) {
          return { hash: tx.hash, nonce: tx.nonce, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
        }
      } else if ((await this.latestNonce(options)) > tx.nonce) {
        const again = await this.read(
          `${tx.label}.receipt`,
          () => this.provider.getTransactionReceipt(tx.hash),
          options,
        );
        if (again === null) {
          this.nonce = undefined;
          throw new TransactionReplacedError(tx.hash, tx.nonce);
        }
        continue;
      } else if (Date.now() - lastBroadcast >= rebroadcastMs) {
        this.log.warn("transaction not mined yet, rebroadcasting", { label: tx.label, hash: tx.hash });
        await this.broadcast(tx, options);
        lastBroadcast = Date.now();
      }
      await this.linked(options, (signal) => sleep(pollMs, { signal }));
    }
  }

  /** Replays a reverted transaction as a call on the state after its block to recover the custom error. */
  private async minedRevert(
    tx: SignedTx,
    receipt: TransactionReceipt,
    iface: Interface | undefined,
    options: ChainOptions,
  ): Promise<ContractRevertError> {
    const parsed = Transaction.from(tx.raw);
    try {
      await this.read(
        `${tx.label}.replay`,
        () =>
          this.provider.call({ from: parsed.from, to: parsed.to, data: parsed.data, blockTag: receipt.blockNumber }),
        options,
      );
    } catch (err) {
      if (err instanceof ContractRevertError) {
        const decoded = this.revertError(tx.label, err.cause, iface);
        return new ContractRevertError(tx.label, decoded.errorName, decoded.errorArgs, tx.hash, { cause: err.cause });
      }
    }
    return new ContractRevertError(tx.label, undefined, [], tx.hash);
  }

  private revertError(operation: string, err: unknown, iface?: Interface): ContractRevertError {
    const data = revertDataOf(err);
    const ifaces = iface === undefined ? Object.values(this.contracts).map((c) => c.interface as Interface) : [iface];
    if (data !== undefined) {
      for (const i of ifaces) {
        try {
          const parsed = i.parseError(data);
          if (parsed !== null)
            return new ContractRevertError(operation, parsed.name, [...parsed.args], undefined, { cause: err });
        } catch {
          // not this ABI's error
        }
      }
    }
    const revert = (err as { revert?: { name?: string; args?: unknown[] } }).revert;
    return new ContractRevertError(operation, revert?.name, revert?.args ?? [], undefined, { cause: err });
  }

  /** Fees for the next block, waiting while base fee + tip is above the cap. */
  private async feesUnderCap(options: ChainOptions): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const cap = this.init.maxFeePerGasWei ?? MAX_FEE_PER_GAS_WEI;
    const maxWait = this.init.gasCapMaxWaitMs ?? RETRY_MAX_ELAPSED_MS;
    const started = Date.now();
    for (;;) {
      const block = await this.read("latestBlock", () => this.provider.getBlock("latest"), options);
      const tipHex = await this.read(
        "maxPriorityFeePerGas",
        () => this.provider.send("eth_maxPriorityFeePerGas", []),
        options,
      ).catch(() => undefined);
      const tip = tipHex === undefined ? DEFAULT_PRIORITY_FEE_WEI : BigInt(tipHex as string);
      const base = block?.baseFeePerGas ?? 0n;
      const needed = base + tip;
      if (needed <= cap) {
        const maxFeePerGas = 2n * base + tip < cap ? 2n * base + tip : cap;
        return { maxFeePerGas, maxPriorityFeePerGas: tip };
      }
      if (Date.now() - started >= maxWait) throw new GasPriceAboveCapError(needed, cap);
      this.log.warn("fees above the cap, waiting", { neededWei: needed, capWei: cap });
      await this.linked(options, (signal) => sleep(this.init.gasCapPollMs ?? GAS_CAP_POLL_MS, { signal }));
    }
  }
}

/** Factory in the keeper's component style: `chain(init)({ logger })`. */
export function chain(init: ChainInit): (components: ChainComponents) => Chain {
  return (components) => new Chain(components, init);
}
