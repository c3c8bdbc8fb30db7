/**
 * Typed failures of the transfer module. Errors caused by a provider carry `penalise`: true when the
 * provider sent something provably wrong (a bad part, a forged tag, a malformed frame) and must be reported
 * to health/Reputation as misbehaving; false when it merely went away or was slow.
 */
export type TransferErrorCode =
  | "ERR_FRAME_TOO_LARGE"
  | "ERR_MALFORMED_FRAME"
  | "ERR_INVALID_MANIFEST"
  | "ERR_MANIFEST_MISMATCH"
  | "ERR_AUTHENTICATION_FAILED"
  | "ERR_PART_CHECKSUM"
  | "ERR_UNEXPECTED_PART"
  | "ERR_DECOMPRESSION_FAILED"
  | "ERR_STREAM_TRUNCATED"
  | "ERR_REMOTE_ERROR"
  | "ERR_PART_TIMEOUT"
  | "ERR_SESSION_TIMEOUT"
  | "ERR_NO_PROVIDERS"
  | "ERR_OBJECT_NOT_FOUND"
  | "ERR_INVALID_INPUT";

/** Codes for which the provider that caused them is penalised. */
const PENALISED: ReadonlySet<TransferErrorCode> = new Set<TransferErrorCode>([
  "ERR_FRAME_TOO_LARGE",
  "ERR_MALFORMED_FRAME",
  "ERR_INVALID_MANIFEST",
  "ERR_MANIFEST_MISMATCH",
  "ERR_AUTHENTICATION_FAILED",
  "ERR_PART_CHECKSUM",
  "ERR_UNEXPECTED_PART",
  "ERR_DECOMPRESSION_FAILED",
]);

export abstract class TransferError extends Error {
  abstract readonly code: TransferErrorCode;
  /** Whether the peer that caused this error should be penalised (reported as misbehaving). */
  get penalise(): boolean {
    return PENALISED.has(this.code);
  }
}

/** A frame's length prefix exceeds the maximum; nothing of its body was buffered. */
export class FrameTooLargeError extends TransferError {
  override readonly name = "FrameTooLargeError";
  readonly code = "ERR_FRAME_TOO_LARGE" as const;
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`frame of ${length} bytes exceeds the maximum of ${max}`);
  }
}

/** A frame could not be decoded, or a field is missing, out of range or of the wrong length. */
export class MalformedFrameError extends TransferError {
  override readonly name = "MalformedFrameError";
  readonly code = "ERR_MALFORMED_FRAME" as const;
  constructor(reason: string) {
    super(`malformed frame: ${reason}`);
  }
}

export class InvalidManifestError extends TransferError {
  override readonly name = "InvalidManifestError";
  readonly code = "ERR_INVALID_MANIFEST" as const;
  constructor(reason: string) {
    super(`invalid manifest: ${reason}`);
  }
}

/** A provider's manifest differs from the one the transfer already uses. */
export class ManifestMismatchError extends TransferError {
  override readonly name = "ManifestMismatchError";
  readonly code = "ERR_MANIFEST_MISMATCH" as const;
  constructor() {
    super("manifest differs from the transfer's manifest");
  }
}

/** AES-GCM refused a part: wrong key, tampered ciphertext or tag, or wrong additional data. */
export class AuthenticationFailedError extends TransferError {
  override readonly name = "AuthenticationFailedError";
  readonly code = "ERR_AUTHENTICATION_FAILED" as const;
  constructor(readonly index: number) {
    super(`part ${index} failed authentication`);
  }
}

/** A part decrypted but its SHA-256 differs from the manifest's. */
export class PartChecksumError extends TransferError {
  override readonly name = "PartChecksumError";
  readonly code = "ERR_PART_CHECKSUM" as const;
  constructor(readonly index: number) {
    super(`part ${index} does not match its SHA-256 in the manifest`);
  }
}

/** A part arrived that was not the next one expected: replayed, reordered or never requested. */
export class UnexpectedPartError extends TransferError {
  override readonly name = "UnexpectedPartError";
  readonly code = "ERR_UNEXPECTED_PART" as const;
  constructor(
    readonly expected: { index: number; seq: bigint },
    readonly got: { index: number; seq: bigint },
  ) {
    super(
      `expected part ${expected.index} with sequence ${expected.seq}, got part ${got.index} with sequence ${got.seq}`,
    );
  }
}

export class DecompressionFailedError extends TransferError {
  override readonly name = "DecompressionFailedError";
  readonly code = "ERR_DECOMPRESSION_FAILED" as const;
  constructor(readonly index: number) {
    super(`part ${index} failed to decompress to its declared size`);
  }
}

/** The stream ended (or was reset) while frames were still owed. */
export class StreamTruncatedError extends TransferError {
  override readonly name = "StreamTruncatedError";
  readonly code = "ERR_STREAM_TRUNCATED" as const;
  constructor(reason: string) {
    super(`stream truncated: ${reason}`);
  }
}

/** Provider side: the consumer stopped reading or stopped asking; its session is ended to free the slot. */
export class SessionTimeoutError extends TransferError {
  override readonly name = "SessionTimeoutError";
  readonly code = "ERR_SESSION_TIMEOUT" as const;
  constructor(reason: string) {
    super(`session timed out: ${reason}`);
  }
}

/** The provider answered with an explicit error frame. */
export class RemoteError extends TransferError {
  override readonly name = "RemoteError";
  readonly code = "ERR_REMOTE_ERROR" as const;
  constructor(
    readonly remoteCode: string,
    readonly remoteMessage: string,
  ) {
    super(`provider error ${remoteCode}: ${remoteMessage}`);
  }
}

export class PartTimeoutError extends TransferError {
  override readonly name = "PartTimeoutError";
  readonly code = "ERR_PART_TIMEOUT" as const;
  constructor(readonly timeoutMs: number) {
    super(`no part within ${timeoutMs} ms`);
  }
}

/** Every provider of a transfer failed or was dropped before the object was complete. */
export class NoProvidersError extends TransferError {
  override readonly name = "NoProvidersError";
  readonly code = "ERR_NO_PROVIDERS" as const;
  constructor(
    readonly objectId: string,
    readonly failures: ReadonlyArray<{ peerId: string; code: string }>,
  ) {
    super(
      `no provider left for ${objectId}` +
        (failures.length > 0 ? ` (${failures.map((f) => `${f.peerId}: ${f.code}`).join(", ")})` : ""),
    );
  }
}

export class ObjectNotFoundError extends TransferError {
  override readonly name = "ObjectNotFoundError";
  readonly code = "ERR_OBJECT_NOT_FOUND" as const;
  constructor(readonly objectId: string) {
    super(`object ${objectId} is not published here`);
  }
}

export class InvalidInputError extends TransferError {
  override readonly name = "InvalidInputError";
  readonly code = "ERR_INVALID_INPUT" as const;
  constructor(reason: string) {
    super(reason);
  }
}
