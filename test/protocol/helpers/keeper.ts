/**
 * A real keeper on 127.0.0.1 in a temporary data directory, for the conformance tests to talk to.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p, PrivateKey } from "@libp2p/interface";

import { signPeerRecord } from "../../../keeper/discovery/record.ts";
import { startKeeper, type Keeper, type KeeperConfig } from "../../../keeper/keeper.ts";
import type { Capability } from "../../../keeper/types.ts";
import { plainPeer } from "./peer.ts";
import { createLogger } from "../../../keeper/logger.ts";

const logger = createLogger("protocol-test", {
  level: process.env.LUMORA_LOG_LEVEL === undefined ? "silent" : undefined,
});

export interface TestKeeper {
  keeper: Keeper;
  /** Its TCP multiaddr with /p2p. */
  address: string;
  dir: string;
  stop(): Promise<void>;
}

export async function testKeeper(name: string, extra: Partial<KeeperConfig> = {}): Promise<TestKeeper> {
  const dir = mkdtempSync(join(tmpdir(), `lumora-protocol-${name}-`));
  const keeper = await startKeeper({
    dataDir: join(dir, "data"),
    capabilities: ["provider", "executor", "consumer", "coordinator"],
    bandwidthBps: 100_000_000,
    capacity: 4,
    rewardAddress: "0x" + "11".repeat(20),
    logger: logger.child(name),
    ...extra,
  });
  return {
    keeper,
    address: keeper.addresses[0]!,
    dir,
    async stop() {
      await keeper.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A plain libp2p peer made a **registered node** of `keeper`: its signed peer record (§4) handed to the keeper.
 * This is set-up (registration), not the protocol under test, so it uses the keeper's record signer.
 */
export async function registeredPeer(
  keeper: Keeper,
  options: { addrs?: string[]; capabilities?: Capability[] } = {},
): Promise<{ peer: Libp2p; key: PrivateKey }> {
  const key = await generateKeyPair("Ed25519");
  const peer = await plainPeer(key);
  await keeper.discovery.accept(
    await signPeerRecord(key, {
      seq: 1n,
      issuedAtMs: Date.now(),
      expiresAtMs: Date.now() + 600_000,
      capabilities: options.capabilities ?? ["coordinator"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      load: 0,
      shard: 0,
      rewardAddress: "0x" + "77".repeat(20),
      addrs: options.addrs ?? peer.getMultiaddrs().map((a) => a.toString()),
    }),
  );
  return { peer, key };
}
