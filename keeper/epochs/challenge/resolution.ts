/**
 * What the keepers sign to resolve a challenge of a RewardPool epoch: EpochQuorum's EIP-712
 * `ChallengeResolution(uint64 epoch,uint64 challengeId,bool upheld)` under the quorum's domain (contracts/EpochQuorum.sol
 * `resolutionDigestOf`, docs/security.md "Resolution by a keeper supermajority"). Pure: no I/O.
 */
import { TypedDataEncoder, type TypedDataDomain } from "ethers";

export const CHALLENGE_RESOLUTION_TYPES = {
  ChallengeResolution: [
    { name: "epoch", type: "uint64" },
    { name: "challengeId", type: "uint64" },
    { name: "upheld", type: "bool" },
  ],
};

/** One verdict on one challenge (RewardPool.challengeOf(epoch).id). */
export interface ChallengeResolution {
  epoch: number;
  challengeId: bigint;
  upheld: boolean;
}

/** The EIP-712 digest of `r` (what EpochQuorum.resolutionDigestOf returns). */
export function resolutionDigest(domain: TypedDataDomain, r: ChallengeResolution): string {
  return TypedDataEncoder.hash(domain, CHALLENGE_RESOLUTION_TYPES, {
    epoch: BigInt(r.epoch),
    challengeId: r.challengeId,
    upheld: r.upheld,
  });
}
