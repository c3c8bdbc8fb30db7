export * from "./constants.ts";
export * from "./errors.ts";
export * from "./gater.ts";
export * from "./bootstrap.ts";
export * from "./node.ts";
export * from "./datastore.ts";
export * from "./limits.ts";
