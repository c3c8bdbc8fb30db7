/**
 * Signed health observations: one keeper's statement of the health outcomes it counted for one peer in one closed
 * epoch, signed with the keeper's chain key (the key EpochQuorum knows it by), so that only the quorum's keepers
 * can be observers and nobody can make up an observation in their name (docs/security.md, "Reports are merged").
 *
 * Signed digest: EIP-712 in EpochQuorum's domain {name "Lumora EpochQuorum", version "1", chainId,
 * verifyingContract = EpochQuorum} — an observation therefore replays neither on another chain nor on another
 * deployment — of the type
 *
 *   HealthObservation(uint64 epoch,address observer,string subject,address account,uint32 successes,uint32 failures,
 *                     uint32 audits,uint32 auditFailures)
 *
 * `audits` / `auditFailures`: the audits of the peer this keeper made in the epoch (keeper/audit) and how many
 * failed — what the epoch's lost credit is merged from (merge.ts `auditDisqualified`); 0 when it audited none.
 *
 * `subject` is the observed peer's id, `account` the reward account its signed peer record named when the epoch was
 * frozen (what Reputation is told about). Wire and evidence form: a JSON object with these fields and `signature`
 * (65 bytes r‖s‖v, 0x-hex). Pure: no I/O.
 */
import {
  TypedDataEncoder,
  ZeroHash,
  concat,
  getAddress,
  keccak256,
  recoverAddress,
  type TypedDataDomain,
} from "ethers";
import { z } from "zod";

import { quorumDomain } from "../quorum/commitment.ts";
import type { HealthObservation, ObservationDomain, SignedObservation } from "../types.ts";
import { MAX_SUBJECT_CHARS } from "./constants.ts";
import { ObservationInvalidError } from "./errors.ts";

export const HEALTH_OBSERVATION_TYPES = {
  HealthObservation: [
    { name: "epoch", type: "uint64" },
    { name: "observer", type: "address" },
    { name: "subject", type: "string" },
    { name: "account", type: "address" },
    { name: "successes", type: "uint32" },
    { name: "failures", type: "uint32" },
    { name: "audits", type: "uint32" },
    { name: "auditFailures", type: "uint32" },
  ],
};

export type { HealthObservation, ObservationDomain, SignedObservation };

/** Largest count an observation holds (Reputation's packed report field is a uint32). */
export const MAX_OBSERVED_COUNT = 0xffff_ffff;

export function observationDomain(d: ObservationDomain): TypedDataDomain {
  return quorumDomain(d.chainId, d.quorum);
}

/** The EIP-712 digest an observer signs. */
export function observationDigest(domain: ObservationDomain, o: HealthObservation): string {
  return TypedDataEncoder.hash(observationDomain(domain), HEALTH_OBSERVATION_TYPES, {
    epoch: BigInt(o.epoch),
    observer: o.observer,
    subject: o.subject,
    account: o.account,
    successes: o.successes,
    failures: o.failures,
    audits: o.audits ?? 0,
    auditFailures: o.auditFailures ?? 0,
  });
}

/**
 * The identity of an observation set, what the epoch's evidence hash binds (quorum/commitment.ts `evidenceHashOf`,
 * docs/epochs.md "The observation set on chain"): per observation, keccak256(structHash ‖ signature) — the EIP-712
 * struct hash of its fields (no domain: the signature already binds it) and its 65 signature bytes — sorted
 * ascending and hashed together: keccak256(concat(sorted)). Order-free, so every keeper and any verifier derive the
 * same value from the same set; an equivocation's two observations are two entries. ZeroHash for no set or an empty
 * one.
 */
