/**
 * Reputation parameters the contract tests deploy with (one place, so that a test's expectations about flagging
 * name the parameters they rely on).
 */

/** The deployment's shape: flag after 3 failing epochs below 2000; unflag after 2 good epochs at ≥ 5000. */
export const REPUTATION_PARAMETERS = {
  neutralScore: 5000,
  decayBps: 1000,
  learningRateBps: 3000,
  failingRateBps: 2000,
  flagAfterFailingEpochs: 3,
  flagBelowScore: 2000,
  warnBelowScore: 3000,
  unflagAfterGoodEpochs: 2,
  unflagAtScore: 5000,
};

/** Quicker to flag, for the reward pool's flag paths: after 2 failing epochs (learning rate 5000), unflag after 2
 * good epochs at ≥ 5000. */
export const FAST_FLAG_PARAMETERS = {
  ...REPUTATION_PARAMETERS,
  learningRateBps: 5000,
  flagAfterFailingEpochs: 2,
};
