/**
 * Tunables of the epoch's credit rules (paid demand and stake saturation; docs/security.md), each once, with its
 * unit and the reason for its default.
 */

/** Bytes in a GiB: the unit prices are quoted in. */
export const GIB = 1n << 30n;

/** Basis points in one. */
export const BPS = 10_000n;

/**
 * Default price a consumer pays per GiB carried, in LUM base units (0.01 LUM): a voucher of 1 LUM buys 100 GiB of
 * credit. What matters for the credit rules is only that keepers and consumers use the same price.
 */
export const DEFAULT_WEI_PER_GIB = 10n ** 16n;

/**
 * Unpaid bytes an account may have credited, as a share of its paid bytes (5 %): room for the bytes of a voucher
 * still in flight at the close, never a way to earn without paying — an account that paid nothing is credited
 * nothing, and self-dealing gains at most this share over what it paid (docs/security.md, "Paid demand").
 */
export const DEFAULT_SUBSIDY_BPS = 500n;

/**
 * An account's reward share in an epoch is at most this multiple of its bond share (1×, in basis points): the
 * reward a bond earns never exceeds that bond's weight, so spreading capital over k identities buys nothing
 * (docs/security.md, "Identities cost capital"). Above 1× an attacker may earn up to this multiple of its bond share.
 */
export const DEFAULT_SATURATION_BPS = 10_000n;

/**
 * Scale of the saturated contributions committed on chain: C'_i is account i's reward share in units of 1e-18.
 * ΣC' ≤ 1e18 stays far below RewardPool's 2^120 bound.
 */
export const SHARE_SCALE = 10n ** 18n;
