/**
 * Reward proofs of published epochs. A ProofSource answers "the leaf and proof of `account` in `epoch`";
 * three implementations share the answers' shape: the published directory (the default and the source of
 * truth), a keeper's HTTP API, and a keeper over libp2p (proofs/p2p.ts). Claim tooling only sees the interface.
 * The first two are also EpochRecordSources: they hand out an epoch's whole published dumps, which is what
 * `lumora:verify-epoch` rebuilds the roots from.
 */
import path from "node:path";

import { getAddress, isAddress } from "ethers";

import { EpochUnknownError } from "../collect/errors.ts";
import type { EpochEvidence } from "../types.ts";
import { EVIDENCE_FORMAT_V2, PROOF_CACHE_EPOCHS } from "./constants.ts";
import { parseEvidence } from "./evidence.ts";
import { AccountNotInEpochError, ProofRequestError, PublishedEpochError, RemoteProofError } from "./errors.ts";
import { leafHashOf, REWARD_LEAF_ENCODING, verifyProof, type StandardMerkleTreeDump } from "../merkle/tree.ts";
import {
  epochDir,
  readEpochDump,
  readEpochEvidence,
  readFullEvidence,
  readEpochSummary,
  type EpochSummary,
  type RewardDumpValue,
} from "./publish.ts";
import { rewardOf } from "../collect/contribution.ts";

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
  /** The receipt hashes the epoch counted (evidence.json). @throws EpochUnknownError */
  evidence?(epoch: number, options?: { signal?: AbortSignal }): Promise<string[]>;
}

/** The two published dumps of an epoch (rewards.json, tasks.json). */
export type DumpKind = "rewards" | "tasks";

/** A file of an epoch's publication the API serves as it is: the dumps and the evidence. */
export type PublishedFileKind = DumpKind | "evidence";

/** An epoch's whole publication: the summary and its dumps, as published (nothing checked beyond the format). */
export interface EpochRecordSource {
  /** Where the records come from (a folder or a URL), for messages. */
  readonly location: string;
  /** @throws EpochUnknownError */
  summary(epoch: number, options?: { signal?: AbortSignal }): Promise<EpochSummary>;
  /** The epoch's dump of `kind`; undefined when its summary lists none. @throws EpochUnknownError, PublishedEpochError */
  dump<T extends readonly unknown[]>(
    epoch: number,
    kind: DumpKind,
    options?: { signal?: AbortSignal },
  ): Promise<StandardMerkleTreeDump<T> | undefined>;
  /** The epoch's full evidence (lumora-evidence-v2); undefined when it published only hashes or none. */
  fullEvidence(
    epoch: number,
    options?: { signal?: AbortSignal },
  ): Promise<(EpochEvidence & { ids: string[] }) | undefined>;
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
export class DirectoryProofSource implements ProofSource, EpochRecordSource {
  private readonly cache = new Map<number, Promise<LoadedEpoch>>();

  constructor(readonly base: string) {}

  get location(): string {
    return this.base;
  }

  /** The file of the epoch's dump of `kind` (named by its summary); undefined when it lists none. */
  async dumpFile(epoch: number, kind: PublishedFileKind): Promise<string | undefined> {
    const summary = await readEpochSummary(this.base, epoch);
    const entry = kind === "rewards" ? summary.rewards : kind === "tasks" ? summary.tasks : (summary.evidence ?? null);
    return entry === null ? undefined : path.join(epochDir(this.base, epoch), path.basename(entry.file));
  }

  async fullEvidence(epoch: number): Promise<(EpochEvidence & { ids: string[] }) | undefined> {
    return readFullEvidence(this.base, epoch);
  }

  async dump<T extends readonly unknown[]>(
    epoch: number,
    kind: DumpKind,
  ): Promise<StandardMerkleTreeDump<T> | undefined> {
    return readEpochDump<T>(this.base, epoch, kind);
  }

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

  evidence(epoch: number): Promise<string[]> {
    return readEpochEvidence(this.base, epoch);
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

/** The HTTP route of an epoch's dump: `/epochs/<epoch>/rewards.json`, `/epochs/<epoch>/tasks.json`. */
export function dumpRoute(epoch: number, kind: PublishedFileKind): string {
  return `epochs/${epoch}/${kind}.json`;
}

/**
 * Proofs from a keeper's HTTP API (`GET <url>/proofs/<epoch>/<account>`, `GET <url>/epochs/<epoch>`), and the
 * published dumps (`GET <url>/epochs/<epoch>/rewards.json`, `…/tasks.json`).
 */
export class HttpProofSource implements ProofSource, EpochRecordSource {
  constructor(readonly url: string) {}

  get location(): string {
    return this.url;
  }

  private href(route: string): URL {
    return new URL(route, this.url.endsWith("/") ? this.url : `${this.url}/`);
  }

  private async get<T>(route: string, epoch: number, account: string | undefined, signal?: AbortSignal): Promise<T> {
    const url = this.href(route);
    let res: Response;
    let body: T & { error?: { code: string; message: string } };
    try {
      res = await fetch(url, { signal });
      body = (await res.json()) as typeof body;
    } catch (err) {
      if (signal?.aborted === true) throw err;
      // Nothing listens there, or something that is not a keeper's API answers.
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new RemoteProofError("UNREACHABLE", `no keeper API answers at ${url.href}: ${cause}`);
    }
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

  async dump<T extends readonly unknown[]>(
    epoch: number,
    kind: DumpKind,
    options: { signal?: AbortSignal } = {},
  ): Promise<StandardMerkleTreeDump<T> | undefined> {
    const summary = await this.summary(epoch, options);
    if ((kind === "rewards" ? summary.rewards : summary.tasks) === null) return undefined;
    const route = dumpRoute(epoch, kind);
    const dump = await this.get<StandardMerkleTreeDump<T>>(route, epoch, undefined, options.signal);
    if (dump.format !== "standard-v1" || !Array.isArray(dump.tree) || !Array.isArray(dump.values)) {
      throw new PublishedEpochError(this.href(route).href, "not a StandardMerkleTree dump");
    }
    return dump;
  }

  async fullEvidence(
    epoch: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<(EpochEvidence & { ids: string[] }) | undefined> {
    const summary = await this.summary(epoch, options);
    if (summary.evidence?.format !== EVIDENCE_FORMAT_V2) return undefined;
    const route = dumpRoute(epoch, "evidence");
    const body = await this.get<unknown>(route, epoch, undefined, options.signal);
    try {
      return parseEvidence(body, epoch);
    } catch (err) {
      throw new PublishedEpochError(this.href(route).href, (err as Error).message);
    }
  }
}
