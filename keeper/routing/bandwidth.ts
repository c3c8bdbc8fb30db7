/**
 * B_i as routing uses it (docs/routing.md, "B_i: announced, capped by what audits measured"): a node's signed
 * peer record announces its bandwidth, keepers' audits measure it (keeper/audit), and the score takes the
 * smaller of the two. Announcing more than one serves gains nothing once an audit measured it; a node never
 * measured keeps its announced figure (no evidence against it yet); a measurement above the announcement does
 * not raise B_i (a node is not routed more than it offered).
 */
export function effectiveBandwidth(announcedBps: number, measuredBps: number | undefined): number {
  if (measuredBps === undefined || !Number.isFinite(measuredBps) || measuredBps < 0) return announcedBps;
  return Math.min(announcedBps, measuredBps);
}
