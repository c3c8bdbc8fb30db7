/**
 * The audit module's pure parts: the schedule (exponential gaps, reproducible from the seed), the verdict on
 * one audit, the per-epoch disqualification rule, the measured bandwidth and routing's B_i rule, signed
 * outcomes, the target table, and C_i with a disqualified provider.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import {
  auditTimes,
  AuditTargets,
  auditVerdicts,
  decodeAuditOutcome,
  disqualifiedProviders,
  judge,
  MeasuredBandwidth,
  nextGapMs,
  seededRandom,
  signAuditOutcome,
  verifyAuditOutcome,
  type JudgedAudit,
} from "../../../keeper/audit/index.ts";
import { computeContributions } from "../../../keeper/epochs/collect/contribution.ts";
import { effectiveBandwidth } from "../../../keeper/routing/index.ts";

describe("audit schedule", () => {
  it("is the same for the same seed and differs for another", () => {
    const a = auditTimes(seededRandom(42), 6, 50);
    const b = auditTimes(seededRandom(42), 6, 50);
    const c = auditTimes(seededRandom(43), 6, 50);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("has exponential gaps with mean 1/rate", () => {
    const random = seededRandom(7);
    const gaps = Array.from({ length: 20_000 }, () => nextGapMs(random, 6)!);
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    // 6 per hour: 600 s on average; the standard error of 20,000 draws is ≈ 0.7 %.
    assert.ok(Math.abs(mean - 600_000) < 600_000 * 0.03, `mean gap ${mean} ms`);
    // Memoryless: P(gap > mean) = e^-1 ≈ 0.368, not ½ as with uniform gaps.
    const above = gaps.filter((g) => g > 600_000).length / gaps.length;
    assert.ok(Math.abs(above - Math.exp(-1)) < 0.02, `share above the mean ${above}`);
    // Coefficient of variation 1 (exponential), not ≈ 0 (a fixed period an operator could learn).
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    assert.ok(Math.abs(sd / mean - 1) < 0.05, `cv ${sd / mean}`);
  });

  it("does not audit at rate 0", () => {
    assert.equal(nextGapMs(seededRandom(1), 0), undefined);
  });
});

describe("judge", () => {
  const rule = { minThroughputRatio: 0.25 };
  it("passes a fetch at or near the announced bandwidth", () => {
    assert.equal(judge({ bytes: 1_000_000, elapsedMs: 1_000 }, 2_000_000, rule), "pass");
  });
  it("fails a fetch below a quarter of the announced bandwidth as slow", () => {
    assert.equal(judge({ bytes: 1_000_000, elapsedMs: 1_000 }, 5_000_000, rule), "slow");
  });
  it("classifies transfer failures", () => {
    const m = (errorCode: string) => ({ bytes: 0, elapsedMs: 5, errorCode });
    assert.equal(judge(m("ERR_PART_CHECKSUM"), 1, rule), "corrupt");
    assert.equal(judge(m("ERR_REMOTE_ERROR"), 1, rule), "refused");
    assert.equal(judge(m("ERR_PART_TIMEOUT"), 1, rule), "slow");
    assert.equal(judge(m("ERR_AUDIT_TIMEOUT"), 1, rule), "slow");
    assert.equal(judge(m("ERR_UNKNOWN"), 1, rule), "unreachable");
  });
});

describe("disqualification rule", () => {
  const rule = { minFailures: 2, failureRatio: 0.5 };
  const audit = (hash: string, provider: string, ok: boolean): JudgedAudit => ({
    hash,
    provider,
    outcome: ok ? "pass" : "corrupt",
  });

  it("needs both the minimum failures and the failure share", () => {
    const audits = [
      audit("a1", "A", false), // one failure only: kept
      audit("a2", "A", true),
      audit("b1", "B", false), // two failures of two: disqualified
      audit("b2", "B", false),
      audit("c1", "C", false), // two failures of five: below half, kept
      audit("c2", "C", false),
      audit("c3", "C", true),
      audit("c4", "C", true),
      audit("c5", "C", true),
    ];
    assert.deepEqual([...disqualifiedProviders(audits, rule)], ["B"]);
    assert.deepEqual(
      auditVerdicts(audits, rule).map((v) => [v.provider, v.audits, v.failures, v.disqualified]),
      [
        ["A", 2, 1, false],
        ["B", 2, 2, true],
        ["C", 5, 2, false],
      ],
    );
  });

  it("counts an outcome once however often it appears", () => {
    assert.equal(disqualifiedProviders([audit("x", "A", false), audit("x", "A", false)], rule).size, 0);
  });
});

describe("measured bandwidth and routing's B_i", () => {
  it("is an EWMA of passing and slow audits; refusals do not move it", () => {
    const m = new MeasuredBandwidth(0.5);
    m.add("P", "pass", 1000);
    m.add("P", "refused", 0);
    assert.equal(m.get("P"), 1000);
    m.add("P", "slow", 200);
    assert.equal(m.get("P"), 600);
    assert.equal(m.get("Q"), undefined);
  });

  it("B_i is the announced figure capped by the measured one", () => {
    assert.equal(effectiveBandwidth(1000, undefined), 1000);
    assert.equal(effectiveBandwidth(1000, 300), 300);
    assert.equal(effectiveBandwidth(1000, 5000), 1000);
  });
});

describe("signed audit outcomes", () => {
  it("verify under the auditor's key and fail when altered", async () => {
    const key = await generateKeyPair("Ed25519");
    const auditor = peerIdFromPrivateKey(key).toString();
    const signed = await signAuditOutcome(key, {
      auditor,
      provider: "12D3KooWProvider",
      objectId: "ab".repeat(32),
      epoch: 3,
      startedAtMs: 1_700_000_000_000,
      bytes: 1024,
      elapsedMs: 10,
      firstByteMs: 4,
      throughputBps: 102_400,
      announcedBps: 1_000_000,
      outcome: "slow",
      code: "",
    });
    const o = await verifyAuditOutcome(signed);
    assert.equal(o.provider, "12D3KooWProvider");
    assert.equal(o.outcome, "slow");
    const forged = new TextEncoder().encode(new TextDecoder().decode(signed.body).replace('"slow"', '"pass"'));
    assert.equal(decodeAuditOutcome(forged).outcome, "pass");
    await assert.rejects(verifyAuditOutcome({ body: forged, signature: signed.signature }), /signature/);
  });
});

describe("audit targets", () => {
  it("pick uniformly over providers, never self, and stay bounded", () => {
    const t = new AuditTargets(3);
    t.learn("A", "o1", 10);
    t.learn("A", "o2", 10);
    t.learn("B", "o3", 10);
    t.learn("self", "o4", 10); // evicts A/o1
    assert.equal(t.size, 3);
    const random = seededRandom(5);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(t.pick(random, "self")!.provider);
    assert.deepEqual([...seen].sort(), ["A", "B"]);
  });
});

describe("C_i with audits", () => {
  it("a disqualified provider's receipts count nothing; others keep theirs", () => {
    const addressOf = (p: string) =>
      ({ A: "0x00000000000000000000000000000000000000aa", B: "0x00000000000000000000000000000000000000bb" })[p];
    const receipts = [
      { hash: "0x1", provider: "A", consumer: "C", bytes: 100n },
      { hash: "0x2", provider: "B", consumer: "C", bytes: 200n },
    ];
    const all = computeContributions({ receipts, outcomes: [], addressOf });
    assert.equal(all.length, 2);
    const judged = computeContributions({ receipts, outcomes: [], addressOf, disqualified: new Set(["A"]) });
    assert.deepEqual(
      judged.map((c) => [c.account.toLowerCase(), c.contribution]),
      [["0x00000000000000000000000000000000000000bb", 200n]],
    );
  });
});
