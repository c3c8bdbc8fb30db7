/**
 * Health failures. Protocol violations in probes and acks are wire errors (keeper/wire) with penalise = true.
 */
export class ProbeFailedError extends Error {
  override name = "ProbeFailedError";
  readonly code = "ERR_PROBE_FAILED";
  readonly penalise = false;
  constructor(
    readonly peerId: string,
    cause: unknown,
  ) {
    super(`probe of ${peerId} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
