/**
 * Errors of the peer layer.
 */
export class BootstrapError extends Error {
  override name = "BootstrapError";
  readonly code = "ERR_BOOTSTRAP";
  /** Not the remote peer's fault: bootstrap peers may simply be offline. */
  readonly penalise = false;
  constructor(message: string) {
    super(message);
  }
}

export class InvalidAddressRangeError extends Error {
  override name = "InvalidAddressRangeError";
  readonly code = "ERR_INVALID_ADDRESS_RANGE";
  constructor(readonly range: string) {
    super(`invalid CIDR range "${range}" (expected e.g. 10.0.0.0/8 or fd00::/8)`);
  }
}
