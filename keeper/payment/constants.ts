/**
 * Tunables of paid demand on the wire (docs/transfer.md, "Paying as data arrives"), each once, with its unit and the
 * reason for its default. The price per GiB is a credit term shared with the epochs (DEFAULT_WEI_PER_GIB in
 * keeper/epochs/collect/constants.ts) and reaches this module as a parameter.
 */

/** Bytes in a GiB: the unit prices are quoted in. */
export const GIB = 1n << 30n;

const MiB = 1024 * 1024;

/** EIP-712 domain name and version of contracts/CreditVault.sol (its constructor's `EIP712(...)`). */
export const VOUCHER_DOMAIN_NAME = "Lumora CreditVault";
export const VOUCHER_DOMAIN_VERSION = "1";

/**
 * Bytes a provider sends a consumer beyond what the consumer's vouchers pay for before it stops serving it (16 MiB).
 * A consumer pays after it verified a part, so a paying consumer is always some parts behind: at most the requests it
 * keeps in flight (MAX_PIPELINED_REQUESTS = 16 parts of up to 1 MiB by default) plus the voucher in flight. The
 * allowance is the most a consumer that never pays can take from one session.
 */
export const DEFAULT_UNPAID_ALLOWANCE_BYTES = 16 * MiB;

/**
 * Bytes a provider sends, over all consumers together, to consumers none of whose vouchers a deposit read has shown
 * funded (256 MiB per UNFUNDED_BUDGET_WINDOW_MS): the unpaid allowance is per peer id and fresh peer ids are free, so
 * without it a stranger with many ids takes one allowance per id. Sixteen fresh allowances a minute: a new honest
 * consumer pays within its first parts and leaves the budget after its first funded voucher. When it is spent, an
 * unfunded consumer's session ends (ERR_PAYMENT_REQUIRED, counted as
 * `lumora_limit_hits_total{limit="payment.unfundedBudgetBytes"}`); funded consumers are never charged to it.
 */
export const DEFAULT_UNFUNDED_BUDGET_BYTES = 256 * MiB;

/** The window the unfunded budget refills over (60 s): the bucket refills continuously, a full budget per window. */
export const DEFAULT_UNFUNDED_BUDGET_WINDOW_MS = 60_000;

/**
 * Voucher frames a session may send beyond one per part sent (4): a paying consumer sends one per verified part, a
 * few ahead at most when parts of other sessions of the channel land first. Each frame costs the provider an ECDSA
 * recovery, so more than that is a flood: the session is closed (ERR_TOO_MANY_VOUCHERS).
 */
export const VOUCHER_FRAME_SLACK = 4;

/**
 * How long a provider whose unfunded budget is spent waits for the deposit read of a new consumer's first voucher
 * before refusing it (channel.ts `awaitFunding`).
 */
export const FUNDING_WAIT_MS = 5_000;

/** How soon a first voucher's deposit read that the read rate refused is asked again (channel.ts). */
export const CREDIT_RETRY_MS = 250;

/**
 * Consumers (peers and paying keys) whose debts a provider remembers across sessions (10,000): far above the sessions
 * it serves at once; forgetting the least recent forgives at most one allowance each.
 */
export const MAX_CONSUMER_DEBTS = 10_000;

/**
 * The share of a consumer's deposit one provider counts on (2,500 bps, a quarter): a consumer's one deposit backs its
 * vouchers to every provider at once and the vault pays whoever settles first, so a provider serves a consumer only
 * while the channel's unsettled vouchers (highest − settled) are at most this share of what the deposit still holds
 * (its `balance`, read after the other providers' settlements). An honest provider's loss to a deposit drained by
 * others is at most this share of the balance its last read showed (plus the unpaid allowance); a consumer paying
 * one provider at a time needs a deposit of four times what it leaves unsettled.
 */
export const DEFAULT_DEPOSIT_SHARE_BPS = 2_500;

/** How long a deposit read is reused for the same channel (30 s): deposits move by settlements and deposits, rarely. */
export const CREDIT_CACHE_TTL_MS = 30_000;

/**
 * Deposit reads sent to the chain per second over all channels (5, each two RPC calls): a flood of fresh paying keys
 * costs the keeper's RPC transport at most this; beyond it a voucher is taken unchecked and the allowance bounds it.
 */
export const CREDIT_READS_PER_SECOND = 5;

/** Channels whose deposit read a provider remembers (4,096). */
export const MAX_CREDIT_ENTRIES = 4_096;

/** How often a close looks for the previous epoch's commitment before counting payments (2 s). */
export const COMMIT_POLL_MS = 2_000;

/**
 * The settlement read's grid (60 s): a close's end is floored to it before the window is added, so keepers whose
 * closes of one epoch start in the same minute (a cron tick) read the vault at the same block.
 */
export const SETTLE_GRID_MS = 60_000;

/**
 * The settlement window (120 s: one grid and a minute to settle): settlements up to this long after the epoch's end
 * (floored to the grid), or after
 * the previous epoch's commitment when that came later, count for the epoch; the read is at the last block before.
 */
export const SETTLE_WINDOW_MS = 120_000;

/**
 * How long after the cutoff, by the keeper's clock, a chain that produced no later block is taken as settled at its
 * head (30 s): longer than a real chain's block timestamps lag behind the wall clock; an idle development chain
 * (automine) produces no block until a transaction comes.
 */
export const SETTLE_IDLE_MARGIN_MS = 30_000;

/**
 * The least a close settles on one channel (0.001 LUM, 10^15 token units): what the vault would take
 * (min(highest voucher − settled, the consumer's deposit)) must be at least this for the closing keeper to spend a
 * `settle` transaction's gas on it (≈ 80,000 gas). Below it the channel earns nothing this epoch unless someone else
 * settles it within the window (its provider, `lumora:settle`): a self-dealer's thousand 1-wei channels cost the
 * closing keepers no gas. At the default price (0.01 LUM/GiB) it is the payment for 100 MiB.
 */
export const DEFAULT_MIN_SETTLE_AMOUNT = 10n ** 15n;

/**
 * The most `settle` transactions one close sends (64, ≈ 5 M gas): the channels that take most are settled first
 * (ties by channel key), so however many channels an epoch's receipts name, a close's gas is bounded.
 */
export const DEFAULT_MAX_SETTLES_PER_CLOSE = 64;

/** Blocks per log query when looking for an epoch's commitment (5,000: within common RPC range limits). */
export const COMMIT_LOG_WINDOW = 5_000;

/** A signature is 65 bytes (r ‖ s ‖ v): the form CreditVault.settle accepts. */
export const SIGNATURE_LENGTH = 65;

/** Largest cumulative amount accepted (bytes of its big-endian encoding): the vault's deposits are 96-bit. */
export const MAX_AMOUNT_BYTES = 12;
