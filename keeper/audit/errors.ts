/** Typed errors of the audit module. */

export abstract class AuditError extends Error {
  abstract readonly code: string;
}

/** A signed audit outcome that does not decode, does not verify, or breaks a field rule. */
export class AuditOutcomeInvalidError extends AuditError {
  override name = "AuditOutcomeInvalidError";
  readonly code = "ERR_AUDIT_OUTCOME_INVALID" as const;
  constructor(readonly reason: string) {
    super(`audit outcome invalid: ${reason}`);
  }
}

/** A configuration value the audit module cannot work with. */
export class AuditConfigError extends AuditError {
  override name = "AuditConfigError";
  readonly code = "ERR_AUDIT_CONFIG" as const;
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`audit.${field}: ${reason}`);
  }
}

/** The audit's own deadline passed before it read its bytes (judged `slow`). */
export class AuditTimeoutError extends AuditError {
  override name = "AuditTimeoutError";
  readonly code = "ERR_AUDIT_TIMEOUT" as const;
  constructor(readonly timeoutMs: number) {
    super(`audit did not finish within ${timeoutMs} ms`);
  }
}
