export * from "./constants.ts";
export * from "./errors.ts";
export * from "./classify.ts";
export * from "./retry.ts";
export * from "./deployment.ts";
export * from "./epoch-status.ts";
export * from "./chain.ts";
export * from "./bonds.ts";
