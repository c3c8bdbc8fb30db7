/**
 * How far the majority lift may raise each account of the lifted region (saturation.ts, step 2), so that an account
 * joining the region through a small draw — a self-dealer whose consumer bought a few bytes from a capped honest
 * provider, or whose identities self-deal through a pot one of them shares with honest consumers — is not lifted
 * with it. Pure; docs/security.md ("Identities cost capital", step 3) is the normative text.
 *
 *   1. The core: the epoch's links (account i draws f > 0 from pot c; every account's, not only the region's, so
 *      that honest accounts with room that share consumers with the starved ones count) that carry at least a
 *      sixteenth of their pot's draws (MUTUAL_SHARE: a sliver bought from another component's provider ties
 *      nothing) are merged strongest first (f descending, then pot, then account ascending: every keeper finds the
 *      same core) until a component would hold more than half of ΣB. If one side of that merge holds it alone, it is the core; if the link joins two
 *      minorities, the side holding more of the starved region's own bond is (then the side with more bond; on a
 *      tie both are): the other only tipped it over half.
 *   2. The majority's pots: pots of which core accounts draw at least half (only the core's draws count, so an
 *      account lifted by its draws never makes a pot of its own the majority's).
 *   3. Budgets: a core account's lift has no bound; any other account of the region may be lifted by at most what it
 *      draws from the majority's pots — what it carried for the majority's consumers. A region without a core
 *      lifts nobody.
 *
 * So an account that joined through its own consumer's pot (a core provider drew from it) is lifted by nothing, and
 * splitting into identities does not help: a pot mostly drawn by an attacker's identities is never the majority's.
 * To enter the core an attacker's pots must be drawn, a sixteenth or more each, by the providers it ties to — bytes
 * it buys from them at the price. Cost: one sort, a union-find pass and one pass over the links.
 */
import type { Link } from "./pots.ts";

/** A link takes part in finding the core only when it carries at least 1/MUTUAL_SHARE of its pot's draws. */
export const MUTUAL_SHARE = 16n;

const ascending = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The lift budget of each account of `region` (null: no bound), from the epoch's `links` (pots.ts `Filled.links`),
 * the accounts' bonds and ΣB over every contributing bonded account.
 */
export function liftBudgets(
  region: readonly string[],
  links: readonly Link[],
  bondOf: (account: string) => bigint,
  totalB: bigint,
): Map<string, bigint | null> {
  const members = new Set(region);
  const total = new Map<string, bigint>();
  for (const l of links) total.set(l.pot, (total.get(l.pot) ?? 0n) + l.flow);
  // The core search sees only links that carry a real part of their pot: a few bytes bought from a provider of
  // another component do not tie it to that pot.
  const ordered = links
    .filter((l) => MUTUAL_SHARE * l.flow >= total.get(l.pot)!)
    .sort((x, y) =>
      x.flow !== y.flow ? (x.flow > y.flow ? -1 : 1) : ascending(x.pot, y.pot) || ascending(x.account, y.account),
    );
  const parent = new Map<string, string>();
  const bond = new Map<string, bigint>();
  /** The bond of the region's own accounts (the starved ones) in each component. */
  const inRegion = new Map<string, bigint>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    while (parent.get(x) !== root) {
      const next = parent.get(x)!;
      parent.set(x, root);
      x = next;
    }
    return root;
  };
  const node = (key: string, b: bigint, region: boolean) => {
    if (!parent.has(key)) {
      parent.set(key, key);
      bond.set(key, b);
      inRegion.set(key, region ? b : 0n);
    }
    return find(key);
  };
  let core: string | undefined;
  for (const l of ordered) {
    const a = node(`a:${l.account}`, bondOf(l.account), members.has(l.account));
    const p = node(`p:${l.pot}`, 0n, false);
    if (a === p) continue;
    if (2n * bond.get(a)! > totalB) {
      core = a;
      break;
    }
    const tipped = 2n * (bond.get(a)! + bond.get(p)!) > totalB;
    if (tipped) {
      // This link makes the first majority, of two minorities: the side holding more of the starved region's bond
      // is the core (then the side with more bond); the other only tipped it over half. On a tie both are.
      const [ra, rp] = [inRegion.get(a)!, inRegion.get(p)!];
      const [ba, bp] = [bond.get(a)!, bond.get(p)!];
      if (ra !== rp || ba !== bp) {
        core = ra !== rp ? (ra > rp ? a : p) : ba > bp ? a : p;
        break;
      }
    }
    parent.set(p, a);
    bond.set(a, bond.get(a)! + bond.get(p)!);
    inRegion.set(a, inRegion.get(a)! + inRegion.get(p)!);
    if (tipped) {
      core = a;
      break;
    }
  }
  const budgets = new Map<string, bigint | null>();
  if (core === undefined) {
    for (const a of members) budgets.set(a, 0n);
    return budgets;
  }
  const inCore = (account: string) => parent.has(`a:${account}`) && find(`a:${account}`) === core;
  // The majority's pots: at least half of what is drawn from them goes to core accounts. Only the core's own draws
  // count, so an account lifted by its draws cannot make a pot of its own the majority's.
  const byCore = new Map<string, bigint>();
  for (const l of links) if (inCore(l.account)) byCore.set(l.pot, (byCore.get(l.pot) ?? 0n) + l.flow);
  for (const a of members) budgets.set(a, inCore(a) ? null : 0n);
  for (const l of links) {
    if (!members.has(l.account) || inCore(l.account)) continue;
    if (2n * (byCore.get(l.pot) ?? 0n) < total.get(l.pot)!) continue;
    budgets.set(l.account, budgets.get(l.account)! + l.flow);
  }
  return budgets;
}
