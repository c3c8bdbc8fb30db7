export * from "./constants.ts";
export * from "./errors.ts";
export * from "./rtt.ts";
export * from "./hops.ts";
export * from "./proximity.ts";
export * from "./view.ts";
