/**
 * Tunables of the chain module, each once, with its unit and the reason for its default.
 * Every one can be overridden through `ChainInit`.
 */

const second = 1000;

/**
 * Milliseconds one JSON-RPC request may take. ethers' own default is 5 minutes, which turns a hung node
 * (SIGSTOPped, overloaded, half-open TCP) into a 5-minute stall; 10 s is far above a healthy node's answer time
 * (≈ ms on loopback, < 1 s on public RPCs) and short enough that a retry starts soon.
 */
export const RPC_TIMEOUT_MS = 10 * second;

/** First back-off delay after a transient RPC failure. Short: most blips (one dropped connection) pass at once. */
export const RETRY_INITIAL_DELAY_MS = 250;

/** Back-off cap: a node that restarts takes 5-30 s; polling faster than every 15 s only adds load. */
export const RETRY_MAX_DELAY_MS = 15 * second;

/** Growth factor of the back-off (exponential, with ±20 % jitter so that several keepers do not retry in step). */
export const RETRY_FACTOR = 2;

/**
 * How long one operation keeps retrying transient failures before giving up with `RpcUnavailableError`.
 * Ten minutes rides out a node restart or a provider incident; the epoch submission above is itself retried
 * at its next tick, so giving up loses nothing.
 */
export const RETRY_MAX_ELAPSED_MS = 10 * 60 * second;

/**
 * Confirmations before a transaction counts as final. 1 (mined) fits Hardhat and other instant-finality dev
 * chains, where no new blocks arrive without transactions; set 3-5 on Polygon PoS (Amoy), whose short reorgs
 * are a few blocks deep.
 */
export const CONFIRMATIONS = 1;

/**
 * Refuse to send while the fee needed exceeds this (wei per gas); wait and retry instead. 500 gwei is an order
 * of magnitude above Polygon's usual fees, so it only stops sending during fee spikes.
 */
export const MAX_FEE_PER_GAS_WEI = 500n * 10n ** 9n;

/** Tip offered when the node does not suggest one (wei per gas); Polygon's minimum accepted tip is 25-30 gwei. */
export const DEFAULT_PRIORITY_FEE_WEI = 30n * 10n ** 9n;

/** How often a send waiting for fees under the cap re-reads them: fees move per block (2 s on Polygon). */
export const GAS_CAP_POLL_MS = 5 * second;

/** How often a receipt is polled while waiting for a transaction to be mined or confirmed (~one block). */
export const RECEIPT_POLL_MS = 500;

/**
 * How long a broadcast transaction may stay unmined before it is broadcast again (the node may have dropped it
 * when it restarted). Same raw bytes, so a rebroadcast can never make a second transaction.
 */
export const REBROADCAST_AFTER_MS = 30 * second;

/** Gas estimate margin in percent: estimates are exact on the same state, but state moves between estimate and inclusion. */
export const GAS_LIMIT_MARGIN_PERCENT = 20n;

/**
 * How long a bond read from NodeRegistry stays valid in the keeper's cached view (BondView). Bonds move only by
 * the operator's own transactions and an unbonding waits days, so a minute-old view misses little, while a keeper
 * routing many requests reads the chain once a minute per account instead of once a request.
 */
export const BOND_VIEW_TTL_MS = 60 * second;

/** Accounts per `NodeRegistry.bondsOf` call: one eth_call stays far below node gas and response limits. */
export const BOND_VIEW_BATCH = 500;

/**
 * Sockets one keeper keeps open to its RPC node at once (keep-alive, reused); further requests wait for one.
 * A keeper's reads are a few per second and its sends a few per epoch, so 8 in parallel keep even a slow node
 * busy, while a node that stalls can no longer make the keeper open a socket per retry (~480 seen in a soak).
 */
export const RPC_MAX_SOCKETS = 8;

/** Idle keep-alive sockets are closed after this: below common RPC servers' own keep-alive timeouts' scale. */
export const RPC_IDLE_SOCKET_MS = 30 * second;

/**
 * A JSON-RPC response body above this is refused (after gzip, too): a block with its transactions or a page of
 * logs is well under it, and a hostile or broken endpoint cannot make the keeper buffer without limit.
 */
export const RPC_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
