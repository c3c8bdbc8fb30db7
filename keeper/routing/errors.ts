/**
 * Routing's typed errors. Routing is pure logic: these signal bad inputs (a caller or discovery bug), never a
 * peer's misbehaviour, so none of them carries a penalty code.
 */

/** A node metric is NaN, infinite or negative. Discovery must reject such records before they reach routing. */
export class RoutingInvalidMetricError extends Error {
  override readonly name = "RoutingInvalidMetricError";
  readonly code = "ROUTING_INVALID_METRIC";
  constructor(
    readonly peerId: string,
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`node ${peerId}: ${field} must be a finite number ≥ 0, got ${String(value)}`);
  }
}

/** A routing configuration value (weights, shard count, backups) is out of range. */
export class RoutingConfigError extends Error {
  override readonly name = "RoutingConfigError";
  readonly code = "ROUTING_INVALID_CONFIG";
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`routing config ${field}=${String(value)}: ${reason}`);
  }
}
