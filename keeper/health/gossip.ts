/**
 * Dissemination queue (SWIM §4.1, "infection-style"): membership updates ride on probes and acks, at most
 * `maxPerMessage` per message, least-sent first, each sent `retransmitMult · ⌈log10(N + 1)⌉` times before it
 * is dropped — enough for an update to reach every member with high probability while the cost per message
 * stays bounded. A newer update about a member replaces the queued one. Pure: no I/O.
 */
import type { MemberUpdateData } from "./members.ts";

interface Queued {
  update: MemberUpdateData;
  sent: number;
  /** Insertion order, so equal counts go out oldest first. */
  order: number;
}

export class GossipQueue {
  private readonly queued = new Map<string, Queued>();
  private counter = 0;

  constructor(private readonly retransmitMult: number) {}

  get size(): number {
    return this.queued.size;
  }

  /** How many times an update is sent in a network of `members` members besides us. */
  limit(members: number): number {
    return this.retransmitMult * Math.max(1, Math.ceil(Math.log10(members + 1)));
  }

  push(update: MemberUpdateData): void {
    this.queued.set(update.peerId, { update, sent: 0, order: this.counter++ });
  }

  /** Up to `max` updates for one message, excluding those about `skip` (said separately); counts the sends. */
  take(max: number, members: number, skip?: string): MemberUpdateData[] {
    if (max <= 0 || this.queued.size === 0) return [];
    const limit = this.limit(members);
    const picked = [...this.queued.values()]
      .filter((q) => q.update.peerId !== skip)
      .sort((a, b) => a.sent - b.sent || a.order - b.order)
      .slice(0, max);
    for (const q of picked) {
      q.sent++;
      if (q.sent >= limit) this.queued.delete(q.update.peerId);
    }
    return picked.map((q) => q.update);
  }
}
