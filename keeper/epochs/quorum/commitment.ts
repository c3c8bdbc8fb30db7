/**
 * What the keepers sign for an epoch: EpochQuorum's EIP-712 `EpochCommitment` (contracts/EpochQuorum.sol,
 * docs/PROTOCOL.md "Epoch signatures"). The submission builds it from a BuiltEpoch (submit/submitter.ts
 * `quorumCommitmentOf`).
 *
 *   digest = EIP-712(domain {name "Lumora EpochQuorum", version "1", chainId, verifyingContract = EpochQuorum},
 *            EpochCommitment{epoch, taskRoot, taskCount, taskUri, rewardRoot, totalContribution, rewardTotal,
 *                            reportsRoot, evidenceHash})
 *   reportsRoot = StandardMerkleTree(["bytes32"]) root over keccak256(packed reports of batch i), reports sorted by
 *                 node address and cut into batches of `batchNodes` (zero when the epoch has no reports)
 *   receiptsHash = keccak256(concat(receipt hashes, ascending)) — the receipts of evidence.json (zero when none)
 *   evidenceHash = receiptsHash when the epoch merged no observation set (or an empty one), else
 *                  keccak256(receiptsHash ‖ observationsHash) — observationsHash the published set's identity
 *                  (observe/observation.ts `observationSetHash`), so the chain binds which set the signers approved
 *                  (docs/epochs.md "The observation set on chain", review M-3)
 *
 * Pure: no I/O, so every case is a unit test.
 */
import { TypedDataEncoder, ZeroHash, concat, getAddress, keccak256, type TypedDataDomain } from "ethers";

import { buildTree, type MerkleTree } from "../merkle/tree.ts";

/** EpochQuorum's EIP-712 type, field for field as in contracts/EpochQuorum.sol. */
export const EPOCH_COMMITMENT_TYPES = {
  EpochCommitment: [
    { name: "epoch", type: "uint64" },
    { name: "taskRoot", type: "bytes32" },
    { name: "taskCount", type: "uint64" },
    { name: "taskUri", type: "string" },
    { name: "rewardRoot", type: "bytes32" },
    { name: "totalContribution", type: "uint256" },
    { name: "rewardTotal", type: "uint256" },
    { name: "reportsRoot", type: "bytes32" },
    { name: "evidenceHash", type: "bytes32" },
  ],
};

export const QUORUM_DOMAIN_NAME = "Lumora EpochQuorum";
export const QUORUM_DOMAIN_VERSION = "1";

/** Bytes of one signature (r, s, v) in EpochQuorum's packed signature list. */
export const SIGNATURE_BYTES = 65;

/** EpochQuorum.EpochCommitment. */
export interface EpochCommitment {
  epoch: bigint;
  taskRoot: string;
  taskCount: bigint;
  taskUri: string;
  rewardRoot: string;
  totalContribution: bigint;
  rewardTotal: bigint;
  reportsRoot: string;
  evidenceHash: string;
}

/** An epoch's report batches and their tree (undefined tree: no reports). */
export interface ReportBatches {
  batches: string[][];
  tree: MerkleTree<readonly [string]> | undefined;
  root: string;
}

export function quorumDomain(chainId: bigint | number, quorumAddress: string): TypedDataDomain {
  return {
    name: QUORUM_DOMAIN_NAME,
    version: QUORUM_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: getAddress(quorumAddress),
  };
}

/**
 * Whether a request names this deployment's quorum: its chain id and its EpochQuorum (false when the deployment has
 * none). What a keeper checks before it signs anything for a peer (approve.ts, challenge/resolver.ts).
 */
export function namesDeployment(
  deployment: { chainId: number; contracts: { EpochQuorum?: string | undefined } },
  request: { chainId: number; quorum: string },
): boolean {
  const quorum = deployment.contracts.EpochQuorum;
  return quorum !== undefined && request.chainId === deployment.chainId && getAddress(request.quorum) === quorum;
}

/**
 * The tree the keepers sign over an epoch's reports, already packed (Reputation.encodeReport) and sorted by node:
 * cut into batches of `batchNodes`, one leaf per batch.
 */
export function reportBatchesOf(packedSorted: readonly string[], batchNodes: number): ReportBatches {
  if (packedSorted.length === 0) return { batches: [], tree: undefined, root: ZeroHash };
  const batches: string[][] = [];
  for (let i = 0; i < packedSorted.length; i += batchNodes) batches.push(packedSorted.slice(i, i + batchNodes));
  const tree = buildTree(
    batches.map((b) => [keccak256(concat(b))] as const),
    ["bytes32"],
  );
  return { batches, tree, root: tree.root };
}

/** keccak256 of the epoch's receipt hashes in ascending order (zero when it counted none). */
export function receiptsHashOf(receiptHashes: readonly string[] | undefined): string {
  if (receiptHashes === undefined || receiptHashes.length === 0) return ZeroHash;
  const sorted = receiptHashes.map((h) => h.toLowerCase()).sort();
  return keccak256(concat(sorted));
}

/**
 * The evidence hash the keepers sign: the receipts' hash alone when `observationsHash` is absent or zero (no
 * observation set), else keccak256(receiptsHash ‖ observationsHash) (see the header).
 */
export function evidenceHashOf(receiptHashes: readonly string[] | undefined, observationsHash?: string): string {
  const receipts = receiptsHashOf(receiptHashes);
  if (observationsHash === undefined || observationsHash.toLowerCase() === ZeroHash) return receipts;
  return keccak256(concat([receipts, observationsHash.toLowerCase()]));
}

/** The EIP-712 digest of `commitment` (what EpochQuorum.digestOf returns). */
export function commitmentDigest(domain: TypedDataDomain, commitment: EpochCommitment): string {
  return TypedDataEncoder.hash(domain, EPOCH_COMMITMENT_TYPES, commitment);
}

/** Whether two commitments are the same (every signed field). */
export function sameCommitment(a: EpochCommitment, b: EpochCommitment): boolean {
  return (
    a.epoch === b.epoch &&
    a.taskRoot.toLowerCase() === b.taskRoot.toLowerCase() &&
    a.taskCount === b.taskCount &&
    a.taskUri === b.taskUri &&
    a.rewardRoot.toLowerCase() === b.rewardRoot.toLowerCase() &&
    a.totalContribution === b.totalContribution &&
    a.rewardTotal === b.rewardTotal &&
    a.reportsRoot.toLowerCase() === b.reportsRoot.toLowerCase() &&
    a.evidenceHash.toLowerCase() === b.evidenceHash.toLowerCase()
  );
}

/** Signatures keyed by signer, packed as EpochQuorum takes them: ascending signer address, 65 bytes each. */
export function packSignatures(bySigner: ReadonlyMap<string, string>): string {
  const signers = [...bySigner.keys()].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return signers.length === 0 ? "0x" : concat(signers.map((s) => bySigner.get(s)!));
}

/** What the submission asks for when it needs t keeper signatures of an epoch commitment. */
export interface QuorumSignatureRequest {
  commitment: EpochCommitment;
  digest: string;
  /** Signatures needed (the quorum's threshold). */
  threshold: number;
  /** The quorum's keeper set (checksummed): only their signatures count. */
  keepers: readonly string[];
  /** Signatures already held, by signer address (ours). */
  have: ReadonlyMap<string, string>;
}

export interface QuorumSignatureSource {
  /**
   * Resolves with signatures by signer address (the held ones included) once `threshold` are held, or throws
   * QuorumNotReachedError at its deadline.
   */
  gather(request: QuorumSignatureRequest, options: { signal?: AbortSignal }): Promise<Map<string, string>>;
}
