/** The operator configuration mapped onto the keeper composition's KeeperConfig. */
import type { KeeperConfig } from "../keeper.ts";
import type { Logger } from "../logger.ts";
import type { OperatorConfig } from "./schema.ts";

export function toKeeperConfig(config: OperatorConfig, logger?: Logger): KeeperConfig {
  return {
    dataDir: config.dataDir,
    listen: config.p2p.listen,
    announce: config.p2p.announce.length > 0 ? config.p2p.announce : undefined,
    bootstrap: config.p2p.bootstrap,
    allowPrivateAddresses: config.p2p.allowPrivateAddresses,
    capabilities: config.node.capabilities,
    bandwidthBps: config.node.bandwidthBps,
    capacity: config.node.capacity,
    rewardAddress: config.node.rewardAddress,
    weights: { alpha: config.routing.alpha, beta: config.routing.beta, gamma: config.routing.gamma },
    shards: config.routing.shards,
    backups: config.routing.backups,
    maxAttempts: config.tasks.maxAttempts,
    attemptTimeoutMs: config.tasks.attemptTimeoutMs,
    logger,
  };
}
