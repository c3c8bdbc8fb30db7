import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroHash, id } from "ethers";

/**
 * Hardhat's development account 0 (the default mnemonic's first key): the default keeper set. Ignition cannot
 * default a list parameter to the deployer, so the development chain's deployer is named; a live network must name
 * its keepers (scripts/lib/deploy-lumora.ts refuses otherwise).
 */
export const DEVELOPMENT_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/**
 * Defaults of the module parameters. Every account defaults to the deployer (account 0), so a deployment with
 * no parameter file is a working single-operator network; real networks override them in
 * `ignition/parameters/<network>.json`.
 */
export const LUMORA_DEFAULTS = {
  /** The keepers whose signatures EpochQuorum counts: on the development chain, its account 0 alone. */
  keepers: [DEVELOPMENT_ACCOUNT_0],
  /** Signatures an epoch needs: 1 of the single development keeper. Live networks use t > n/2 (docs/deploy.md). */
  threshold: 1n,
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
  /**
   * 1,000 LUM bonded per reward account before its nodes count (NodeRegistry.minBond): a thousand identities cost a
   * million LUM locked, while a real operator's stake stays small next to a month of rewards.
   */
  minBond: 1_000n * 10n ** 18n,
  /**
   * 14 days between a request to unbond and the withdrawal (NodeRegistry.unbondingDelay): hundreds of hourly epochs,
   * so a bond that backed an epoch's share stays at stake long after (for challenges and vetoes of those epochs).
   */
  unbondingDelay: 14n * 24n * 60n * 60n,
  /**
   * 20 % of every settled consumer fee burned (CreditVault.burnBps), the rest funds the RewardPool: self-dealing
   * then loses at least this share of what it pays (docs/security.md, "Paid demand").
   */
  burnBps: 2000n,
  /**
   * 2 days between a consumer's withdrawal request and the withdrawal (CreditVault.withdrawalDelay): keepers settle
   * vouchers every epoch (hourly), so a consumer cannot empty its deposit before its vouchers are settled.
   */
  withdrawalDelay: 2n * 24n * 60n * 60n,
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
 * Deploys LumoraToken, Reputation, TaskLog, RewardPool, EpochQuorum, NodeRegistry and CreditVault and wires their
 * roles. KEEPER_ROLE on the three epoch contracts goes to EpochQuorum alone: an epoch is committed only with
 * `threshold` signatures of the `keepers`, never by one key.
 *
 * The contracts are deployed with the deployer as admin, so that the deployer can grant the keeper and guardian
 * roles in the same deployment; `admin` is then granted DEFAULT_ADMIN_ROLE as well. When `admin` is not the
 * deployer (a multisig, say), the deployer still holds the admin role afterwards and must renounce it once the
 * deployment is checked (see deployments/README.md). NodeRegistry and CreditVault have no other role to wire: they
 * are deployed with `admin` as their admin directly.
 */
export default buildModule("LumoraModule", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const treasury = m.getParameter("treasury", deployer);
  const keepers = m.getParameter<string[]>("keepers", [...LUMORA_DEFAULTS.keepers]);
  const threshold = m.getParameter("threshold", LUMORA_DEFAULTS.threshold);
  const guardian = m.getParameter("guardian", deployer);
  const initialSupply = m.getParameter("initialSupply", LUMORA_DEFAULTS.initialSupply);
  const challengeWindow = m.getParameter("challengeWindow", LUMORA_DEFAULTS.challengeWindow);
  const claimPeriod = m.getParameter("claimPeriod", LUMORA_DEFAULTS.claimPeriod);
  const rewardCap = m.getParameter("rewardCap", LUMORA_DEFAULTS.rewardCap);
  const rewardCapBps = m.getParameter("rewardCapBps", LUMORA_DEFAULTS.rewardCapBps);
  const challengeBond = m.getParameter("challengeBond", LUMORA_DEFAULTS.challengeBond);
  const challengeReward = m.getParameter("challengeReward", LUMORA_DEFAULTS.challengeReward);
  const minBond = m.getParameter("minBond", LUMORA_DEFAULTS.minBond);
  const unbondingDelay = m.getParameter("unbondingDelay", LUMORA_DEFAULTS.unbondingDelay);
  const burnBps = m.getParameter("burnBps", LUMORA_DEFAULTS.burnBps);
  const withdrawalDelay = m.getParameter("withdrawalDelay", LUMORA_DEFAULTS.withdrawalDelay);
  const reputationParameters = m.getParameter("reputationParameters", { ...LUMORA_DEFAULTS.reputationParameters });

  const token = m.contract("LumoraToken", [treasury, initialSupply]);
  const reputation = m.contract("Reputation", [deployer, reputationParameters]);
  const taskLog = m.contract("TaskLog", [deployer]);
  const rewardPool = m.contract("RewardPool", [deployer, token, reputation, challengeWindow, claimPeriod]);
  const epochQuorum = m.contract("EpochQuorum", [deployer, taskLog, reputation, rewardPool, keepers, threshold]);
  const nodeRegistry = m.contract("NodeRegistry", [admin, token, minBond, unbondingDelay]);
  const creditVault = m.contract("CreditVault", [admin, token, rewardPool, burnBps, withdrawalDelay]);
  // Before any report and before the pool accepts epochs: the pool's copy of the flags must miss none.
  m.call(reputation, "setFlagMirror", [rewardPool], { id: "Reputation_setFlagMirror" });

  for (const [name, contract] of [
    ["TaskLog", taskLog],
    ["Reputation", reputation],
    ["RewardPool", rewardPool],
  ] as const) {
    m.call(contract, "grantRole", [KEEPER_ROLE, epochQuorum], { id: `${name}_grantKeeperRole` });
    m.call(contract, "grantRole", [DEFAULT_ADMIN_ROLE, admin], { id: `${name}_grantAdminRole` });
  }
  m.call(epochQuorum, "grantRole", [DEFAULT_ADMIN_ROLE, admin], { id: "EpochQuorum_grantAdminRole" });
  m.call(rewardPool, "grantRole", [GUARDIAN_ROLE, guardian], { id: "RewardPool_grantGuardianRole" });
  m.call(rewardPool, "setRewardCaps", [rewardCap, rewardCapBps], { id: "RewardPool_setRewardCaps" });
  m.call(rewardPool, "setChallengeTerms", [challengeBond, challengeReward], { id: "RewardPool_setChallengeTerms" });

  return { token, reputation, taskLog, rewardPool, epochQuorum, nodeRegistry, creditVault };
});
