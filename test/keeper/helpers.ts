/**
 * Test helpers: loopback keepers (libp2p node + discovery) with fast DHT self-queries and a silent logger.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";

import {
  discovery,
  discoveryRecordHandlers,
  type Discovery,
  type DiscoveryInit,
} from "../../keeper/discovery/index.ts";
import { createLogger, type Logger } from "../../keeper/logger.ts";
import { BanList, createLumoraNode, type LumoraNode } from "../../keeper/p2p/index.ts";

export const silent: Logger = createLogger("test", { level: "silent" });

export function collectingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger("test", { level: "debug", sink: (l) => lines.push(JSON.parse(l)) }), lines };
}

export interface TestKeeper {
  node: LumoraNode;
  privateKey: PrivateKey;
  bans: BanList;
  discovery?: Discovery;
}

/** A loopback keeper node; `key` gives it a known identity (a keeper restarting as itself). */
export async function startNode(log: Logger = silent, key?: PrivateKey): Promise<TestKeeper> {
  const privateKey = key ?? (await generateKeyPair("Ed25519"));
  const bans = new BanList(log);
  const node = await createLumoraNode({
    privateKey,
    bans,
    ...discoveryRecordHandlers(log),
    dhtInitialQuerySelfIntervalMs: 200,
    inboundConnectionsPerHostPerSecond: 1000,
  });
  return { node, privateKey, bans };
}

export const defaultInit = (i: number): DiscoveryInit => ({
  capabilities: i % 2 === 0 ? ["provider", "executor"] : ["consumer", "coordinator"],
  bandwidthBps: 1_000_000 * (i + 1),
  capacity: 8,
  shard: i % 4,
  rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
});

export function withDiscovery(k: TestKeeper, init: DiscoveryInit, log: Logger = silent): Discovery {
  k.discovery = discovery(init)({ node: k.node, privateKey: k.privateKey, logger: log });
  return k.discovery;
}

/** Polls `cond` every 50 ms until it holds; after `timeoutMs`, fails naming `what` (a function: what is missing then). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
