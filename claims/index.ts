/**
 * Token holders' claim tooling as a library: the Hardhat tasks (tasks/) and scripts only parse arguments and
 * call these.
 */
export * from "./context.ts";
export * from "./errors.ts";
export * from "./rewards.ts";
export * from "./claim.ts";
export * from "./fund.ts";
export * from "./bond.ts";
export * from "./settle.ts";
export * from "./verify.ts";
export * from "./published.ts";
export * from "./hardhat.ts";
export * from "./cli.ts";
