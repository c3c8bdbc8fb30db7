/**
 * An epoch's full evidence: what the collector counted, published in full (signed receipts, signed peer records,
 * health outcomes), recomputes to exactly the contributions and reports the collector committed — and any
 * change to it is named.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "node:test";

import { Wallet, ZeroHash } from "ethers";

import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import { signObservation } from "../../../../keeper/epochs/observe/observation.ts";
import { buildEpoch } from "../../../../keeper/epochs/build.ts";
import type { BondSnapshot } from "../../../../keeper/epochs/collect/collector.ts";
import { SHARE_SCALE } from "../../../../keeper/epochs/collect/constants.ts";
import { EVIDENCE_FILE } from "../../../../keeper/epochs/proofs/constants.ts";
import { encodeEvidence, evidenceHash, parseEvidence, recompute } from "../../../../keeper/epochs/proofs/evidence.ts";
import { epochDir, publishEpoch, readFullEvidence } from "../../../../keeper/epochs/proofs/publish.ts";
import { DirectoryProofSource } from "../../../../keeper/epochs/proofs/source.ts";
import { receiptId } from "../../../../keeper/transfer/receipt.ts";
import { peer, world, type EpochWorld, type Peer } from "../fixtures.ts";

async function recordOf(p: Peer, at: number, rewardAddress = p.address): Promise<Uint8Array> {
  return signPeerRecord(p.key, {
    seq: 1n,
    issuedAtMs: at - 60_000,
    expiresAtMs: at + 600_000,
    capabilities: ["provider"],
    bandwidthBps: 1_000_000,
    capacity: 1,
    load: 0,
    shard: 0,
    rewardAddress,
    addrs: ["/ip4/127.0.0.1/tcp/1"],
  });
}

describe("epochs/proofs/evidence", () => {
  const worlds: EpochWorld[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const w of worlds.splice(0)) w.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** An epoch with three providers (one of them its own consumer), health outcomes and records. */
  async function closedEpoch(bonds?: (p: { p1: Peer; p2: Peer; p3: Peer }) => BondSnapshot) {
    const now = Date.now();
    const [consumer, p1, p2, p3, unknown] = await Promise.all([peer(1), peer(2), peer(3), peer(4), peer(5)]);
    const records = new Map<string, Uint8Array>();
    for (const p of [consumer, p1, p2, p3]) records.set(p.id, await recordOf(p, now));
    // The bonds a registry answers (the registry itself: test/keeper/epochs/collect/collector-bonds.test.ts).
    const snapshot = bonds?.({ p1, p2, p3 });
    const w = world(
      { genesisMs: now - 10_000 },
      {
        recordOf: (id) => records.get(id),
        ...(snapshot !== undefined && { bondsOf: () => Promise.resolve(snapshot) }),
      },
    );
    worlds.push(w);
    for (const p of [consumer, p1, p2, p3]) w.addresses.set(p.id, p.address);
    await w.receipt(consumer, p1, 1_000, now - 5_000);
    await w.receipt(consumer, p2, 3_000, now - 4_000);
    await w.receipt(consumer, p2, 500, now - 3_000);
    await w.receipt(p3, p3, 9_999, now - 3_000); // self-dealing: counts nothing
    await w.receipt(consumer, unknown, 7_777, now - 2_000); // no account: held, not evidence
    if (snapshot !== undefined) await w.receipt(consumer, p3, 2_000, now - 2_500); // p3 serves, unbonded
    w.counters.record(1, p1.id, true);
    w.counters.record(1, p2.id, false);
    w.counters.record(1, p2.id, true);
    const bundle = await w.collector.close({ endMs: now });
    return { w, bundle, evidence: w.collector.evidence(bundle.epoch), p1, p2, p3, consumer, now };
  }

  it("recomputes exactly the contributions and reports the collector committed", async () => {
    const { bundle, evidence, now } = await closedEpoch();
    assert.equal(evidence.receipts.length, 4, "the four receipts with known accounts are evidence");
    assert.deepEqual(
      evidence.receipts.map((r) => receiptId(r.body)).sort(),
      [...(bundle.receiptHashes ?? [])].sort(),
      "the same receipt ids the epoch lists",
    );
    const again = await recompute(parseEvidence(JSON.parse(encodeEvidence(bundle.epoch, evidence)), 1), now);
    assert.deepEqual(again.problems, []);
    const computed = again.contributions.map((c) => [c.account, c.contribution]);
    assert.deepEqual(
      computed,
      bundle.contributions.map((c) => [c.account, c.contribution]),
      "C_i from the evidence alone equals the collector's",
    );
    assert.deepEqual(again.reports, bundle.reputation, "and so do the Reputation reports");
  });

  it("carries the frozen bonds and recomputes the bond rule exactly (unbonded dropped, shares saturated, R')", async () => {
    // p1 bonded 1 000, p2 bonded 1 000 (its 3 500 bytes weigh more than p1's 1 000: capped at 1/2); p3 serves
    // 2 000 bytes to the consumer but is not bonded.
    const { bundle, evidence, p1, p2, p3, now } = await closedEpoch(({ p1, p2, p3 }) => ({
      minBond: 1_000n,
      // A registry read names every account asked, p3 with no bond.
      bonds: new Map([
        [p1.address, 1_000n],
        [p2.address, 1_000n],
        [p3.address, 0n],
      ]),
    }));
    assert.ok(evidence.bonds !== undefined, "the evidence carries the bond rule");
    assert.equal(evidence.bonds.minBond, 1_000n);
    assert.ok(
      bundle.contributions.every((c) => c.account !== p3.address),
      "p3 is unbonded: not credited",
    );
    const committed = new Map(bundle.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(committed.get(p2.address), SHARE_SCALE / 2n, "p2 capped at its bond share");
    assert.ok(committed.get(p1.address)! < SHARE_SCALE / 2n, "p1 under its cap: its contribution share");
    const again = await recompute(parseEvidence(JSON.parse(encodeEvidence(bundle.epoch, evidence)), 1), now);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(
      again.contributions.map((c) => [c.account, c.contribution]),
      bundle.contributions.map((c) => [c.account, c.contribution]),
      "C'_i from the evidence alone equals the collector's",
    );
    assert.deepEqual(again.reports, bundle.reputation, "and so do the reports (bonded accounts only)");
    assert.equal(again.rewardTotal, bundle.rewardTotal, "and R_total");
    assert.ok(bundle.rewardTotal < 1000n, "the cap withheld part of R");

    // A bond raised after the fact changes what the evidence yields (the verifier compares it with rewards.json).
    const raised = structuredClone(evidence);
    raised.bonds!.accounts = raised.bonds!.accounts.map((x) => (x.account === p2.address ? { ...x, bond: 9_000n } : x));
    const r = await recompute(raised, now);
    assert.notEqual(r.contributions.find((c) => c.account === p2.address)?.contribution, committed.get(p2.address));
    // Evidence without the bonds is the ungated rule: it credits p3 too, which rewards.json does not.
    const stripped = structuredClone(evidence);
    delete stripped.bonds;
    const u = await recompute(stripped, now);
    assert.ok(u.contributions.some((c) => c.account === p3.address));
    assert.ok(committed.has(p1.address));
  });

  it("names a forged receipt, a record for another peer and a changed amount", async () => {
    const { bundle, evidence, p1, p2, now } = await closedEpoch();
    // A receipt whose body was changed after its consumer signed it.
    const forged = structuredClone(evidence);
    const body = forged.receipts[0]!.body;
    body[body.length - 1] ^= 1;
    const a = await recompute(forged, now);
    assert.ok(
      a.problems.some((p) => /signature does not verify|does not decode/.test(p)),
      a.problems.join("\n"),
    );
    // p1's slot holds a record signed by p2 (an attempt to move p1's credit to p2's account).
    const swapped = structuredClone(evidence);
    const i = swapped.records.findIndex((r) => r.peerId === p1.id);
    swapped.records[i] = { peerId: p1.id, record: await recordOf(p2, now) };
    const b = await recompute(swapped, now);
    assert.ok(
      b.problems.some((p) => p.includes(`record listed for ${p1.id} is signed by ${p2.id}`)),
      b.problems.join("\n"),
    );
    // Changed outcomes change the reports the evidence yields (the verifier compares them with epoch.json).
    const outcomes = structuredClone(evidence);
    outcomes.outcomes = outcomes.outcomes.map((o) => ({ ...o, failures: o.failures + 1 }));
    const c = await recompute(outcomes, now);
    assert.notDeepEqual(c.reports, bundle.reputation);
  });

  it("merges the reports from the published signed observations, and names a forged or unsigned one", async () => {
    const { bundle, evidence, p1, p2, now } = await closedEpoch();
    const keepers = [1, 2, 3].map((i) => new Wallet("0x" + (0xc0 + i).toString(16).padStart(64, "0")));
    const domain = { chainId: 31337, quorum: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
    const sign = (k: Wallet, subject: Peer, successes: number, failures: number) =>
      signObservation(
        domain,
        {
          epoch: bundle.epoch,
          observer: k.address,
          subject: subject.id,
          account: subject.address,
          successes,
          failures,
        },
        (d) => k.signingKey.sign(d).serialized,
      );
    // Three keepers, three views: p2 healthy for two of them, all failures for the third (a liar, or unlucky).
    const observations = [
      sign(keepers[0]!, p1, 4, 0),
      sign(keepers[1]!, p1, 6, 1),
      sign(keepers[0]!, p2, 9, 0),
      sign(keepers[1]!, p2, 5, 0),
      sign(keepers[2]!, p2, 0, 30),
    ];
    const merged = { ...evidence, observations, observationRule: { maxFaulty: 1 }, observationDomain: domain };
    const text = encodeEvidence(bundle.epoch, merged);
    const again = await recompute(parseEvidence(JSON.parse(text), bundle.epoch), now);
    assert.deepEqual(again.problems, []);
    // p1: ratios 0 and 1/7 → the second worst is (4, 0); p2: 30/30, 0, 0 → (5, 0) or (9, 0), ties by observer.
    const p2Healthy = [keepers[0]!, keepers[1]!].sort((a, b) =>
      a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1,
    );
    const p2Report = p2Healthy[0] === keepers[0] ? { successes: 9, failures: 0 } : { successes: 5, failures: 0 };
    assert.deepEqual(
      again.reports,
      [
        { node: p1.address, successes: 4, failures: 0 },
        { node: p2.address, ...p2Report },
      ].sort((a, b) => (a.node.toLowerCase() < b.node.toLowerCase() ? -1 : 1)),
      "the merged reports, not the publishing keeper's own counts",
    );
    assert.notDeepEqual(again.reports, bundle.reputation);
    // A count changed after signing, and an observation signed by someone else than its observer.
    const forged = structuredClone(merged);
    forged.observations![0] = { ...forged.observations![0]!, successes: 0, failures: 4 };
    const stranger = Wallet.createRandom();
    forged.observations![1] = { ...forged.observations![1]!, signature: stranger.signingKey.sign(ZeroHash).serialized };
    const bad = await recompute(forged, now);
    assert.equal(bad.problems.length, 2, bad.problems.join("\n"));
    for (const problem of bad.problems) assert.match(problem, /not by its observer/);
    assert.deepEqual(
      bad.reports.find((r) => r.node === p1.address),
      undefined,
      "p1's two observations did not verify: it is not reported",
    );
    // Observations without the deployment they are signed for cannot be checked.
    const bare = await recompute({ ...merged, observationDomain: undefined }, now);
    assert.match(bare.problems.join("\n"), /without their rule or deployment/);
    // An equivocation (keeper 1 signed two outcomes of p2, both published, what a union round keeps): no fault of the
    // publication, and keeper 1 counts for neither — p2's merged outcome is then the second worst of keepers 0 and 2.
    const twice = { ...merged, observations: [...observations, sign(keepers[1]!, p2, 0, 9)] };
    const both = await recompute(parseEvidence(JSON.parse(encodeEvidence(bundle.epoch, twice)), bundle.epoch), now);
    assert.deepEqual(both.problems, []);
    assert.deepEqual(
      both.reports.find((r) => r.node === p2.address),
      { node: p2.address, successes: 9, failures: 0 },
      "p2 merged from keepers 0 and 2 only",
    );
    // The encoding orders the pair by signature: the evidence hash does not depend on the order held.
    const reversed = { ...twice, observations: [...twice.observations].reverse() };
    assert.equal(encodeEvidence(bundle.epoch, reversed), encodeEvidence(bundle.epoch, twice));
  });

  it("is published in full beside the dumps, its hash in epoch.json, and read back by a proof source", async () => {
    const { bundle, evidence } = await closedEpoch();
    const base = mkdtempSync(path.join(tmpdir(), "lumora-evidence-"));
    dirs.push(base);
    const summary = await publishEpoch(await buildEpoch(bundle), base, { evidence });
    const file = path.join(epochDir(base, bundle.epoch), EVIDENCE_FILE);
    const text = readFileSync(file, "utf8");
    assert.equal(summary.evidence?.format, "lumora-evidence-v2");
    assert.equal(summary.evidence?.hash, evidenceHash(text), "epoch.json binds the file's exact bytes");
    const read = await new DirectoryProofSource(base).fullEvidence(bundle.epoch);
    assert.equal(read?.receipts.length, evidence.receipts.length);
    assert.deepEqual(read?.ids, [...(bundle.receiptHashes ?? [])].sort());
    // A file that is not evidence is refused with the file's name, not taken as none.
    writeFileSync(file, JSON.stringify({ format: "lumora-evidence-v2", epoch: bundle.epoch, receipts: 1 }));
    await assert.rejects(readFullEvidence(base, bundle.epoch), new RegExp(EVIDENCE_FILE));
  });
});
