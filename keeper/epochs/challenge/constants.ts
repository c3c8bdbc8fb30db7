/**
 * Tunables of challenge resolution by the keepers (`/lumora/challenge-sign/1.0.0`), each once, with its unit and
 * reason.
 */

const second = 1000;

/** A request: `{"v":1,"chainId":…,"quorum":"0x…","epoch":"…","challengeId":"…"}`, well under 512 bytes. */
export const MAX_CHALLENGE_REQUEST_BYTES = 512;

/** An answer: an address, a verdict and a 65-byte signature in hex (~250 bytes), or a short error. */
export const MAX_CHALLENGE_RESPONSE_BYTES = 512;

/**
 * One request to one keeper, dial included. A keeper judges from the epoch it built and the observation sets it pulls
 * (a few seconds on a loaded machine); 20 s leaves room without holding a resolution up for long.
 */
export const CHALLENGE_REQUEST_TIMEOUT_MS = 20 * second;

/** How long one resolution attempt gathers signatures; the next chain poll tries again. */
export const CHALLENGE_GATHER_TIMEOUT_MS = 60 * second;

/** Wait before asking again a keeper that abstained (not closed yet, a keeper unreachable) or could not be reached. */
export const CHALLENGE_RETRY_MS = 2 * second;

/**
 * How often the resolver looks for new challenges on chain. A challenged epoch stays frozen until resolved, so a
 * minute's delay costs nothing but a minute of frozen claims.
 */
export const CHALLENGE_POLL_MS = 60 * second;

/** How long a peer that is not a registered keeper may take to send its one frame before it is refused. */
export const STRANGER_READ_TIMEOUT_MS = 1 * second;
