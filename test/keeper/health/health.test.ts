import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { HEALTH_PROTOCOL, health, HealthCounters, type Health } from "../../../keeper/health/index.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import { encodeVarint } from "../../../keeper/wire/index.ts";
import { collectingLogger, silent, startNode, waitFor, type TestKeeper } from "../helpers.ts";

const INTERVAL_MS = 200;
const K = 3;

describe("health", () => {
  const keepers: TestKeeper[] = [];
  const services: Health[] = [];
  const stores: Store[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function tempStore(): { path: string; store: Store } {
    const dir = mkdtempSync(join(tmpdir(), "lumora-health-"));
    dirs.push(dir);
    const path = join(dir, "keeper.db");
    const store = openStore(path);
    stores.push(store);
    return { path, store };
  }

  it(`declares a stopped peer failed after ${K} missed heartbeats (≤ k·interval + timeout) and counts it once`, async () => {
    for (let i = 0; i < 2; i++) keepers.push(await startNode());
    const [a, b] = keepers;
    const counters = new HealthCounters(tempStore().store);
    const mk = (k: TestKeeper) =>
      health({ intervalMs: INTERVAL_MS, timeoutMs: 150, missedToFail: K })({
        node: k.node,
        logger: silent,
        counters,
        currentEpoch: () => 7,
      });
    const ha = mk(a);
    const hb = mk(b);
    services.push(ha, hb);
    await ha.start();
    await hb.start();
    await a.node.dial(b.node.getMultiaddrs()[0]);
    const id = b.node.peerId.toString();
    ha.watch(id);
    await waitFor(() => ha.status(id) === "alive" && counters.get(7, id).failures === 0, 15_000, "alive");
    const failed = new Promise<number>((resolve) =>
      ha.addEventListener("peer:failed", () => resolve(Date.now()), { once: true }),
    );
    await hb.stop();
    const stoppedAt = Date.now();
    await b.node.stop();
    const at = await failed;
    const bound = K * INTERVAL_MS + 150 + INTERVAL_MS; // + one interval of phase
    assert.ok(at - stoppedAt <= bound + 300, `detected after ${at - stoppedAt} ms, bound ${bound} ms`);
    assert.equal(ha.status(id), "failed");
    assert.equal(counters.get(7, id).failures, 1);
  });

  it("persists per-epoch task outcome counters across a store reopen", async () => {
    keepers.push(await startNode());
    const { path, store } = tempStore();
    const h = health()({
      node: keepers[0].node,
      logger: silent,
      counters: new HealthCounters(store),
      currentEpoch: () => 3,
    });
    h.reportTaskOutcome("peerA", true);
    h.reportTaskOutcome("peerA", true);
    h.reportTaskOutcome("peerA", false);
    h.reportTaskOutcome("peerB", false);
    store.close();
    const reopened = openStore(path);
    stores.push(reopened);
    const counters = new HealthCounters(reopened);
    assert.deepEqual(counters.reports(3), [
      { peerId: "peerA", successes: 2, failures: 1 },
      { peerId: "peerB", successes: 0, failures: 1 },
    ]);
    assert.deepEqual(counters.reports(4), []);
  });

  it("rejects malformed and oversized heartbeats with a logged reason, bans the sender, and keeps serving", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [server, attacker, honest] = keepers;
    const { log, lines } = collectingLogger();
    const counters = new HealthCounters(tempStore().store);
    const hs = health()({
      node: server.node,
      logger: log,
      counters,
      currentEpoch: () => 1,
      penalise: (p, err) => server.bans.ban(p, err.message),
    });
    const hh = health()({ node: honest.node, logger: silent, counters, currentEpoch: () => 1 });
    services.push(hs, hh);
    await hs.start();

    // The attacker's side may see its stream reset or its connection closed by the ban: retry, ignore.
    const send = async (bytes: Uint8Array) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const s = await attacker.node.dialProtocol(server.node.getMultiaddrs()[0], HEALTH_PROTOCOL);
          s.send(bytes);
          await s.close().catch(() => {});
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    await send(Uint8Array.from([...encodeVarint(1_000_000), 1, 2, 3])); // oversized length prefix
    await waitFor(() => lines.some((l) => l.code === "ERR_MESSAGE_TOO_LARGE"), 15_000, "oversize rejection");
    assert.ok(server.bans.isBanned(attacker.node.peerId), "oversize sender is banned");
    server.bans.unban(attacker.node.peerId);
    await send(Uint8Array.from([3, 0xff, 0xff, 0xff])); // not protobuf
    await waitFor(() => lines.some((l) => l.code === "ERR_MALFORMED_MESSAGE"), 15_000, "malformed rejection");
    server.bans.unban(attacker.node.peerId);
    await send(Uint8Array.from([0])); // empty heartbeat: seq 0
    await waitFor(() => lines.some((l) => l.code === "ERR_INVALID_FIELD"), 15_000, "invalid field rejection");
    for (const l of lines.filter((x) => x.msg === "heartbeat rejected")) {
      assert.equal(typeof l.reason, "string", "every rejection carries a reason");
    }
    // Still serving: an honest peer's heartbeat is answered.
    const rtt = await hh.heartbeat(server.node.peerId.toString()).catch(async () => {
      await honest.node.dial(server.node.getMultiaddrs()[0]);
      return hh.heartbeat(server.node.peerId.toString());
    });
    assert.ok(rtt >= 0);
  });
});
