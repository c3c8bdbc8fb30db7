/**
 * A TypeScript reference model of the rules in Reputation.sol's NatSpec, used to check the contract's state
 * after arbitrary report sequences. It follows the documented rules, with the contract's integer rounding.
 */

export const MAX_SCORE = 10_000n;
/** Streaks are stored in 16 bits and saturate there instead of overflowing. */
export const MAX_STREAK = 2 ** 16 - 1;

export interface ReputationParameters {
  neutralScore: number;
  decayBps: number;
  learningRateBps: number;
  failingRateBps: number;
  flagAfterFailingEpochs: number;
  flagBelowScore: number;
  warnBelowScore: number;
  unflagAfterGoodEpochs: number;
  unflagAtScore: number;
}

/** The parameters in the order of the Solidity struct (for events and struct comparisons). */
export function parametersTuple(p: ReputationParameters): bigint[] {
  return [
    p.neutralScore,
    p.decayBps,
    p.learningRateBps,
    p.failingRateBps,
    p.flagAfterFailingEpochs,
    p.flagBelowScore,
    p.warnBelowScore,
    p.unflagAfterGoodEpochs,
    p.unflagAtScore,
  ].map(BigInt);
}

export interface NodeState {
  score: bigint;
  successes: bigint;
  failures: bigint;
  failStreak: number;
  goodStreak: number;
  flagged: boolean;
  lastEpoch: bigint;
}

export const FlagReason = { FailingEpochs: 0, LowScore: 1 } as const;

export type Transition =
  | { kind: "none" }
  | { kind: "warned" }
  | { kind: "flagged"; reason: (typeof FlagReason)[keyof typeof FlagReason] }
  | { kind: "unflagged" };

export interface ReportOutcome {
  state: NodeState;
  transition: Transition;
}

export function neverReported(): NodeState {
  return { score: 0n, successes: 0n, failures: 0n, failStreak: 0, goodStreak: 0, flagged: false, lastEpoch: 0n };
}

/**
 * `neutral + (score - neutral) * (1 - decay)^epochs`, in the contract's fixed-point arithmetic: the factor is
 * computed in 1e18 by repeated squaring with truncation after every product.
 */
export function decayed(score: bigint, epochs: bigint, p: ReputationParameters): bigint {
  const neutral = BigInt(p.neutralScore);
  if (epochs === 0n || score === neutral) return score;
  const one = 10n ** 18n;
  let factor = one;
  let base = ((MAX_SCORE - BigInt(p.decayBps)) * one) / MAX_SCORE;
  let remaining = epochs;
  while (remaining > 0n && factor > 0n) {
    if ((remaining & 1n) === 1n) factor = (factor * base) / one;
    base = (base * base) / one;
    remaining >>= 1n;
  }
  return score > neutral ? neutral + ((score - neutral) * factor) / one : neutral - ((neutral - score) * factor) / one;
}

/**
 * The same decay in exact rational arithmetic (rounded toward neutral once, at the end): an independent
 * statement of the formula, which the fixed-point version may undershoot by at most one basis point.
 */
export function decayedExactly(score: bigint, epochs: bigint, p: ReputationParameters): bigint {
  const neutral = BigInt(p.neutralScore);
  const keep = (MAX_SCORE - BigInt(p.decayBps)) ** epochs;
  const scale = MAX_SCORE ** epochs;
  return score >= neutral ? neutral + ((score - neutral) * keep) / scale : neutral - ((neutral - score) * keep) / scale;
}

/** Whether an epoch with these counts is failing. */
export function isFailing(successes: bigint, failures: bigint, p: ReputationParameters): boolean {
  const total = successes + failures;
  return total > 0n && failures * MAX_SCORE > total * BigInt(p.failingRateBps);
}

/** Applies one node's report for `epoch` to its state, following the rules in Reputation.sol's NatSpec. */
export function applyReport(
  node: NodeState,
  epoch: bigint,
  successes: bigint,
  failures: bigint,
  p: ReputationParameters,
): ReportOutcome {
  let score = node.lastEpoch === 0n ? BigInt(p.neutralScore) : decayed(node.score, epoch - node.lastEpoch - 1n, p);
  const total = successes + failures;
  if (total === 0n) {
    // An epoch reported with no tasks decays like an unreported one (and leaves the streaks alone, below).
    score = decayed(score, 1n, p);
  } else {
    const target = (successes * MAX_SCORE) / total;
    const learning = BigInt(p.learningRateBps);
    score =
      target >= score
        ? score + ((target - score) * learning) / MAX_SCORE
        : score - ((score - target) * learning) / MAX_SCORE;
  }
  const failing = isFailing(successes, failures, p);
  // An idle epoch (nothing reported) is neither good nor failing: both streaks stay as they are.
  let { failStreak, goodStreak } = node;
  if (failing) {
    failStreak = Math.min(failStreak + 1, MAX_STREAK);
    goodStreak = 0;
  } else if (total !== 0n) {
    failStreak = 0;
    goodStreak = Math.min(goodStreak + 1, MAX_STREAK);
  }
  const state: NodeState = {
    score,
    successes: node.successes + successes,
    failures: node.failures + failures,
    failStreak,
    goodStreak,
    flagged: node.flagged,
    lastEpoch: epoch,
  };

  let transition: Transition = { kind: "none" };
  if (!state.flagged) {
    if (state.failStreak >= p.flagAfterFailingEpochs) {
      transition = { kind: "flagged", reason: FlagReason.FailingEpochs };
    } else if (score < BigInt(p.flagBelowScore)) {
      transition = { kind: "flagged", reason: FlagReason.LowScore };
    } else if (
      (p.flagAfterFailingEpochs > 1 && state.failStreak === p.flagAfterFailingEpochs - 1) ||
      score < BigInt(p.warnBelowScore)
    ) {
      transition = { kind: "warned" };
    }
    if (transition.kind === "flagged") state.flagged = true;
  } else if (state.goodStreak >= p.unflagAfterGoodEpochs && score >= BigInt(p.unflagAtScore)) {
    state.flagged = false;
    transition = { kind: "unflagged" };
  }
  return { state, transition };
}

/** The whole contract's state: the latest epoch and every node's stored state. */
export class ReputationModel {
  currentEpoch = 0n;
  readonly nodes = new Map<string, NodeState>();

  constructor(public parameters: ReputationParameters) {}

  nodeOf(node: string): NodeState {
    return this.nodes.get(node) ?? neverReported();
  }

  scoreOf(node: string): bigint {
    const state = this.nodeOf(node);
    if (state.lastEpoch === 0n) return BigInt(this.parameters.neutralScore);
    return decayed(state.score, this.currentEpoch - state.lastEpoch, this.parameters);
  }

  /** Applies one batch; returns each report's outcome, in order. */
  applyReports(
    epoch: bigint,
    reports: readonly { node: string; successes: bigint; failures: bigint }[],
  ): { node: string; outcome: ReportOutcome }[] {
    if (epoch === 0n) throw new Error("zero epoch");
    if (epoch < this.currentEpoch) throw new Error("epoch in the past");
    const staged = new Map<string, NodeState>();
    const outcomes = reports.map((report) => {
      const current = staged.get(report.node) ?? this.nodeOf(report.node);
      if (current.lastEpoch === epoch) throw new Error("node already reported");
      const outcome = applyReport(current, epoch, report.successes, report.failures, this.parameters);
      staged.set(report.node, outcome.state);
      return { node: report.node, outcome };
    });
    this.currentEpoch = epoch;
    for (const [node, state] of staged) this.nodes.set(node, state);
    return outcomes;
  }
}
