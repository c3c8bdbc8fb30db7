export * from "./constants.ts";
export * from "./errors.ts";
export * from "./record.ts";
export * from "./dht-records.ts";
export * from "./content.ts";
export * from "./discovery.ts";
export * from "./fetch-queue.ts";
export * from "./exchange.ts";
