/**
 * Reward proofs of published epochs. A ProofSource answers "the leaf and proof of `account` in `epoch`";
 * three implementations share the answers' shape: the published directory (the default and the source of
 * truth), a keeper's HTTP API, and a keeper over libp2p (proofs-p2p.ts). Claim tooling only sees the interface.
 */
import { getAddress, isAddress } from "ethers";

import { PROOF_CACHE_EPOCHS } from "./epoch-constants.ts";
import {
  AccountNotInEpochError,
  EpochUnknownError,
  ProofRequestError,
  PublishedEpochError,
  RemoteProofError,
} from "./epoch-errors.ts";
import { leafHashOf, REWARD_LEAF_ENCODING, verifyProof, type StandardMerkleTreeDump } from "./merkle.ts";
import { readEpochDump, readEpochSummary, type EpochSummary, type RewardDumpValue } from "./publish.ts";
import { rewardOf } from "./contribution.ts";

/** One account's leaf in an epoch, with its proof. Numbers are decimal strings (JSON-safe). */
export interface RewardProof {
  epoch: number;
  index: number;
  account: string;
  contribution: string;
  proof: string[];
  /** The reward root the proof leads to. */
  root: string;
  /** R_total · C_i / ΣC from the published summary (what RewardPool pays, unless the epoch is vetoed). */
  amount?: string;
}

export interface ProofSource {
  /** @throws EpochUnknownError, AccountNotInEpochError, ProofRequestError */
  proof(epoch: number, account: string, options?: { signal?: AbortSignal }): Promise<RewardProof>;
  /** @throws EpochUnknownError */
  summary(epoch: number, options?: { signal?: AbortSignal }): Promise<EpochSummary>;
}

/** Validates and normalises a request's epoch and account. */
export function parseProofRequest(epoch: unknown, account: unknown): { epoch: number; account: string } {
  const e = typeof epoch === "string" && /^[0-9]{1,10}$/.test(epoch) ? Number(epoch) : epoch;
  if (typeof e !== "number" || !Number.isSafeInteger(e) || e < 1) {
    throw new ProofRequestError(`epoch must be a positive integer, got ${JSON.stringify(epoch)}`);
  }
  if (typeof account !== "string" || !isAddress(account)) {
    throw new ProofRequestError(`account must be an address, got ${JSON.stringify(account)}`);
  }
  return { epoch: e, account: getAddress(account) };
}

/** Sibling hashes from the leaf at `treeIndex` up, in StandardMerkleTree's array layout. */
export function proofFromDump(tree: readonly string[], treeIndex: number): string[] {
  const proof: string[] = [];
  let t = treeIndex;
  while (t > 0) {
    const sibling = t % 2 === 1 ? t + 1 : t - 1;
    const node = tree[sibling];
    if (node === undefined) throw new RangeError(`tree index ${sibling} out of range`);
    proof.push(node);
    t = (t - 1) >> 1;
  }
  return proof;
}

interface LoadedEpoch {
  summary: EpochSummary;
  dump?: StandardMerkleTreeDump<RewardDumpValue>;
  byAccount: Map<string, number>;
}

/** Proofs from a publication directory (`<base>/<epoch>/`). Parsed epochs are cached (LRU). */
export class DirectoryProofSource implements ProofSource {
  private readonly cache = new Map<number, Promise<LoadedEpoch>>();

  constructor(readonly base: string) {}

  private load(epoch: number): Promise<LoadedEpoch> {
    let loaded = this.cache.get(epoch);
    if (loaded !== undefined) {
      this.cache.delete(epoch);
      this.cache.set(epoch, loaded);
      return loaded;
    }
    loaded = (async () => {
      const summary = await readEpochSummary(this.base, epoch);
      const dump = await readEpochDump<RewardDumpValue>(this.base, epoch, "rewards");
      const byAccount = new Map<string, number>();
      dump?.values.forEach((v, i) => byAccount.set(String(v.value[2]).toLowerCase(), i));
      return { summary, dump, byAccount };
    })();
    // A failed load (not published yet) is retried next time.
    loaded.catch(() => this.cache.delete(epoch));
    this.cache.set(epoch, loaded);
    while (this.cache.size > PROOF_CACHE_EPOCHS) this.cache.delete(this.cache.keys().next().value!);
    return loaded;
  }

