/**
 * Proximity measurement failures: never the peer's protocol fault (penalise = false), but a failed ping
 * is a liveness signal for health.
 */
export class ProbeFailedError extends Error {
  override name = "ProbeFailedError";
  readonly code = "ERR_PROBE_FAILED";
  readonly penalise = false;
  constructor(
    readonly peerId: string,
    cause: unknown,
  ) {
    super(`ping to ${peerId} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export class HopCountUnavailableError extends Error {
  override name = "HopCountUnavailableError";
  readonly code = "ERR_HOPS_UNAVAILABLE";
  readonly penalise = false;
  constructor(readonly peerId: string) {
    super(`lookup of ${peerId} ended without reaching it`);
  }
}
