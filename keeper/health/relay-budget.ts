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
