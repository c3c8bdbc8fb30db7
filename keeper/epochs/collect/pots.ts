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
 * Then the rerouting: a saturated account that draws from a pot whose rest is withheld (all its providers capped)
 * takes more of its cap from that pot and as much less from another of its pots, whose rest then goes to that
 * pot's providers below their caps — along chains of capped accounts and their pots, shortest first (augmenting
 * paths from the pots with money left to an account below its cap, found in Dinic's phases; pots, accounts and
 * their lists in ascending order, so every keeper takes the same paths). No account receives less than after the proportional fill, none
 * more than its cap, and each pot pays only its own providers; the payout is the largest any allocation under those
 * two constraints can make (a maximum flow), within a budget of MAX_REROUTES_PER_EDGE augmentations and
 * MAX_REROUTE_WORK_PER_EDGE arcs looked at per pot, account and channel, which bounds the cost of a hostile epoch
 * whatever its shape (the fill then stops with what it has, never beyond the constraints).
 *
 * A pot with money left after the rerouting is starved: the rest of it is withheld. Money never crosses from one
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
  /** Pots with money left that no provider of theirs could take (all at their caps): their rest is withheld. */
  starved: Set<string>;
  /**
   * The accounts behind the starved pots, one list per region: a starved pot's providers, the pots they draw from
   * and those pots' providers, transitively — all at their caps (ascending, regions in the order of their first pot).
   */
  blocked: string[][];
  /**
   * Every draw of the epoch after the rerouting: each (pot, account) with what the account draws from that pot
   * (> 0), in ascending order of pot, then account — the traffic that ties accounts together (lift.ts).
   */
  links: Link[];
  /** Augmenting paths the rerouting took. */
  reroutes: number;
  /** Arcs the rerouting looked at (at most MAX_REROUTE_WORK_PER_EDGE per pot, account and channel, plus one path). */
  work: number;
}

/** One draw of a blocked region: `account` takes `flow` from `pot`. */
export interface Link {
  pot: string;
  account: string;
  flow: bigint;
}

/** Rerouting budget: augmenting paths per pot, account and channel of the epoch (see the header). */
export const MAX_REROUTES_PER_EDGE = 4;

/** Rerouting work budget: arcs looked at per pot, account and channel of the epoch (see the header). */
export const MAX_REROUTE_WORK_PER_EDGE = 64;

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
 * {@link groupPots}; the result does not depend on the order of pots or members. `workPerEdge` is the rerouting's
 * work budget per pot, account and channel (every keeper uses the default; tests lower it).
 */
export function fillPots(
  grouped: { pots: Map<string, Pot>; shareOf: Map<string, bigint> },
  capOf: (account: string) => bigint,
  workPerEdge = MAX_REROUTE_WORK_PER_EDGE,
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
    if (!grew) return reroute(grouped, capOf, allocation, saturated, workPerEdge);
  }
}

const ascending = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The rerouting stage (see the header): from the proportional fill's allocation, moves the money of pots with a
 * rest along augmenting paths to accounts below their caps. Flows are rebuilt from the fill's rule, per (pot,
 * account), so the stage needs nothing but the fill's result.
 */
