/**
 * The verdict on one audit fetch, from what was measured. Pure. The rules (docs/security.md):
 *
 * - the fetch failed: the transfer module's error code says how — a part that did not verify (or any protocol
 *   violation) is `corrupt`; an error frame, a closed stream or an object the provider says it lacks is
 *   `refused`; a part or audit timeout is `slow`; a dial that failed is `unreachable`;
 * - the fetch read its bytes, but throughput = bytes / elapsed is below `minThroughputRatio` × the provider's
 *   announced B_i: `slow`;
 * - otherwise `pass`.
 *
 * Every outcome but `pass` is a failure.
 */
export const AUDIT_OUTCOMES = ["pass", "corrupt", "refused", "slow", "unreachable"] as const;
export type AuditOutcomeKind = (typeof AUDIT_OUTCOMES)[number];

/** Transfer error codes (keeper/transfer/errors.ts) that prove the provider sent bytes that are not the object. */
const CORRUPT = new Set([
  "ERR_PART_CHECKSUM",
  "ERR_AUTHENTICATION_FAILED",
  "ERR_MANIFEST_MISMATCH",
  "ERR_INVALID_MANIFEST",
  "ERR_MALFORMED_FRAME",
  "ERR_UNEXPECTED_PART",
  "ERR_DECOMPRESSION_FAILED",
  "ERR_FRAME_TOO_LARGE",
]);
/** Codes of a provider that answered but would not serve. */
const REFUSED = new Set(["ERR_REMOTE_ERROR", "ERR_OBJECT_NOT_FOUND", "ERR_STREAM_TRUNCATED"]);
/** Codes of a provider too slow to serve within the limits. */
const SLOW = new Set(["ERR_PART_TIMEOUT", "ERR_SESSION_TIMEOUT", "ERR_AUDIT_TIMEOUT"]);

export interface AuditMeasurement {
  /** Plaintext bytes read and verified before the audit stopped. */
  bytes: number;
  /** From the fetch's start to its last byte (or its failure), ms. */
  elapsedMs: number;
  /** From the fetch's start to its first verified byte (dial + handshake + first part), ms; undefined if none. */
  firstByteMs?: number;
  /** The transfer error code when the fetch failed (ERR_AUDIT_TIMEOUT when the audit's own deadline hit). */
  errorCode?: string;
}

export interface JudgeRule {
  minThroughputRatio: number;
}

/** Bytes per second of a measurement (0 when nothing or no time was measured). */
export function throughputOf(m: Pick<AuditMeasurement, "bytes" | "elapsedMs">): number {
  return m.elapsedMs > 0 ? Math.floor((m.bytes * 1000) / m.elapsedMs) : 0;
}

/** The outcome of an audit; `announcedBps` is the provider's signed B_i (undefined: no throughput check). */
export function judge(m: AuditMeasurement, announcedBps: number | undefined, rule: JudgeRule): AuditOutcomeKind {
  if (m.errorCode !== undefined) {
    if (CORRUPT.has(m.errorCode)) return "corrupt";
    if (REFUSED.has(m.errorCode)) return "refused";
    if (SLOW.has(m.errorCode)) return "slow";
    return "unreachable";
  }
  if (announcedBps !== undefined && announcedBps > 0 && throughputOf(m) < rule.minThroughputRatio * announcedBps)
    return "slow";
  return "pass";
}
