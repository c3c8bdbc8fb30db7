/**
 * Lumora's Hardhat tasks for token holders and deployers. Each action only parses its arguments and calls
 * claims; see docs/claim.md.
 */
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

const account = {
  name: "account",
  description: "The account (default: the network's first account)",
  type: ArgumentType.STRING_WITHOUT_DEFAULT,
  defaultValue: undefined,
} as const;
const proofsUrl = {
  name: "proofsUrl",
  description: "Read the published epochs from a keeper's HTTP API (e.g. http://127.0.0.1:9471)",
  type: ArgumentType.STRING_WITHOUT_DEFAULT,
  defaultValue: undefined,
} as const;
const proofsDir = {
  name: "proofsDir",
  description:
    "Published epochs folder (default: the keeper's publication folder, else deployments/<network>/epochs; docs/claim.md)",
  type: ArgumentType.STRING_WITHOUT_DEFAULT,
  defaultValue: undefined,
} as const;
const epoch = {
  name: "epoch",
  description: "The epoch (1, 2, …)",
  type: ArgumentType.STRING_WITHOUT_DEFAULT,
  defaultValue: undefined,
} as const;

export const lumoraTasks = [
  task("lumora:rewards", "Shows an account's rewards per epoch: pending, claimable, claimed, vetoed, expired, flagged")
    .addOption(account)
    .addOption(proofsUrl)
    .addOption(proofsDir)
    .setAction(() => import("./rewards.ts"))
    .build(),
  task("lumora:claim", "Claims one epoch's reward (funds always go to the account)")
    .addOption(epoch)
    .addOption(account)
    .addOption(proofsUrl)
    .addOption(proofsDir)
    .setAction(() => import("./claim.ts"))
    .build(),
  task("lumora:claim-all", "Claims every claimable epoch in one claimMany transaction")
    .addOption(account)
    .addOption(proofsUrl)
    .addOption(proofsDir)
    .setAction(() => import("./claim-all.ts"))
    .build(),
  task(
    "lumora:verify-epoch",
    "Rebuilds an epoch's commitments from the published records and compares them with the chain",
  )
    .addOption(epoch)
    .addOption(proofsUrl)
    .addOption(proofsDir)
    .addOption({
      name: "lumPerGib",
      description: "The network's price per GiB in LUM, when not the protocol's (0.01)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addOption({
      name: "subsidyBps",
      description: "The network's subsidy share in basis points, when not the protocol's (500)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addOption({
      name: "settleGridMs",
      description: "The network's settlement grid in ms, when not the protocol's (60000)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addOption({
      name: "settleWindowMs",
      description: "The network's settlement window in ms, when not the protocol's (120000)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addFlag({
      name: "settleAtClose",
      description: "The network's closes read the vault at their own time (keepers with payment.settle false)",
    })
    .setAction(() => import("./verify-epoch.ts"))
    .build(),
  task("lumora:settle", "Settles the highest voucher of each channel an epoch's published evidence carries")
    .addOption(epoch)
    .addOption(proofsUrl)
    .addOption(proofsDir)
    .setAction(() => import("./settle.ts"))
    .build(),
  task("lumora:fund", "Funds the RewardPool: approve + fund, from the network's first account")
    .addOption({
      name: "amount",
      description: "Amount in LUM (e.g. 1000)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .setAction(() => import("./fund.ts"))
    .build(),
  task("lumora:bond", "Bonds LUM in NodeRegistry for a reward account (approve + bond), from the first account")
    .addOption({
      name: "amount",
      description: "Amount in LUM (e.g. 1000)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addOption({ ...account, description: "The reward account bonded for (default: the network's first account)" })
    .setAction(() => import("./bond.ts"))
    .build(),
  task("lumora:unbond", "Asks to unbond LUM from NodeRegistry, or withdraws what finished unbonding (--withdraw)")
    .addOption({
      name: "amount",
      description: "Amount in LUM to unbond (stops counting at once; withdrawable after the unbonding delay)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addFlag({ name: "withdraw", description: "Withdraw the amount whose unbonding delay has passed" })
    .setAction(() => import("./unbond.ts"))
    .build(),
];
