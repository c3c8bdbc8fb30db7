/**
 * The operator API: dashboard, JSON status, Prometheus metrics and the proofs routes, served by the keeper.
 */
export * from "./constants.ts";
export { OperatorCounters, type OperatorCounterName } from "../operator-counters.ts";
export { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
export { proofsHandler, type RouteHandler } from "./proofs.ts";
export { ApiServer, apiServer, type ApiServerComponents, type ApiServerInit } from "./server.ts";
export * from "./snapshot.ts";
export { ApiBodyError } from "./errors.ts";
export { closeEpochBody, closeSummary, OperatorRoutes, publishBody, transferBody } from "./operator.ts";
