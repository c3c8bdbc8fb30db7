/**
 * Audits on real components: libp2p nodes on 127.0.0.1, the transfer service serving and fetching, node:sqlite
 * stores, the epoch collector. An honest provider passes; one that serves corrupt parts, refuses or is
 * throttled far below its announced B_i fails, gets failure counts in the Reputation outcomes and loses its
 * epoch's credit (its receipts are still the epoch's evidence, counted for nothing); routing's B_i follows the
 * measured figure; the schedule is random but reproducible from the seed; an audit's request frames have the
 * same fields and shape as a customer's.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { multiaddr } from "@multiformats/multiaddr";

import {
  AUDIT_DONE,
  AUDIT_SCHEDULED,
  Auditor,
  nextGapMs,
  seededRandom,
  verifyAuditOutcome,
  type AuditorInit,
  type FetchStream,
  type StoredAuditOutcome,
} from "../../../keeper/audit/index.ts";
import { buildEpoch } from "../../../keeper/epochs/build.ts";
import { epochCollector } from "../../../keeper/epochs/collect/collector.ts";
import { parseEvidence, recompute } from "../../../keeper/epochs/proofs/evidence.ts";
import { publishEpoch } from "../../../keeper/epochs/proofs/publish.ts";
import { signPeerRecord } from "../../../keeper/discovery/record.ts";
import { HealthCounters } from "../../../keeper/health/counters.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { routingFeed } from "../../../keeper/routing/feed.ts";
import type { NodeView } from "../../../keeper/types.ts";
import { Harness, randomData, type Peer } from "../transfer/helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const PART = 64 * KiB;
const silent = createLogger("test", { level: "silent" });
const ACCOUNT_BAD = "0x00000000000000000000000000000000000000b1";
const ACCOUNT_GOOD = "0x00000000000000000000000000000000000000a1";

let harness: Harness;
const auditors: Auditor[] = [];

afterEach(async () => {
  await Promise.all(auditors.splice(0).map((a) => a.stop()));
  await harness?.cleanup();
});

/** An auditor on `consumer`, fetching through its transfer service's public stream API. */
function auditorOn(
  consumer: Peer,
  options: {
    init?: AuditorInit;
    announced?: (peerId: string) => number | undefined;
    counters?: HealthCounters;
    epoch?: () => number;
    fetchStream?: FetchStream;
  } = {},
): Auditor {
  const a = new Auditor(
    {
      self: consumer.id,
      privateKey: consumer.privateKey,
      store: consumer.store,
      logger: silent,
      fetchStream: options.fetchStream ?? ((id, o) => consumer.transfer.fetchStream(id, o)),
      announcedBandwidth: options.announced ?? (() => undefined),
      currentEpoch: options.epoch ?? (() => 1),
      onOutcome: (o) => options.counters?.record(o.epoch, o.provider, o.outcome === "pass"),
    },
    { ratePerHour: 0, seed: 1, minBytes: 256 * KiB, maxBytes: 512 * KiB, timeoutMs: 20_000, ...options.init },
  );
  auditors.push(a);
  return a;
}

/** A provider serving `size` random bytes in 64 KiB parts, known to `consumer` by address. */
async function provider(consumer: Peer, size: number, peerOptions: Parameters<Harness["peer"]>[0] = {}) {
  const p = await harness.peer({ ...peerOptions, init: { partSize: PART, ...peerOptions.init } });
  const data = randomData(size);
  const published = await p.transfer.publish(await harness.file(data), { announce: false });
  await consumer.node.dial(multiaddr(p.addr));
  return { peer: p, objectId: published.objectId, size, data };
}

