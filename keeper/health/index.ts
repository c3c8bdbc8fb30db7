export * from "./constants.ts";
export * from "./errors.ts";
export * from "./counters.ts";
export * from "./health.ts";
export * from "./members.ts";
