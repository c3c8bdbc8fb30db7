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

/** A signature is 65 bytes (r ‖ s ‖ v): the form CreditVault.settle accepts. */
export const SIGNATURE_LENGTH = 65;

/** Largest cumulative amount accepted (bytes of its big-endian encoding): the vault's deposits are 96-bit. */
export const MAX_AMOUNT_BYTES = 12;
