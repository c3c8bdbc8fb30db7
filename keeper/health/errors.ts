/**
 * Health failures. Protocol violations in heartbeats are wire errors (keeper/wire) with penalise = true.
 */
export class HeartbeatFailedError extends Error {
  override name = "HeartbeatFailedError";
  readonly code = "ERR_HEARTBEAT_FAILED";
  readonly penalise = false;
  constructor(
    readonly peerId: string,
    cause: unknown,
  ) {
    super(`heartbeat to ${peerId} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
