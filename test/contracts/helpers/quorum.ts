import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { concat, keccak256, type BaseWallet, type TypedDataDomain } from "ethers";

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

export function quorumDomain(chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { name: "Lumora EpochQuorum", version: "1", chainId, verifyingContract };
}

/** EpochQuorum's EIP-712 type of a challenge resolution, as in contracts/EpochQuorum.sol. */
export const CHALLENGE_RESOLUTION_TYPES = {
  ChallengeResolution: [
    { name: "epoch", type: "uint64" },
    { name: "challengeId", type: "uint64" },
    { name: "upheld", type: "bool" },
  ],
};

export interface ChallengeResolution {
  epoch: bigint;
  challengeId: bigint;
  upheld: boolean;
}

type SignOptions = { order?: "ascending" | "as-given" };

async function signTyped(
  signers: readonly BaseWallet[],
  domain: TypedDataDomain,
  types: Record<string, { name: string; type: string }[]>,
  value: Record<string, unknown>,
  options: SignOptions,
): Promise<string> {
  const ordered =
    options.order === "as-given"
      ? [...signers]
      : [...signers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  const signatures = await Promise.all(ordered.map((s) => s.signTypedData(domain, types, value)));
  return signatures.length === 0 ? "0x" : concat(signatures);
}

/** Signatures of `commitment` by `signers`, ordered by signer address and concatenated as EpochQuorum takes them. */
export async function signCommitment(
  signers: readonly BaseWallet[],
  domain: TypedDataDomain,
  commitment: EpochCommitment,
  options: SignOptions = {},
): Promise<string> {
  return signTyped(signers, domain, EPOCH_COMMITMENT_TYPES, { ...commitment }, options);
}

/** Signatures of a challenge resolution by `signers`, ordered and concatenated as EpochQuorum takes them. */
export async function signResolution(
  signers: readonly BaseWallet[],
  domain: TypedDataDomain,
  resolution: ChallengeResolution,
  options: SignOptions = {},
): Promise<string> {
  return signTyped(signers, domain, CHALLENGE_RESOLUTION_TYPES, { ...resolution }, options);
}

/** The report batches of an epoch as a StandardMerkleTree over `keccak256(abi.encodePacked(batch))`. */
export function reportsTree(batches: readonly string[][]) {
  const values = batches.map((batch) => [keccak256(batch.length === 0 ? "0x" : concat(batch))]);
  const tree = StandardMerkleTree.of(values, ["bytes32"]);
  return {
    root: tree.root,
    proofOf: (i: number) => tree.getProof(i),
  };
}
