/**
 * How far the majority lift may raise each account of the lifted region (saturation.ts, step 2), so that an account
 * joining the region through a small draw — a self-dealer whose consumer bought a few bytes from a capped honest
 * provider, or whose identities self-deal through a pot one of them shares with honest consumers — is not lifted
 * with it. Pure; docs/security.md ("Identities cost capital", step 3) is the normative text.
 *
 *   1. The core: the epoch's links (account i draws f > 0 from pot c; every account's, not only the region's, so
 *      that honest accounts with room that share consumers with the starved ones count) are merged strongest first
 *      (f descending, then pot, then account ascending: every keeper finds the same core) until a component would
 *      hold more than half of ΣB. If one side of that merge holds it alone, it is the core; if the link joins two
 *      minorities, the side holding more of the starved region's own bond is (then the side with more bond; on a
 *      tie both are): the other only tipped it over half.
 *   2. The majority's pots and its trusted accounts, grown together from the core until neither changes: a pot of
 *      which trusted accounts draw at least half is the majority's; an account that draws at least half of what it
 *      draws from the majority's pots is trusted.
 *   3. Budgets: a core account's lift has no bound; any other account of the region may be lifted by at most what it
 *      draws from the majority's pots — what it carried for the majority's consumers. A region without a core
 *      lifts nobody.
 *
 * So an account that joined through its own consumer's pot (a core provider drew from it) is lifted by nothing, and
 * splitting into identities does not help: a pot mostly drawn by an attacker's untrusted identities is never the
 * majority's. Each link is looked at a bounded number of times (sort, merge, one pass per pot and account).
 */
import type { Link } from "./pots.ts";

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
  const ordered = [...links].sort((x, y) =>
    x.flow !== y.flow ? (x.flow > y.flow ? -1 : 1) : ascending(x.pot, y.pot) || ascending(x.account, y.account),
  );
  // The core: merging the links strongest first, the first component to hold more than half of ΣB.
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
  // Trusted accounts (the core, then every account that draws at least half from the majority's pots) and the
  // majority's pots (at least half drawn by trusted accounts), grown together until neither changes.
  const total = new Map<string, bigint>();
  const drawn = new Map<string, bigint>();
  const linksOfPot = new Map<string, Link[]>();
  const linksOfAccount = new Map<string, Link[]>();
  for (const l of ordered) {
    total.set(l.pot, (total.get(l.pot) ?? 0n) + l.flow);
    drawn.set(l.account, (drawn.get(l.account) ?? 0n) + l.flow);
    if (!linksOfPot.has(l.pot)) linksOfPot.set(l.pot, []);
    linksOfPot.get(l.pot)!.push(l);
    if (!linksOfAccount.has(l.account)) linksOfAccount.set(l.account, []);
    linksOfAccount.get(l.account)!.push(l);
  }
  const trusted = new Set<string>();
  const byTrusted = new Map<string, bigint>();
  const majorityPots = new Set<string>();
  const fromMajority = new Map<string, bigint>();
  const accounts = [...new Set(ordered.map((l) => l.account))].sort(ascending);
  const queue = accounts.filter((a) => parent.has(`a:${a}`) && find(`a:${a}`) === core);
  const inCore = new Set(queue);
  for (let head = 0; head < queue.length; head++) {
    const account = queue[head]!;
    if (trusted.has(account)) continue;
    trusted.add(account);
    for (const l of linksOfAccount.get(account) ?? []) {
      byTrusted.set(l.pot, (byTrusted.get(l.pot) ?? 0n) + l.flow);
      if (majorityPots.has(l.pot) || 2n * byTrusted.get(l.pot)! < total.get(l.pot)!) continue;
      majorityPots.add(l.pot);
      for (const m of linksOfPot.get(l.pot)!) {
        fromMajority.set(m.account, (fromMajority.get(m.account) ?? 0n) + m.flow);
        if (!trusted.has(m.account) && 2n * fromMajority.get(m.account)! >= drawn.get(m.account)!)
          queue.push(m.account);
      }
    }
  }
  for (const a of members) budgets.set(a, inCore.has(a) ? null : (fromMajority.get(a) ?? 0n));
  return budgets;
}