  async summary(epoch: number): Promise<EpochSummary> {
    return (await this.load(epoch)).summary;
  }

  async proof(epoch: number, account: string): Promise<RewardProof> {
    const req = parseProofRequest(epoch, account);
    const { summary, dump, byAccount } = await this.load(req.epoch);
    const i = byAccount.get(req.account.toLowerCase());
    if (dump === undefined || summary.rewards === null || i === undefined) {
      throw new AccountNotInEpochError(req.epoch, req.account);
    }
    const { value, treeIndex } = dump.values[i]!;
    const proof = proofFromDump(dump.tree, treeIndex);
    const leaf = [BigInt(value[0]), BigInt(value[1]), getAddress(value[2]), BigInt(value[3])];
    // Never hand out a proof the published root does not accept (a damaged or edited dump).
    if (
      Number(value[0]) !== req.epoch ||
      !verifyProof(summary.rewards.root, leafHashOf(leaf, REWARD_LEAF_ENCODING), proof)
    ) {
      throw new PublishedEpochError(
        `${this.base}/${epoch}`,
        `the proof of ${req.account} does not lead to the published root`,
      );
    }
    return {
      epoch: req.epoch,
      index: Number(value[1]),
      account: req.account,
      contribution: BigInt(value[3]).toString(),
      proof,
      root: summary.rewards.root,
      amount: rewardOf(
        BigInt(summary.rewards.rewardTotal),
        BigInt(value[3]),
        BigInt(summary.rewards.totalContribution),
      ).toString(),
    };
  }
}

/** Maps an error answer (HTTP body or libp2p response) back to the typed error. */
export function errorFromResponse(code: string, message: string, epoch: number, account?: string): Error {
  if (code === "EPOCH_UNKNOWN") return new EpochUnknownError(epoch);
  if (code === "ACCOUNT_NOT_IN_EPOCH" && account !== undefined) return new AccountNotInEpochError(epoch, account);
  if (code === "BAD_REQUEST") return new ProofRequestError(message);
  return new RemoteProofError(code, message);
}

/** The error body every proof endpoint answers with. */
export function errorBody(err: unknown): { error: { code: string; message: string } } {
  const code = (err as { code?: unknown }).code;
  const known =
    err instanceof EpochUnknownError || err instanceof AccountNotInEpochError || err instanceof ProofRequestError;
  return {
    error: {
      code: known && typeof code === "string" ? code : "INTERNAL",
      message: known ? (err as Error).message : "internal error",
    },
  };
}

/** Proofs from a keeper's HTTP API (`GET <url>/proofs/<epoch>/<account>`, `GET <url>/epochs/<epoch>`). */
export class HttpProofSource implements ProofSource {
  constructor(readonly url: string) {}

  private async get<T>(route: string, epoch: number, account: string | undefined, signal?: AbortSignal): Promise<T> {
    const res = await fetch(new URL(route, this.url.endsWith("/") ? this.url : `${this.url}/`), { signal });
    const body = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok || body.error !== undefined) {
      throw errorFromResponse(
        body.error?.code ?? `HTTP_${res.status}`,
        body.error?.message ?? res.statusText,
        epoch,
        account,
      );
    }
    return body;
  }

  async proof(epoch: number, account: string, options: { signal?: AbortSignal } = {}): Promise<RewardProof> {
    const req = parseProofRequest(epoch, account);
    return this.get<RewardProof>(`proofs/${req.epoch}/${req.account}`, req.epoch, req.account, options.signal);
  }

  async summary(epoch: number, options: { signal?: AbortSignal } = {}): Promise<EpochSummary> {
    return this.get<EpochSummary>(`epochs/${epoch}`, epoch, undefined, options.signal);
  }
}