describe("audits", () => {
  it("an honest provider passes, and the audit signs no receipt", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const p = await provider(consumer, 1 * MiB);
    // A low announcement: the machine running the tests is shared, and a pass only needs a quarter of it.
    const auditor = auditorOn(consumer, { announced: () => 128 * KiB });
    const o = await auditor.audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
    assert.equal(o.outcome, "pass", `outcome ${o.outcome}`);
    const signed = await verifyAuditOutcome(o);
    assert.equal(signed.auditor, consumer.id);
    assert.equal(signed.provider, p.peer.id);
    assert.ok(signed.bytes >= 256 * KiB && signed.bytes <= 1 * MiB, `bytes ${signed.bytes}`);
    assert.ok(signed.throughputBps > 0 && signed.firstByteMs >= 0);
    assert.deepEqual(consumer.transfer.receipts(), [], "an audit never completes a fetch, so signs no receipt");
    assert.deepEqual(auditor.stats(), { pass: 1, corrupt: 0, refused: 0, slow: 0, unreachable: 0 });
    assert.equal(auditor.outcomes(1).length, 1, "stored under its epoch");
  });

  it("reads a whole small object and still signs no receipt: it stops at the last byte, before completion", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const p = await provider(consumer, 200 * KiB);
    const o = await auditorOn(consumer).audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
    assert.equal(o.outcome, "pass");
    assert.equal((await verifyAuditOutcome(o)).bytes, 200 * KiB, "every byte read and verified");
    assert.deepEqual(consumer.transfer.receipts(), []);
  });

  it("reads random parts of the object, not its beginning: a provider keeping only a prefix fails", async (t) => {
    // The auditor's seed (printed; LUMORA_TEST_SEED overrides it): offsets and amounts are drawn from it.
    const seed = Number(process.env.LUMORA_TEST_SEED ?? 11);
    t.diagnostic(`seed ${seed}`);
    harness = new Harness();
    const consumer = await harness.peer();
    // 4 MiB in 64 parts; the provider still serves its first 8 parts (512 KiB, the most one audit reads) right,
    // and garbage after them — what a provider that dropped all but the beginning of an object would send.
    const kept = 8;
    const p = await provider(consumer, 4 * MiB, {
      testHooks: { tamper: (i, bytes) => (i >= kept && (bytes[0] ^= 1), bytes) },
    });
    const ranges: Array<{ offset: number; length: number }> = [];
    const auditor = auditorOn(consumer, {
      init: { seed },
      fetchStream: (id, o) => {
        ranges.push(o.range!);
        return consumer.transfer.fetchStream(id, o);
      },
    });
    let beyond = 0;
    for (let i = 0; i < 8; i++) {
      const o = await auditor.audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
      const { offset, length } = ranges[i]!;
      assert.ok(offset >= 0 && offset + length <= p.size, `audit ${i}: range ${offset}+${length} inside the object`);
      const reachesBeyond = Math.ceil((offset + length) / PART) > kept;
      if (reachesBeyond) beyond++;
      assert.equal(o.outcome, reachesBeyond ? "corrupt" : "pass", `audit ${i}: range ${offset}+${length}`);
    }
    assert.ok(beyond > 0, `some of the 8 audits read beyond the first ${kept} parts (seed ${seed})`);
    assert.deepEqual(consumer.transfer.receipts(), [], "and none signed a receipt");
  });

  it("a provider serving corrupt parts fails as corrupt", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const p = await provider(consumer, 1 * MiB, {
      testHooks: { tamper: (_i, bytes) => ((bytes[0] ^= 1), bytes) },
    });
    const o = await auditorOn(consumer).audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
    assert.equal(o.outcome, "corrupt");
    assert.equal((await verifyAuditOutcome(o)).code, "ERR_PART_CHECKSUM");
  });

  it("a provider that stopped serving its announced object fails as refused", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const p = await provider(consumer, 1 * MiB);
    p.peer.transfer.unpublish(p.objectId);
    const o = await auditorOn(consumer).audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
    assert.equal(o.outcome, "refused");
  });

  it("a provider throttled far below its announced B_i fails as slow, and routing's B_i follows the measurement", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    // 64 KiB every 100 ms: ≈ 640 KiB/s, announced 50 MiB/s.
    const p = await provider(consumer, 1 * MiB, {
      testHooks: { beforeServe: () => new Promise((r) => setTimeout(r, 100)) },
    });
    const announced = 50 * MiB;
    const auditor = auditorOn(consumer, { announced: () => announced });
    const o = await auditor.audit({ provider: p.peer.id, objectId: p.objectId, size: p.size });
    assert.equal(o.outcome, "slow");
    assert.ok(o.throughputBps < 0.25 * announced, `throughput ${o.throughputBps}`);
    const measured = auditor.measuredBandwidth(p.peer.id)!;
    assert.equal(measured, o.throughputBps);

    const upserted: NodeView[] = [];
    const feed = routingFeed({})({
      logger: silent,
      self: consumer.id,
      records: () => [
        {
          peerId: p.peer.id,
          bandwidthBps: announced,
          capacity: 4,
          load: 0,
          shard: 0,
          capabilities: ["provider"],
          rewardAddress: ACCOUNT_BAD,
        } as never,
      ],
      health: { status: () => "alive", watch: () => {} },
      proximity: { view: () => ({ samples: 0 }) },
      isFlagged: () => false,
      measuredBandwidth: (peerId) => auditor.measuredBandwidth(peerId),
      table: { upsert: (v) => void upserted.push(v), remove: () => undefined },
    });
    await feed.refresh();
    assert.equal(upserted[0].bandwidth, measured, "B_i = min(announced, measured)");
  });

  it("a provider failing its audits gets failure counts and loses the epoch's credit; an honest one keeps it", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    let corrupt = false;
    const bad = await provider(consumer, 512 * KiB, {
      testHooks: { tamper: (_i, bytes) => (corrupt && (bytes[0] ^= 1), bytes) },
    });
    const good = await provider(consumer, 512 * KiB);
    const counters = new HealthCounters(consumer.store);
    const addressOf = (peerId: string) =>
      peerId === bad.peer.id ? ACCOUNT_BAD : peerId === good.peer.id ? ACCOUNT_GOOD : undefined;
    // The providers' signed peer records (what binds a peer to its account in the published evidence).
    const now = Date.now();
    const records = new Map<string, Uint8Array>();
    for (const p of [bad.peer, good.peer])
      records.set(
        p.id,
        await signPeerRecord(p.privateKey, {
          seq: 1n,
          issuedAtMs: now,
          expiresAtMs: now + 3_600_000,
          capabilities: ["provider"],
          bandwidthBps: 10 * MiB,
          capacity: 4,
          load: 0,
          shard: 0,
          rewardAddress: addressOf(p.id)!,
          addrs: [p.addr.split("/p2p/")[0]],
        }),
      );
    // The collector's first epoch starts now: the receipts below fall in it.
    const collector = epochCollector({ rewardPerEpoch: 1000n })({
      store: consumer.store,
      logger: silent,
      addressOf,
      counters,
      recordOf: (peerId) => records.get(peerId),
      auditsBetween: (from, to) => auditor.between(from, to),
    });
    // Customers' fetches: both providers earn receipts while they serve honestly.
    const dir = await harness.dir();
    await consumer.transfer.fetch(bad.objectId, { providers: [bad.peer.addr], to: join(dir, "bad") });
    await consumer.transfer.fetch(good.objectId, { providers: [good.peer.addr], to: join(dir, "good") });
    assert.equal(consumer.transfer.receipts().length, 2);
    const auditor = auditorOn(consumer, { counters, epoch: () => collector.currentEpoch() });
    corrupt = true;
    const outcomes: StoredAuditOutcome[] = [];
    outcomes.push(await auditor.audit({ provider: bad.peer.id, objectId: bad.objectId, size: bad.size }));
    outcomes.push(await auditor.audit({ provider: bad.peer.id, objectId: bad.objectId, size: bad.size }));
    outcomes.push(await auditor.audit({ provider: good.peer.id, objectId: good.objectId, size: good.size }));
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ["corrupt", "corrupt", "pass"],
    );

    const bundle = await collector.close({ endMs: Date.now() + 1 });
    assert.equal(bundle.receiptHashes?.length, 2, "both receipts are the epoch's evidence");
    assert.deepEqual(bundle.disqualified, [bad.peer.id]);
    assert.deepEqual(
      bundle.contributions.map((c) => c.account.toLowerCase()),
      [ACCOUNT_GOOD],
      "the disqualified provider's receipt counts nothing",
    );
    const reputation = new Map(bundle.reputation.map((r) => [r.node.toLowerCase(), r]));
    assert.equal(reputation.get(ACCOUNT_BAD)?.failures, 2, "two failed audits, two failures for Reputation");
    assert.equal(reputation.get(ACCOUNT_GOOD)?.successes, 1);

    // The publication carries the audits and the rule: the exclusion is recomputed from published data alone.
    const publishDir = await harness.dir();
    await publishEpoch(await buildEpoch(bundle), publishDir, { evidence: collector.evidence(bundle.epoch) });
    const text = await readFile(join(publishDir, String(bundle.epoch), "evidence.json"), "utf8");
    const evidence = parseEvidence(JSON.parse(text), bundle.epoch);
    assert.equal(evidence.audits?.length, 3);
    assert.deepEqual(evidence.auditRule, { minFailures: 2, failureRatio: 0.5 });
    const again = await recompute(evidence, bundle.endMs);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.disqualified, [bad.peer.id]);
    assert.deepEqual(
      again.contributions.map((c) => [c.account.toLowerCase(), c.contribution]),
      bundle.contributions.map((c) => [c.account.toLowerCase(), c.contribution]),
      "the published evidence gives the committed contributions",
    );
  });

  it("schedules at random times reproducible from the seed", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const rate = 36_000; // a mean gap of 100 ms: quick, and still random
    const gapsOf = async (seed: number, n: number) => {
      const a = auditorOn(consumer, { init: { ratePerHour: rate, seed } });
      const gaps: number[] = [];
      const done = new Promise<void>((resolve) =>
        a.addEventListener(AUDIT_SCHEDULED, (e) => {
          gaps.push((e as CustomEvent<number>).detail);
          if (gaps.length === n) resolve();
        }),
      );
      a.start();
      await done;
      await a.stop();
      return gaps;
    };
    const first = await gapsOf(11, 6);
    const again = await gapsOf(11, 6);
    const other = await gapsOf(12, 6);
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
    const pure = seededRandom(11);
    assert.deepEqual(
      first,
      Array.from({ length: 6 }, () => nextGapMs(pure, rate)),
      "the service draws exactly the pure schedule",
    );
  });

  it("runs on its schedule against the targets it learned from transfer requests", async () => {
    harness = new Harness();
    const consumer = await harness.peer();
    const p = await provider(consumer, 256 * KiB);
    const auditor = auditorOn(consumer, { init: { ratePerHour: 360_000, seed: 3 } });
    auditor.learnRequest({ objectId: p.objectId, size: p.size, providers: [p.peer.addr] });
    const done = new Promise<StoredAuditOutcome>((resolve) =>
      auditor.addEventListener(AUDIT_DONE, (e) => resolve((e as CustomEvent<StoredAuditOutcome>).detail), {
        once: true,
      }),
    );
    auditor.start();
    const o = await done;
    assert.equal(o.provider, p.peer.id);
    assert.equal(o.outcome, "pass");
  });
});
