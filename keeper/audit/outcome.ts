/**
 * Signed audit outcomes: the auditing keeper's statement of what it measured of one provider, signed with its
 * libp2p identity key (as a consumer signs a receipt). They are evidence: stored, frozen by the epoch close that
 * judges them, and published beside the epoch's receipts (evidence.json), so anyone can check each signature and
 * apply the published rule (verdict.ts) to find which providers lost their credit.
 *
 * Signed bytes: AUDIT_OUTCOME_DOMAIN ‖ body, where body is the UTF-8 JSON of the fields below in this order
 * (numbers as JSON numbers, all within 2^53). The hash of an outcome is keccak256(body).
 */
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

import { AUDIT_OUTCOME_DOMAIN, AUDIT_OUTCOME_VERSION, MAX_AUDIT_OUTCOME_BYTES } from "./constants.ts";
import { AuditOutcomeInvalidError } from "./errors.ts";
import { AUDIT_OUTCOMES, type AuditOutcomeKind } from "./judge.ts";

export interface AuditOutcome {
  version: number;
  /** Peer id of the keeper that audited (the signer). */
  auditor: string;
  /** Peer id of the audited provider. */
  provider: string;
  /** Object fetched (hex). */
  objectId: string;
  /** The auditor's open epoch when the audit ended (informational; the close that freezes it decides). */
  epoch: number;
  /** Unix ms when the fetch started. */
  startedAtMs: number;
  /** Verified plaintext bytes read. */
  bytes: number;
  elapsedMs: number;
  /** Time to the first verified byte, ms; −1 when none arrived. */
  firstByteMs: number;
  /** bytes / elapsed, bytes per second. */
  throughputBps: number;
  /** The provider's announced B_i when audited (0: unknown). */
  announcedBps: number;
  outcome: AuditOutcomeKind;
  /** The transfer error code of a failed fetch ("" when it did not fail). */
  code: string;
}

export interface SignedAuditOutcome {
  body: Uint8Array;
  signature: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const domain = encoder.encode(AUDIT_OUTCOME_DOMAIN);

function signedBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + body.length);
  out.set(domain, 0);
  out.set(body, domain.length);
  return out;
}

/** The canonical body: fixed field order, so the same outcome always has the same bytes and hash. */
export function encodeAuditOutcome(o: AuditOutcome): Uint8Array {
  const ordered: AuditOutcome = {
    version: o.version,
    auditor: o.auditor,
    provider: o.provider,
    objectId: o.objectId,
    epoch: o.epoch,
    startedAtMs: o.startedAtMs,
    bytes: o.bytes,
    elapsedMs: o.elapsedMs,
    firstByteMs: o.firstByteMs,
    throughputBps: o.throughputBps,
    announcedBps: o.announcedBps,
    outcome: o.outcome,
    code: o.code,
  };
  return encoder.encode(JSON.stringify(ordered));
}

export function auditOutcomeHash(body: Uint8Array): string {
  return "0x" + bytesToHex(keccak_256(body));
}

export async function signAuditOutcome(
  privateKey: PrivateKey,
  outcome: Omit<AuditOutcome, "version">,
): Promise<SignedAuditOutcome> {
  const body = encodeAuditOutcome({ version: AUDIT_OUTCOME_VERSION, ...outcome });
  return { body, signature: await privateKey.sign(signedBytes(body)) };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isString = (v: unknown): v is string => typeof v === "string" && v.length <= 128;

/** Decodes an outcome and checks its fields (no signature check). */
export function decodeAuditOutcome(body: Uint8Array): AuditOutcome {
  if (body.byteLength > MAX_AUDIT_OUTCOME_BYTES) throw new AuditOutcomeInvalidError("body too large");
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(decoder.decode(body)) as Record<string, unknown>;
  } catch {
    throw new AuditOutcomeInvalidError("body is not JSON");
  }
  if (typeof v !== "object" || v === null) throw new AuditOutcomeInvalidError("body is not an object");
  if (v.version !== AUDIT_OUTCOME_VERSION) throw new AuditOutcomeInvalidError(`version ${String(v.version)}`);
  for (const f of ["auditor", "provider", "objectId", "code"] as const)
    if (!isString(v[f])) throw new AuditOutcomeInvalidError(`${f} is not a short string`);
  for (const f of ["epoch", "startedAtMs", "bytes", "elapsedMs", "throughputBps", "announcedBps"] as const)
    if (!isCount(v[f])) throw new AuditOutcomeInvalidError(`${f} is not a count`);
  if (!(v.firstByteMs === -1 || isCount(v.firstByteMs))) throw new AuditOutcomeInvalidError("firstByteMs");
  if (!AUDIT_OUTCOMES.includes(v.outcome as AuditOutcomeKind)) throw new AuditOutcomeInvalidError("outcome");
  const o = v as unknown as AuditOutcome;
  if (!Buffer.from(encodeAuditOutcome(o)).equals(body)) throw new AuditOutcomeInvalidError("body is not canonical");
  return o;
}

/** Decodes an outcome and checks its signature against the auditor's key (embedded in its peer id). */
export async function verifyAuditOutcome(signed: SignedAuditOutcome): Promise<AuditOutcome> {
  const o = decodeAuditOutcome(signed.body);
  let publicKey;
  try {
    publicKey = peerIdFromString(o.auditor).publicKey;
  } catch {
    throw new AuditOutcomeInvalidError("auditor is not a peer id");
  }
  if (publicKey === undefined) throw new AuditOutcomeInvalidError("auditor's peer id does not embed its key");
  if (!(await publicKey.verify(signedBytes(signed.body), signed.signature)))
    throw new AuditOutcomeInvalidError("signature does not verify");
  return o;
}