export function observationSetHash(set: readonly SignedObservation[] | undefined): string {
  if (set === undefined || set.length === 0) return ZeroHash;
  const encoder = TypedDataEncoder.from(HEALTH_OBSERVATION_TYPES);
  const leaves = set
    .map((o) =>
      keccak256(
        concat([
          encoder.hash({
            epoch: BigInt(o.epoch),
            observer: o.observer,
            subject: o.subject,
            account: o.account,
            successes: o.successes,
            failures: o.failures,
            audits: o.audits ?? 0,
            auditFailures: o.auditFailures ?? 0,
          }),
          o.signature.toLowerCase(),
        ]),
      ),
    )
    .sort();
  return keccak256(concat(leaves));
}

/** Signs `o` with `signDigest` (the keeper's chain key: Chain.signDigest). */
export function signObservation(
  domain: ObservationDomain,
  o: HealthObservation,
  signDigest: (digest: string) => string,
): SignedObservation {
  const clean = checkFields(o);
  return { ...clean, signature: signDigest(observationDigest(domain, clean)) };
}

/** Checks `s`'s signature against its observer; throws ObservationInvalidError. */
export function verifyObservation(domain: ObservationDomain, s: SignedObservation): void {
  let signer: string;
  try {
    signer = recoverAddress(observationDigest(domain, s), s.signature);
  } catch {
    throw new ObservationInvalidError("signature is malformed");
  }
  if (signer !== getAddress(s.observer))
    throw new ObservationInvalidError(`signed by ${signer}, not by its observer ${s.observer}`);
}

/** The key of an observation in a set: an observer states one outcome per peer and epoch. */
export function observationKey(o: Pick<HealthObservation, "observer" | "subject">): string {
  return `${o.observer.toLowerCase()}/${o.subject}`;
}

/** Whether two observations state the same thing with the same signature. */
export function sameObservation(a: SignedObservation, b: SignedObservation): boolean {
  return (
    a.epoch === b.epoch &&
    observationKey(a) === observationKey(b) &&
    a.account.toLowerCase() === b.account.toLowerCase() &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    (a.audits ?? 0) === (b.audits ?? 0) &&
    (a.auditFailures ?? 0) === (b.auditFailures ?? 0) &&
    a.signature.toLowerCase() === b.signature.toLowerCase()
  );
}

const count = z.number().int().min(0).max(MAX_OBSERVED_COUNT);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const signedSchema = z.object({
  epoch: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  observer: address,
  subject: z.string().min(1).max(MAX_SUBJECT_CHARS),
  account: address,
  successes: count,
  failures: count,
  audits: count.default(0),
  auditFailures: count.default(0),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
});

function checkFields<T extends HealthObservation>(o: T): T {
  const r = signedSchema.omit({ signature: true }).safeParse(o);
  if (!r.success) throw new ObservationInvalidError(`field ${String(r.error.issues[0]?.path[0] ?? "?")}`);
  if (o.successes + o.failures === 0) throw new ObservationInvalidError("an observation counts nothing");
  if ((o.auditFailures ?? 0) > (o.audits ?? 0)) throw new ObservationInvalidError("more audit failures than audits");
  return {
    ...o,
    observer: getAddress(o.observer),
    account: getAddress(o.account),
    audits: o.audits ?? 0,
    auditFailures: o.auditFailures ?? 0,
  };
}

/** An observation as received (wire or evidence JSON): fields checked, addresses checksummed, signature unchecked. */
export function parseObservation(v: unknown): SignedObservation {
  const r = signedSchema.safeParse(v);
  if (!r.success) throw new ObservationInvalidError(`field ${String(r.error.issues[0]?.path[0] ?? "?")}`);
  return { ...checkFields(r.data), signature: r.data.signature.toLowerCase() };
}

/** The JSON form (wire and evidence), fields in a fixed order. */
export function encodeObservation(s: SignedObservation): SignedObservation {
  return {
    epoch: s.epoch,
    observer: s.observer,
    subject: s.subject,
    account: s.account,
    successes: s.successes,
    failures: s.failures,
    audits: s.audits ?? 0,
    auditFailures: s.auditFailures ?? 0,
    signature: s.signature,
  };
}
