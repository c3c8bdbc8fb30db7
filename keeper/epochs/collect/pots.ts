/**
 * Per-consumer water-filling: each consumer's part of the epoch's reward pays only the providers that consumer
 * used, and what a capped provider cannot take goes to that consumer's other providers below their caps. Pure;
 * saturation.ts applies it and docs/security.md ("Identities cost capital") is the normative text.
 *
 * A pot is one consumer's part of the reward: pot_c = Σ_i x_ci, where x_ci is account i's share earned on bytes
 * consumer c received (in SHARE_SCALE units; s_i = Σ_c x_ci is i's whole share). Given caps K_i:
 *
 *   - an account whose allocation would exceed K_i is saturated: it takes K_i, drawn from its pots in proportion
 *     to x_ci (⌊K_i · x_ci / s_i⌋ from pot c, scaled down where a pot holds less);
 *   - what is left of pot c after its saturated providers' draws goes to its unsaturated providers in proportion to
 *     x_ci;
 *   - saturating an account can only raise what the others receive, so the saturated set grows until no unsaturated
 *     account exceeds its cap (at most one round per account).
 *
 * A pot whose providers are all saturated is starved: the rest of it is withheld. Money never crosses from one
 * consumer's pot to a provider that consumer did not use, so a self-dealer's accounts (fed only by its own
 * consumers) can never receive what the caps took from honest providers, and vice versa.
 */

/** Account i's share earned on bytes consumer `pot` received. */
export interface PotShare {
  pot: string;
  account: string;
  /** x_ci > 0, in SHARE_SCALE units. */
  share: bigint;
}

export interface Filled {
  /** Allocation per account (every account of `shares`, possibly 0n). */
  allocation: Map<string, bigint>;
  /** Accounts that took their cap. */
  saturated: Set<string>;
  /** Pots whose providers are all saturated while money of theirs was left: their rest is withheld. */
  starved: Set<string>;
}

interface Pot {
  members: PotShare[];
  total: bigint;
}

/** Groups the shares by pot and sums each account's share s_i. */
export function groupPots(shares: readonly PotShare[]): { pots: Map<string, Pot>; shareOf: Map<string, bigint> } {
  const pots = new Map<string, Pot>();
  const shareOf = new Map<string, bigint>();
  for (const s of shares) {
    if (s.share <= 0n) continue;
    const pot = pots.get(s.pot) ?? { members: [], total: 0n };
    pot.members.push(s);
    pot.total += s.share;
    pots.set(s.pot, pot);
    shareOf.set(s.account, (shareOf.get(s.account) ?? 0n) + s.share);
  }
  return { pots, shareOf };
}

/**
 * Water-fills the pots under the caps `capOf` (see the header). `shares` must already be grouped by
 * {@link groupPots}; the result does not depend on the order of pots or members.
 */
export function fillPots(
  grouped: { pots: Map<string, Pot>; shareOf: Map<string, bigint> },
  capOf: (account: string) => bigint,
): Filled {
  const { pots, shareOf } = grouped;
  const saturated = new Set<string>();
  for (;;) {
    const allocation = new Map<string, bigint>([...shareOf.keys()].map((a) => [a, 0n]));
    const starved = new Set<string>();
    for (const [id, pot] of pots) {
      let drawn = 0n;
      let free = 0n;
      const draws: bigint[] = [];
      for (const m of pot.members) {
        const draw = saturated.has(m.account) ? (capOf(m.account) * m.share) / shareOf.get(m.account)! : 0n;
        draws.push(draw);
        drawn += draw;
        if (!saturated.has(m.account)) free += m.share;
      }
      // A saturated account whose cap exceeds its own share draws above its x_ci; a pot never pays out more than
      // it holds, so such draws are scaled down to the pot (the account then ends a little under its cap).
      const scale = drawn > pot.total;
      const rest = scale ? 0n : pot.total - drawn;
      pot.members.forEach((m, k) => {
        const a = allocation.get(m.account)!;
        if (saturated.has(m.account))
          allocation.set(m.account, a + (scale ? (draws[k]! * pot.total) / drawn : draws[k]!));
        else allocation.set(m.account, a + (rest * m.share) / free);
      });
      if (free === 0n && rest > 0n) starved.add(id);
    }
    let grew = false;
    for (const [account, a] of allocation) {
      if (!saturated.has(account) && a > capOf(account)) {
        saturated.add(account);
        grew = true;
      }
    }
    if (!grew) return { allocation, saturated, starved };
  }
}
