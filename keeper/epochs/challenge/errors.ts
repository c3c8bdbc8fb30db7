/** Failures of challenge resolution by the keepers. */

/** Neither verdict reached the supermajority before the deadline; the challenge stays open and is tried again. */
export class ChallengeNotResolvedError extends Error {
  override readonly name = "ChallengeNotResolvedError";
  constructor(
    readonly epoch: number,
    readonly upheld: number,
    readonly rejected: number,
    readonly needed: number,
    /** Why the others gave no usable verdict, by peer id. */
    readonly refusals: Readonly<Record<string, string>>,
  ) {
    super(
      `challenge of epoch ${epoch}: ${upheld} signature(s) to uphold, ${rejected} to reject, ${needed} needed` +
        (Object.keys(refusals).length > 0
          ? ` (${Object.entries(refusals)
              .map(([who, why]) => `${who.slice(-8)}: ${why}`)
              .join("; ")})`
          : ""),
    );
  }
}
