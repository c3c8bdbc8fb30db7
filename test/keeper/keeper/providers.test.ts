/**
 * Keepers on 127.0.0.1, end to end: routing never makes a provider its own executor unless no other executor
 * exists (and then records 0 bytes with the reason), and a task whose only provider died fails at once with
 * "no live provider" instead of waiting for its deadline.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { toTaskLogRecord } from "../../../keeper/tasks/index.ts";
import type { Capability } from "../../../keeper/types.ts";
import { silent, waitFor } from "../helpers.ts";

describe("keeper routing around providers", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-providers-"));
  const keepers: Keeper[] = [];
  const start = async (i: number, capabilities: Capability[], bandwidthBps: number) => {
    const k = await startKeeper({
      dataDir: join(dir, `k${i}`),
      bootstrap: keepers.length > 0 ? [keepers[0]!.addresses[0]!] : [],
      capabilities,
      bandwidthBps,
      capacity: 4,
      rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
      attemptTimeoutMs: 20_000,
      dhtQuerySelfIntervalMs: 500,
      routingRefreshMs: 500,
      // Failure detection quick enough for the "provider died" case (~3 s) yet tolerant of a loaded 2-core
      // machine (a 250 ms timeout made live peers "fail" at load average 11); the rule does not depend on it.
      health: { periodMs: 500, probeTimeoutMs: 2_000, suspicionMult: 2 },
      logger: silent,
    });
    keepers.push(k);
    return k;
  };
  const routable = (coordinator: Keeper, peer: Keeper) =>
    waitFor(
      async () => {
        await coordinator.refreshRouting({ refreshDirectory: true });
        return coordinator.routing.isAvailable(peer.peerId.toString());
      },
      30_000,
      `${peer.peerId} routable`,
    );

  let coordinator: Keeper;
  let provider: Keeper;
  let objectId: string;
  let size: number;
  before(async () => {
    coordinator = await start(0, ["coordinator", "consumer"], 10_000_000);
    // The provider can execute too, and advertises by far the best bandwidth: routing would pick it first.
    provider = await start(1, ["provider", "executor"], 1_000_000_000);
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(2 * 1024 * 1024 + 7));
    const published = await provider.publish(file);
    objectId = published.objectId;
    size = published.size;
    await routable(coordinator, provider);
  });
  after(async () => {
    await Promise.all(keepers.map((k) => k.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses the provider only when no other executor exists, logging 0 bytes and the reason", async () => {
    const o = await coordinator.requestTransfer({ objectId, size, providers: [provider.addresses[0]!], id: "t-alone" });
    assert.equal(o.status, "succeeded", `${o.status}: ${o.reason}`);
    assert.equal(o.executor, provider.peerId.toString());
    assert.match(o.reason ?? "", /is a provider of the object and no other executor was available/);
    const row = coordinator.tasks.taskStore.task("t-alone")!;
    assert.equal(row.bytes, 0);
    assert.equal(toTaskLogRecord(row, { addressOf: () => undefined }).bytesMoved, 0n, "TaskLog bytesMoved");
    assert.equal(provider.transfer.providerStats.bytesServed, 0, "nothing was served to anyone");
  });

  it("chooses another executor over the provider as soon as one exists, and records the bytes it moved", async () => {
    const other = await start(2, ["executor"], 1_000_000);
    await routable(coordinator, other);
    const o = await coordinator.requestTransfer({ objectId, size, providers: [provider.addresses[0]!], id: "t-other" });
    assert.equal(o.status, "succeeded", `${o.status}: ${o.reason}`);
    assert.equal(o.executor, other.peerId.toString(), "not the provider");
    assert.equal(o.reason, undefined);
    assert.equal(coordinator.tasks.taskStore.task("t-other")!.bytes, size);
    assert.ok(provider.transfer.providerStats.bytesServed >= size, "the object crossed the network from the provider");
  });

  it("fails at once with 'no live provider' when the only provider died, long before the deadline", async () => {
    const providers = [provider.addresses[0]!];
    await provider.stop();
    const started = Date.now();
    const o = await coordinator.requestTransfer({ objectId, size, providers, id: "t-dead", deadlineMs: 120_000 });
    const took = Date.now() - started;
    assert.equal(o.status, "failed", `${o.status}: ${o.reason}`);
    assert.match(o.reason ?? "", /^no live provider/);
    assert.ok(took < 30_000, `ended after ${took} ms, not at the 120 s deadline`);
  });
});
