/**
 * Typed framing/validation errors. `penalise` says whether the failure is the remote peer's fault (a
 * protocol violation that may get it banned) or ours / the network's (timeouts, local aborts).
 */
export type WireErrorCode =
  "ERR_MESSAGE_TOO_LARGE" | "ERR_MALFORMED_MESSAGE" | "ERR_INVALID_FIELD" | "ERR_UNEXPECTED_EOF" | "ERR_READ_TIMEOUT";

export class WireError extends Error {
  override name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
    /** True when the remote peer violated the protocol. */
    readonly penalise: boolean,
  ) {
    super(message);
  }
}

export class MessageTooLargeError extends WireError {
  override name = "MessageTooLargeError";
  constructor(
    readonly size: number,
    readonly maxSize: number,
  ) {
    super("ERR_MESSAGE_TOO_LARGE", `message of ${size} bytes exceeds the limit of ${maxSize} bytes`, true);
  }
}

export class MalformedMessageError extends WireError {
  override name = "MalformedMessageError";
  constructor(reason: string) {
    super("ERR_MALFORMED_MESSAGE", `malformed message: ${reason}`, true);
  }
}

export class InvalidFieldError extends WireError {
  override name = "InvalidFieldError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super("ERR_INVALID_FIELD", `invalid field ${field}: ${reason}`, true);
  }
}

export class UnexpectedEofError extends WireError {
  override name = "UnexpectedEofError";
  constructor(readonly receivedBytes: number) {
    super("ERR_UNEXPECTED_EOF", `stream ended after ${receivedBytes} bytes of an incomplete message`, false);
  }
}
