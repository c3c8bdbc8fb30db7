/**
 * A restarted keeper knows the peers it knew at once — their verified records (reward accounts) and addresses —
 * from its store, without waiting for a DHT walk; a cached record that no longer verifies is dropped.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { openStore } from "../../../keeper/store/index.ts";
import { silent, waitFor } from "../helpers.ts";

describe("discovery: records kept across restarts", { timeout: 120_000 }, () => {
  const keepers: Keeper[] = [];
  const dir = mkdtempSync(join(tmpdir(), "lumora-record-cache-"));
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.stop()));
  });
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

  const start = async (name: string, bootstrap: string[] = []) => {
    const k = await startKeeper({
      dataDir: join(dir, name),
      bootstrap,
      capabilities: ["executor"],
      bandwidthBps: 10_000_000,
      capacity: 2,
      rewardAddress: "0x" + name.charCodeAt(0).toString(16).padStart(40, "0"),
      dhtQuerySelfIntervalMs: 500,
      logger: silent,
    });
    keepers.push(k);
    return k;
  };

  it("reloads a peer's record and address at start, and drops a tampered one", async () => {
    const b = await start("b");
    let a = await start("a", [b.addresses[0]!]);
    const bId = b.peerId.toString();
    await waitFor(
      async () =>
        await a.discovery.fetchRecord(bId).then(
          () => true,
          () => false,
        ),
      30_000,
      "a to fetch b's record",
    );
    await a.stop();
    keepers.splice(keepers.indexOf(a), 1);

    // No bootstrap this time: only the store can tell a about b.
    a = await start("a");
    const record = a.discovery.get(bId);
    assert.ok(record !== undefined, "b's record known right after the restart");
    assert.equal(record.rewardAddress, "0x" + "b".charCodeAt(0).toString(16).padStart(40, "0"));
    // Its address was restored too: a can reach b by peer id alone.
    await a.node.dial(b.peerId, { signal: AbortSignal.timeout(10_000) });

    await a.stop();
    keepers.splice(keepers.indexOf(a), 1);
    const store = openStore(join(dir, "a", "keeper.db"));
    const row = store.db.prepare("SELECT record FROM peer_records WHERE peer_id = ?").get(bId) as {
      record: Uint8Array;
    };
    const tampered = new Uint8Array(row.record);
    tampered[tampered.length - 1] ^= 1;
    store.db.prepare("UPDATE peer_records SET record = ? WHERE peer_id = ?").run(tampered, bId);
    store.close();
    a = await start("a");
    assert.equal(a.discovery.get(bId), undefined, "a record whose signature fails is not trusted");
  });
});
