/**
 * Every tunable of the audit module, once, with its unit and the reason for its default (docs/security.md,
 * "Bytes are measured, not declared"; docs/operator.md, section `audit`).
 */
const KiB = 1024;
const MiB = 1024 * KiB;
const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

/** Mean audits per hour this keeper starts (Poisson process: exponential gaps). 6 per hour is one every 10
 * minutes on average: with hourly epochs each known provider of a small network is audited several times an
 * epoch, while the audit traffic (≤ DEFAULT_AUDIT_MAX_BYTES each) stays far below a customer's. */
export const DEFAULT_AUDIT_RATE_PER_HOUR = 6;
/** Longest one audit fetch may take before it counts as failed (ms): a customer gives up on a part after the
 * transfer's part timeout (30 s); an audit reads a few MiB, so one minute only fails a provider that is
 * several times slower than any useful one. */
export const DEFAULT_AUDIT_TIMEOUT_MS = 1 * minute;
/** Fewest bytes an audit reads (bytes): enough for a throughput figure over more than one round trip. */
export const DEFAULT_AUDIT_MIN_BYTES = 256 * KiB;
/** Most bytes an audit reads (bytes): bounds what an audit costs the provider and the keeper. The amount read
 * is drawn uniformly between the two, so no fixed size marks an audit. */
export const DEFAULT_AUDIT_MAX_BYTES = 8 * MiB;
/** An audit fails as too slow when its measured throughput is below this share of the provider's announced
 * B_i. A quarter: a loaded link or a busy provider halves throughput easily; four times less than announced
 * is a misstatement, not a bad minute. */
export const DEFAULT_MIN_THROUGHPUT_RATIO = 0.25;
/** Weight of the newest passing audit in the measured bandwidth (EWMA). 0.3: three or four audits move the
 * figure most of the way, one lucky or unlucky audit does not. */
export const DEFAULT_BANDWIDTH_EWMA_WEIGHT = 0.3;
/** A provider loses its epoch's credit when at least this many of its audits failed in the epoch… */
export const DEFAULT_DISQUALIFY_MIN_FAILURES = 2;
/** …and failures are at least this share of its audits in the epoch. Two failures, half of the audits: one
 * unlucky audit (a restart, a lost connection) costs nothing, a provider that fails whenever it is looked at
 * loses everything. */
export const DEFAULT_DISQUALIFY_FAILURE_RATIO = 0.5;

/** Audit outcomes kept in the store (rows): about a week at the default rate, a bounded table whatever the
 * rate; the oldest go first. Epochs freeze their own copy of the outcomes they judged. */
export const MAX_AUDIT_OUTCOMES = 2_048;
/** (provider, object) pairs the keeper remembers as audit targets: bounded memory; the oldest go first. */
export const MAX_AUDIT_TARGETS = 4_096;
/** Smallest gap between two audits (ms), whatever the drawn delay: a rate set very high cannot spin. */
export const MIN_AUDIT_GAP_MS = 50;
/** Largest gap (ms): a drawn delay beyond it is capped so a timer always fires within a day. */
export const MAX_AUDIT_GAP_MS = 24 * hour;

/** Domain separator signed in front of every audit outcome (as RECEIPT_DOMAIN is for receipts). */
export const AUDIT_OUTCOME_DOMAIN = "lumora/audit/1.0.0/outcome";
/** Version of the signed outcome body. */
export const AUDIT_OUTCOME_VERSION = 1;
/** Largest signed outcome body accepted when verifying (bytes): a few peer ids and numbers. */
export const MAX_AUDIT_OUTCOME_BYTES = 2 * KiB;
