/**
 * Why a peer record was rejected. `penalise` is true when only a misbehaving node could have produced the
 * record (bad signature, wrong key, garbage); an expired record may just be an old copy and is not.
 */
export type RecordErrorCode =
  | "ERR_RECORD_TOO_LARGE"
  | "ERR_RECORD_MALFORMED"
  | "ERR_RECORD_UNSIGNED"
  | "ERR_RECORD_BAD_SIGNATURE"
  | "ERR_RECORD_KEY_MISMATCH"
  | "ERR_RECORD_EXPIRED"
  | "ERR_RECORD_EXPIRY_TOO_FAR"
  | "ERR_RECORD_INVALID_FIELD";

export class RecordError extends Error {
  override name = "RecordError";
  readonly penalise: boolean;
  constructor(
    readonly code: RecordErrorCode,
    message: string,
  ) {
    super(message);
    this.penalise = code !== "ERR_RECORD_EXPIRED";
  }
}

export class RecordNotFoundError extends Error {
  override name = "RecordNotFoundError";
  readonly code = "ERR_RECORD_NOT_FOUND";
  readonly penalise = false;
  constructor(readonly peerId: string) {
    super(`no valid peer record found for ${peerId}`);
  }
}