function reroute(
  grouped: { pots: Map<string, Pot>; shareOf: Map<string, bigint> },
  capOf: (account: string) => bigint,
  filled: Map<string, bigint>,
  saturated: Set<string>,
  workPerEdge: number,
): Filled {
  const { pots, shareOf } = grouped;
  // The fill's flows, per pot and account, exactly as it computed the allocation.
  const flows = new Map<string, Map<string, bigint>>();
  const rest = new Map<string, bigint>();
  const potsOf = new Map<string, Set<string>>();
  let edges = 0;
  for (const [id, pot] of pots) {
    let drawn = 0n;
    let free = 0n;
    for (const m of pot.members) {
      if (saturated.has(m.account)) drawn += (capOf(m.account) * m.share) / shareOf.get(m.account)!;
      else free += m.share;
    }
    const scale = drawn > pot.total;
    const left = scale ? 0n : pot.total - drawn;
    const flow = new Map<string, bigint>();
    let paid = 0n;
    for (const m of pot.members) {
      let x: bigint;
      if (saturated.has(m.account)) {
        const draw = (capOf(m.account) * m.share) / shareOf.get(m.account)!;
        x = scale ? (draw * pot.total) / drawn : draw;
      } else x = (left * m.share) / free;
      flow.set(m.account, (flow.get(m.account) ?? 0n) + x);
      paid += x;
      const of = potsOf.get(m.account) ?? new Set<string>();
      of.add(id);
      potsOf.set(m.account, of);
    }
    edges += flow.size;
    flows.set(id, flow);
    rest.set(id, pot.total - paid);
  }
  const allocation = new Map(filled);
  const potIds = [...pots.keys()].sort(ascending);
  const membersOf = new Map(potIds.map((id) => [id, [...flows.get(id)!.keys()].sort(ascending)]));
  const potsOfSorted = new Map([...potsOf].map(([a, of]) => [a, [...of].sort(ascending)]));
  const room = (a: string) => capOf(a) - allocation.get(a)!;

  const size = potIds.length + allocation.size + edges;
  const budget = MAX_REROUTES_PER_EDGE * size;
  const workBudget = workPerEdge * size;
  let reroutes = 0;
  // Arcs looked at, in the breadth-first levels and in the path search: bounds the cost of a hostile epoch whatever
  // shape it has (many phases of one path each, or long paths).
  let work = 0;
  const spent = () => reroutes >= budget || work >= workBudget;
  // Dinic's phases: levels by breadth from the pots with a rest (pot → its provider; a provider at its cap → a pot
  // it draws from), then paths that climb one level a step, each list resumed where it stopped.
  for (let progress = true; progress && !spent();) {
    progress = false;
    const sources = potIds.filter((id) => rest.get(id)! > 0n);
    work += potIds.length; // each phase looks at every pot once
    const potLevel = new Map<string, number>(sources.map((id) => [id, 0]));
    const accountLevel = new Map<string, number>();
    let reachable = false;
    for (let head = 0, queue = [...sources]; head < queue.length; head++) {
      const id = queue[head]!;
      const level = potLevel.get(id)! + 1;
      for (const a of membersOf.get(id)!) {
        work++;
        if (accountLevel.has(a)) continue;
        accountLevel.set(a, level);
        if (room(a) > 0n) {
          reachable = true;
          continue;
        }
        for (const q of potsOfSorted.get(a)!) {
          work++;
          if (!potLevel.has(q) && flows.get(q)!.get(a)! > 0n) {
            potLevel.set(q, level + 1);
            queue.push(q);
          }
        }
      }
    }
    if (!reachable) break;
    const arcAt = new Map<string, number>();
    const dead = new Set<string>();
    const keyOf = (path: string[], at: number) => (at % 2 === 0 ? "p:" : "a:") + path[at]!;
    for (const source of sources) {
      while (rest.get(source)! > 0n && !spent() && !dead.has(`p:${source}`)) {
        // path = [pot, account, pot, account, …]: a pot pays the account after it; an account gives back what it
        // drew from the pot after it.
        const path = [source];
        while (path.length > 0) {
          if (work >= workBudget) {
            path.length = 0; // out of budget: this path is abandoned, nothing of it was moved
            break;
          }
          const at = path.length - 1;
          const id = path[at]!;
          if (at % 2 === 1 && room(id) > 0n) break;
          const key = keyOf(path, at);
          const arcs = at % 2 === 0 ? membersOf.get(id)! : potsOfSorted.get(id)!;
          let i = arcAt.get(key) ?? 0;
          for (; i < arcs.length; i++) {
            work++;
            const to = arcs[i]!;
            const ok =
              at % 2 === 0
                ? accountLevel.get(to) === potLevel.get(id)! + 1 && !dead.has(`a:${to}`)
                : potLevel.get(to) === accountLevel.get(id)! + 1 &&
                  !dead.has(`p:${to}`) &&
                  flows.get(to)!.get(id)! > 0n;
            if (ok) break;
          }
          arcAt.set(key, i);
          if (i < arcs.length) path.push(arcs[i]!);
          else {
            dead.add(key);
            path.pop();
            if (path.length > 0) {
              const parent = keyOf(path, path.length - 1);
              arcAt.set(parent, arcAt.get(parent)! + 1);
            }
          }
        }
        if (path.length === 0) break;
        const sink = path[path.length - 1]!;
        let amount = rest.get(source)! < room(sink) ? rest.get(source)! : room(sink);
        for (let k = 2; k < path.length; k += 2) {
          const back = flows.get(path[k]!)!.get(path[k - 1]!)!;
          if (back < amount) amount = back;
        }
        for (let k = 0; k + 1 < path.length; k += 2) {
          const flow = flows.get(path[k]!)!;
          flow.set(path[k + 1]!, flow.get(path[k + 1]!)! + amount);
          if (k >= 2) flow.set(path[k - 1]!, flow.get(path[k - 1]!)! - amount);
        }
        rest.set(source, rest.get(source)! - amount);
        allocation.set(sink, allocation.get(sink)! + amount);
        if (room(sink) <= 0n) saturated.add(sink);
        reroutes++;
        progress = true;
      }
    }
  }
  const starved = new Set(potIds.filter((id) => rest.get(id)! > 0n && membersOf.get(id)!.every((a) => room(a) <= 0n)));
  // The blocked regions: from each starved pot, its providers (all at their caps) and the pots they draw from, and
  // so on — the accounts whose caps hold that money back together.
  const blocked: string[][] = [];
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const start of starved) {
    if (seen.has(start)) continue;
    seen.add(start);
    const queue = [start];
    const region = new Set<string>();
    for (let head = 0; head < queue.length; head++) {
      const pot = queue[head]!;
      for (const a of membersOf.get(pot)!) {
        if (region.has(a)) continue;
        region.add(a);
        for (const q of potsOfSorted.get(a)!) {
          if (!seen.has(q) && flows.get(q)!.get(a)! > 0n) {
            seen.add(q);
            queue.push(q);
          }
        }
      }
    }
    blocked.push([...region].sort(ascending));
  }
  for (const id of potIds)
    for (const a of membersOf.get(id)!) {
      const flow = flows.get(id)!.get(a)!;
      if (flow > 0n) links.push({ pot: id, account: a, flow });
    }
  return { allocation, saturated, starved, blocked, links, reroutes, work };
}
