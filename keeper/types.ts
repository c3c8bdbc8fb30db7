/**
 * Domain types shared by several keeper modules. A module's private types stay in that module.
 */

/** What a node offers; roles are capabilities, not different programs. */
export type Capability = "provider" | "executor" | "consumer" | "coordinator";
export const CAPABILITIES: readonly Capability[] = ["provider", "executor", "consumer", "coordinator"];

/** What routing knows about one candidate node (from discovery, proximity and Reputation). */
export interface NodeView {
  /** libp2p peer id (base58btc string). */
  peerId: string;
  /** B_i in bytes per second: advertised, capped by the audits' measurement (routing/bandwidth.ts). */
  bandwidth: number;
  /** Maximum concurrent tasks the node accepts. */
  capacity: number;
  /** Tasks currently in flight on the node (advertised plus the ones we assigned). */
  load: number;
  /** Measured proximity P_i to the task source: DHT hop count, ≥ 1. Undefined when not measured yet. */
  proximity?: number;
  /** Measured latency L_i: smoothed RTT in milliseconds. Undefined when not measured yet. */
  latencyMs?: number;
  /** Shard the node belongs to. */
  shard: number;
  /** Flagged by the Reputation contract: never chosen. */
  flagged: boolean;
  capabilities: readonly Capability[];
}
