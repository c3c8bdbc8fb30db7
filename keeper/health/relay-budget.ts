/**
 * What relaying ping-reqs may cost us: at most `maxInFlight` relayed probes at once and `perSecond` on average
 * (a token bucket whose burst is `perSecond`), whoever asks. No I/O.
 */
export class RelayBudget {
  private inFlight = 0;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly maxInFlight: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  /** Takes one relay slot, or returns false when over either bound; a taken slot is given back by release(). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.refilledAt) / 1_000) * this.perSecond);
    this.refilledAt = t;
    if (this.inFlight >= this.maxInFlight || this.tokens < 1) return false;
    this.tokens--;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
}

/**
 * One token bucket per peer (`perSecond`, burst `burst`), for at most `maxPeers` peers at once: what one peer may
 * make us do, whatever the others do. A full bucket is the same as none, so when the map is full the idle buckets
 * go first, then the oldest (which then starts over full: at most `burst` more for a peer that outlasts
 * `maxPeers` others). No I/O.
 */
export class PeerBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxPeers: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one of `peer`'s tokens, or returns false when it has none left. */
  take(peer: string): boolean {
    const t = this.now();
    let b = this.buckets.get(peer);
    if (b === undefined) {
      this.makeRoom(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(peer, b);
    }
    b.tokens = this.level(b, t);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }

  private level(b: { tokens: number; at: number }, t: number): number {
    return Math.min(this.burst, b.tokens + ((t - b.at) / 1_000) * this.perSecond);
  }

  private makeRoom(t: number): void {
    if (this.buckets.size < this.maxPeers) return;
    for (const [id, b] of this.buckets) if (this.level(b, t) >= this.burst) this.buckets.delete(id);
    if (this.buckets.size >= this.maxPeers) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
