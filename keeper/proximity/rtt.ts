/**
 * Smoothed round-trip time per RFC 6298 §2: the first sample sets SRTT = R and RTTVAR = R/2; each later
 * one updates RTTVAR before SRTT, both with fixed gains. Pure; no I/O.
 */
import { CLOCK_GRANULARITY_MS, RTO_K, RTT_ALPHA, RTT_BETA } from "./constants.ts";

export class RttEstimator {
  srttMs: number | undefined;
  rttvarMs: number | undefined;
  samples = 0;
  lastMs: number | undefined;

  add(sampleMs: number): void {
    if (!Number.isFinite(sampleMs) || sampleMs < 0) throw new RangeError(`invalid RTT sample ${sampleMs}`);
    this.lastMs = sampleMs;
    this.samples++;
    if (this.srttMs === undefined || this.rttvarMs === undefined) {
      this.srttMs = sampleMs;
      this.rttvarMs = sampleMs / 2;
      return;
    }
    this.rttvarMs = (1 - RTT_BETA) * this.rttvarMs + RTT_BETA * Math.abs(this.srttMs - sampleMs);
    this.srttMs = (1 - RTT_ALPHA) * this.srttMs + RTT_ALPHA * sampleMs;
  }

  /** Retransmission-style timeout: SRTT + max(G, K·RTTVAR); undefined before the first sample. */
  get rtoMs(): number | undefined {
    if (this.srttMs === undefined || this.rttvarMs === undefined) return undefined;
    return this.srttMs + Math.max(CLOCK_GRANULARITY_MS, RTO_K * this.rttvarMs);
  }
}
