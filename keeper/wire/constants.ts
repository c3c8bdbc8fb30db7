/**
 * Framing limits shared by every `/lumora/*` protocol.
 */

/** An unsigned varint longer than this cannot encode a length we accept (2^35 > any max message size). */
export const MAX_VARINT_LENGTH_BYTES = 5;

/** Upper bound any protocol may configure for one message: 4 MiB keeps a malicious length prefix from
 * making us buffer unbounded data; protocols choose far smaller limits. */
export const ABSOLUTE_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Default time to wait for one complete message before giving up on the peer (ms). Long enough for a
 * congested WAN round trip, short enough that a silent peer does not pin a stream slot. */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;
