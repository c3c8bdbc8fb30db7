import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroHash, id } from "ethers";

/**
 * Defaults of the module parameters. Every account defaults to the deployer (account 0), so a deployment with
 * no parameter file is a working single-operator network; real networks override them in
 * `ignition/parameters/<network>.json`.
 */
export const LUMORA_DEFAULTS = {
  /** 1 billion LUM (18 decimals), all minted to the treasury: the supply is fixed at deployment. */
  initialSupply: 1_000_000_000n * 10n ** 18n,
  /** Long enough for a guardian to notice a wrong reward root and veto it before anyone can claim. */
  challengeWindow: 6n * 60n * 60n,
  /** Three months for holders to claim before an epoch's unclaimed rest can be recycled. */
  claimPeriod: 90n * 24n * 60n * 60n,
  /** At most 1 million LUM a epoch, whatever a keeper asks (RewardPool.rewardCap). */
  rewardCap: 1_000_000n * 10n ** 18n,
  /** At most half of the unreserved balance a epoch, so one bad root can never drain the pool (rewardCapBps). */
  rewardCapBps: 5000n,
  /** 1,000 LUM to challenge a pending epoch: dear enough that freezing epochs for sport costs, cheap next to an epoch. */
  challengeBond: 1_000n * 10n ** 18n,
  /** 100 LUM paid, with the bond back, to the challenger of an upheld challenge. */
  challengeReward: 100n * 10n ** 18n,
  /** Reputation rules in basis points (see Reputation.sol): start neutral, warn early, flag after 3 bad epochs. */
  reputationParameters: {
    neutralScore: 5000,
    decayBps: 1000,
    learningRateBps: 3000,
    failingRateBps: 2000,
    flagAfterFailingEpochs: 3,
    flagBelowScore: 2000,
    warnBelowScore: 3000,
    unflagAfterGoodEpochs: 2,
    unflagAtScore: 5000,
  },
} as const;

const KEEPER_ROLE = id("KEEPER_ROLE");
const GUARDIAN_ROLE = id("GUARDIAN_ROLE");
const DEFAULT_ADMIN_ROLE = ZeroHash;

/**
 * Deploys LumoraToken, Reputation, TaskLog and RewardPool and wires their roles.
 *
 * The contracts are deployed with the deployer as admin, so that the deployer can grant the keeper and guardian
 * roles in the same deployment; `admin` is then granted DEFAULT_ADMIN_ROLE as well. When `admin` is not the
 * deployer (a multisig, say), the deployer still holds the admin role afterwards and must renounce it once the
 * deployment is checked (see deployments/README.md).
 */
export default buildModule("LumoraModule", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const treasury = m.getParameter("treasury", deployer);
  const keeper = m.getParameter("keeper", deployer);
  const guardian = m.getParameter("guardian", deployer);
  const initialSupply = m.getParameter("initialSupply", LUMORA_DEFAULTS.initialSupply);
  const challengeWindow = m.getParameter("challengeWindow", LUMORA_DEFAULTS.challengeWindow);
  const claimPeriod = m.getParameter("claimPeriod", LUMORA_DEFAULTS.claimPeriod);
  const rewardCap = m.getParameter("rewardCap", LUMORA_DEFAULTS.rewardCap);
  const rewardCapBps = m.getParameter("rewardCapBps", LUMORA_DEFAULTS.rewardCapBps);
  const challengeBond = m.getParameter("challengeBond", LUMORA_DEFAULTS.challengeBond);
  const challengeReward = m.getParameter("challengeReward", LUMORA_DEFAULTS.challengeReward);
  const reputationParameters = m.getParameter("reputationParameters", { ...LUMORA_DEFAULTS.reputationParameters });

  const token = m.contract("LumoraToken", [treasury, initialSupply]);
  const reputation = m.contract("Reputation", [deployer, reputationParameters]);
  const taskLog = m.contract("TaskLog", [deployer]);
  const rewardPool = m.contract("RewardPool", [deployer, token, reputation, challengeWindow, claimPeriod]);
  // Before any report and before the pool accepts epochs: the pool's copy of the flags must miss none.
  m.call(reputation, "setFlagMirror", [rewardPool], { id: "Reputation_setFlagMirror" });

  for (const [name, contract] of [
    ["TaskLog", taskLog],
    ["Reputation", reputation],
    ["RewardPool", rewardPool],
  ] as const) {
    m.call(contract, "grantRole", [KEEPER_ROLE, keeper], { id: `${name}_grantKeeperRole` });
    m.call(contract, "grantRole", [DEFAULT_ADMIN_ROLE, admin], { id: `${name}_grantAdminRole` });
  }
  m.call(rewardPool, "grantRole", [GUARDIAN_ROLE, guardian], { id: "RewardPool_grantGuardianRole" });
  m.call(rewardPool, "setRewardCaps", [rewardCap, rewardCapBps], { id: "RewardPool_setRewardCaps" });
  m.call(rewardPool, "setChallengeTerms", [challengeBond, challengeReward], { id: "RewardPool_setChallengeTerms" });

  return { token, reputation, taskLog, rewardPool };
});
