/**
 * Routing: the seed's score formula, shard mapping and selection of a primary plus k backups. Pure logic —
 * no I/O; the keeper feeds it NodeViews from discovery, proximity and Reputation.
 */
export { effectiveBandwidth } from "./bandwidth.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export {
  assertNodeMetrics,
  DEFAULT_WEIGHTS,
  resolveWeights,
  score,
  scoreUnchecked,
  type ScoreWeights,
} from "./score.ts";
export { assignShards, memberKey, ShardMap, shardSize, taskShard } from "./shards.ts";
export { eligible, selectNodes, type Selection, type SelectionOptions, type SelectionRequest } from "./select.ts";
export {
  routing,
  RoutingTable,
  type NodeSelector,
  type RoutingComponents,
  type RoutingInit,
  type TaskRoute,
} from "./table.ts";
