/**
 * A real keeper on 127.0.0.1 in a temporary data directory, for the conformance tests to talk to.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startKeeper, type Keeper, type KeeperConfig } from "../../../keeper/keeper.ts";
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
