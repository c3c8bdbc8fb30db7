/**
 * Hop count from a DHT lookup's events (definition in docs/proximity.md):
 * a peer queried without having been named by any response in this lookup came from our own routing
 * table and is at hop 1; a peer first named in the `closer` list of a response from a peer at hop h is at
 * hop h + 1 (the minimum over every response naming it). The hop count to the target is its hop when it
 * answers the lookup, i.e. the length of the shortest referral chain from us to it. Pure; no I/O.
 */
import type { QueryEvent } from "@libp2p/kad-dht";

export class HopTracker {
  private readonly hops = new Map<string, number>();
  private answered: number | undefined;

  constructor(private readonly target: string) {}

  observe(ev: QueryEvent): void {
    if (ev.name === "SEND_QUERY") {
      const to = ev.to.toString();
      if (!this.hops.has(to)) this.hops.set(to, 1);
    } else if (ev.name === "PEER_RESPONSE") {
      const from = ev.from.toString();
      const h = this.hops.get(from) ?? 1;
      if (from === this.target) this.answered = Math.min(this.answered ?? h, h);
      for (const p of ev.closer) {
        const id = p.id.toString();
        const prev = this.hops.get(id);
        if (prev === undefined || prev > h + 1) this.hops.set(id, h + 1);
      }
    }
  }

  /** The target's hop count if it has answered (then no later event changes it), else undefined. */
  get answeredAt(): number | undefined {
    return this.answered;
  }

  /** Hop count of the target: when it answered, else when it was named (it is then one referral away). */
  get hopCount(): number | undefined {
    return this.answered ?? this.hops.get(this.target);
  }
}

export function hopCountFromEvents(target: string, events: Iterable<QueryEvent>): number | undefined {
  const t = new HopTracker(target);
  for (const e of events) t.observe(e);
  return t.hopCount;
}
