/**
 * The merge rule of signed health observations (keeper/epochs/observe/merge.ts) and their signatures: one lying
 * observer cannot flag a peer every honest keeper saw healthy, a peer one keeper alone observed is not reported,
 * the merged failure ratio always lies within the honest observers' [h_{f+1}, h_1] (random property), the result
 * does not depend on the order of the set, an equivocating observer counts for nothing, and a forged or foreign
 * signature does not verify.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Wallet, ZeroHash, concat, getAddress, keccak256 } from "ethers";

import { auditDisqualified, mergeObservations } from "../../../../keeper/epochs/observe/merge.ts";
import { evidenceHashOf } from "../../../../keeper/epochs/quorum/commitment.ts";
import {
  observationSetHash,
  parseObservation,
  signObservation,
  verifyObservation,
  type HealthObservation,
  type SignedObservation,
} from "../../../../keeper/epochs/observe/observation.ts";
import { ObservationInvalidError } from "../../../../keeper/epochs/observe/errors.ts";

const DOMAIN = { chainId: 31337, quorum: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const observers = Array.from({ length: 10 }, (_, i) => new Wallet("0x" + (i + 1).toString(16).padStart(64, "0")));
const ACCOUNT = getAddress("0x00000000000000000000000000000000000000a1");
const OTHER_ACCOUNT = getAddress("0x00000000000000000000000000000000000000b2");
const PEER = "12D3KooWHealthyPeerHealthyPeerHealthyPeerHealthy1";
const PEER_B = "12D3KooWSecondPeerSecondPeerSecondPeerSecondPeer2";

function observation(by: number, successes: number, failures: number, subject = PEER, account = ACCOUNT) {
  return { epoch: 4, observer: observers[by]!.address, subject, account, successes, failures };
}

function signed(o: HealthObservation, by = observers.find((w) => w.address === o.observer)!): SignedObservation {
  return signObservation(DOMAIN, o, (d) => by.signingKey.sign(d).serialized);
}

const ratio = (s: number, f: number) => f / (s + f);

/** Deterministic pseudo-random integers (xorshift), so a failure names its seed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe("epochs/observe: merge rule", () => {
  it("one observer's huge counts do not outweigh its account's other peers (sizes capped at the (f+1)-th total)", () => {
    // PEER fails 80 % of its tasks, PEER_B (same account) is healthy. The liar's view of PEER_B has a healthy ratio
    // between the honest ones', so it is the chosen pair, and a billion successes would hide PEER's failures.
    const set = [
      observation(0, 2, 8),
      observation(1, 2, 8),
      observation(0, 9, 1, PEER_B),
      observation(1, 10, 0, PEER_B),
      observation(2, 1_000_000_000, 1, PEER_B), // the liar
    ];
    const { reports } = mergeObservations(set, { maxFaulty: 1 });
    assert.equal(reports.length, 1);
    const r = reports[0]!;
    assert.ok(r.successes + r.failures <= 20, `the account's report counts ${r.successes + r.failures} outcomes`);
    assert.ok(ratio(r.successes, r.failures) >= 0.4, `the account's failure ratio ${ratio(r.successes, r.failures)}`);
  });

  it("one lying observer cannot flag a peer the honest keepers saw healthy (f = 1), with two or more observers", () => {
    for (const honest of [1, 2, 4]) {
      const set = [
        ...Array.from({ length: honest }, (_, i) => observation(i, 40 + i, 0)),
        observation(honest, 0, 1_000), // the liar: the peer failed every probe
      ];
      const { reports } = mergeObservations(set, { maxFaulty: 1 });
      assert.equal(reports.length, 1, `${honest} honest observers: the peer is reported`);
      assert.equal(reports[0]!.failures, 0, `${honest} honest observers: the liar's failures are not the report`);
    }
  });

  it("a peer only one keeper observed is not reported under f = 1, and is under f = 0", () => {
    const set = [observation(0, 0, 9)];
    assert.deepEqual(mergeObservations(set, { maxFaulty: 1 }).reports, []);
    assert.deepEqual(mergeObservations(set, { maxFaulty: 0 }).reports, [{ node: ACCOUNT, successes: 0, failures: 9 }]);
  });

  it("keeps the merged failure ratio within the honest observers' [h_(f+1), h_1] whatever f liars say (random)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const f = r(3);
      const honestCount = f + 1 + r(4);
      const set: HealthObservation[] = [];
      const honest: number[] = [];
      for (let i = 0; i < honestCount; i++) {
        const s = r(50);
        const fl = r(50) + (s === 0 ? 1 : 0);
        set.push(observation(i, s, fl));
        honest.push(ratio(s, fl));
      }
      for (let j = 0; j < f; j++) {
        const s = r(3) === 0 ? 0 : r(1_000);
        set.push(observation(honestCount + j, s, s === 0 ? 1 + r(1_000) : r(1_000)));
      }
      const { reports } = mergeObservations(set, { maxFaulty: f });
      assert.equal(reports.length, 1, `seed ${seed}: reported`);
      const merged = ratio(reports[0]!.successes, reports[0]!.failures);
      honest.sort((a, b) => b - a);
      assert.ok(merged <= honest[0]!, `seed ${seed}: merged ${merged} above the worst honest view ${honest[0]}`);
      assert.ok(merged >= honest[f]!, `seed ${seed}: merged ${merged} below h_(f+1) = ${honest[f]}`);
    }
  });

  it("gives the same reports whatever the order of the set, summed per account", () => {
    const set = [
      observation(0, 10, 1),
      observation(1, 8, 3),
      observation(2, 9, 0),
      observation(0, 5, 5, PEER_B),
      observation(1, 6, 4, PEER_B),
      observation(2, 1, 0, PEER, OTHER_ACCOUNT),
    ];
    const expected = mergeObservations(set, { maxFaulty: 1 });
    // PEER: ratios 1/11, 3/11, 0 → second worst is 1/11 (10, 1). PEER_B: 5/10, 4/10 → (6, 4). Summed: (16, 5).
    // The one observer naming PEER under OTHER_ACCOUNT is alone there: not reported.
    assert.deepEqual(expected.reports, [{ node: ACCOUNT, successes: 16, failures: 5 }]);
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const shuffled = [...set];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = r(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.deepEqual(mergeObservations(shuffled, { maxFaulty: 1 }), expected, `order ${seed}`);
    }
  });

  it("ignores an observer that signed two different outcomes of one peer", () => {
    const set = [observation(0, 10, 0), observation(1, 10, 0), observation(2, 0, 10), observation(2, 10, 0)];
    const merged = mergeObservations(set, { maxFaulty: 1 });
    assert.deepEqual(merged.equivocations, [`${observers[2]!.address.toLowerCase()}/${PEER}`]);
    assert.equal(merged.outcomes[0]!.observers, 2);
  });

  it("refuses observations of several epochs and a rule it cannot apply", () => {
    assert.throws(() =>
      mergeObservations([observation(0, 1, 0), { ...observation(1, 1, 0), epoch: 5 }], { maxFaulty: 1 }),
    );
    assert.throws(() => mergeObservations([], { maxFaulty: -1 }), /maxFaulty/);
  });
});

describe("epochs/observe: lost credit from the observers' audits", () => {
  const RULE = { minFailures: 2, failureRatio: 0.5 };
  const audited = (by: number, audits: number, auditFailures: number, subject = PEER) => ({
    ...observation(by, 10, auditFailures, subject),
    audits,
    auditFailures,
  });

  it("f liars neither take a healthy provider's credit nor dilute a failing one's; thin audits add up (f = 1)", () => {
    const f1 = { maxFaulty: 1 };
    // The liar signs 9 failed audits; the honest keepers' audits passed (an observer without audits is no input).
    assert.deepEqual(auditDisqualified([audited(0, 9, 9), audited(1, 4, 0), audited(2, 0, 0)], f1, RULE), []);
    // One keeper alone cannot be told from a liar: 3 of 3 failed at one keeper only takes nothing under f = 1…
    assert.deepEqual(auditDisqualified([audited(0, 3, 3), audited(1, 0, 0)], f1, RULE), []);
    // …and f = 0 trusts every observer (a single keeper): its own audits decide.
    assert.equal(auditDisqualified([audited(0, 2, 2)], { maxFaulty: 0 }, RULE).length, 1);
    // Audits spread thin over three keepers (2 of 2, 1 of 1, 1 of 1 failed): the worst report is dropped and the
    // rest pooled, 2 of 2 — per-keeper judging (≥ 2 failures each) would have taken nothing.
    assert.deepEqual(auditDisqualified([audited(0, 2, 2), audited(1, 1, 1), audited(2, 1, 1)], f1, RULE), [
      { provider: PEER, pooled: 2, audits: 2, failures: 2 },
    ]);
    // A liar's thousand passing audits count as one honest keeper's 3 (the cap): 3 failed of 6 still takes it.
    assert.deepEqual(auditDisqualified([audited(0, 3, 3), audited(1, 3, 3), audited(2, 1_000, 0)], f1, RULE), [
      { provider: PEER, pooled: 2, audits: 6, failures: 3 },
    ]);
    // Honest views of 2 of 4 and 0 of 3 failed pool to 2 of 7, below half: the provider keeps its credit.
    assert.deepEqual(auditDisqualified([audited(0, 9, 9), audited(1, 4, 2), audited(2, 3, 0)], f1, RULE), []);
  });

  it("an equivocating observer is no judge, and the result does not depend on the order of the set", () => {
    const set = [
      audited(0, 9, 9),
      audited(0, 9, 8),
      audited(1, 4, 4),
      audited(2, 2, 2, PEER_B),
      audited(3, 3, 3, PEER_B),
    ];
    const result = auditDisqualified(set, { maxFaulty: 1 }, RULE);
    assert.deepEqual(
      result.map((j) => j.provider),
      [PEER_B],
    );
    const next = rng(7);
    for (let n = 0; n < 20; n++) {
      const shuffled = [...set].sort(() => next(3) - 1);
      assert.deepEqual(auditDisqualified(shuffled, { maxFaulty: 1 }, RULE), result);
    }
  });

  it("the signature covers the audit counts", () => {
    const s = signed(audited(0, 4, 1));
    assert.doesNotThrow(() => verifyObservation(DOMAIN, s));
    assert.throws(() => verifyObservation(DOMAIN, { ...s, auditFailures: 4 }), ObservationInvalidError);
    assert.throws(() => verifyObservation(DOMAIN, { ...s, audits: 5 }), ObservationInvalidError);
    assert.throws(() => parseObservation({ ...s, audits: 1, auditFailures: 2 }), /more audit failures than audits/);
  });
});

describe("epochs/observe: signed observations", () => {
  it("verifies its observer's signature, and names a changed count, a foreign signer and another deployment", () => {
    const good = signed(observation(0, 7, 2));
    verifyObservation(DOMAIN, good);
    assert.deepEqual(parseObservation(JSON.parse(JSON.stringify(good))), good);
    assert.throws(() => verifyObservation(DOMAIN, { ...good, failures: 0 }), ObservationInvalidError);
    const foreign = signed(observation(0, 7, 2), observers[1]);
    assert.throws(() => verifyObservation(DOMAIN, foreign), /not by its observer/);
    assert.throws(() => verifyObservation({ ...DOMAIN, chainId: 1 }, good), /not by its observer/);
    assert.throws(
      () => verifyObservation(DOMAIN, { ...good, signature: "0x" + "00".repeat(65) }),
      ObservationInvalidError,
    );
  });

  it("refuses to sign or parse an observation that counts nothing or breaks a field", () => {
    assert.throws(() => signed(observation(0, 0, 0)), /counts nothing/);
    const good = signed(observation(0, 1, 0));
    assert.throws(() => parseObservation({ ...good, successes: -1 }), ObservationInvalidError);
    assert.throws(() => parseObservation({ ...good, signature: "0x12" }), ObservationInvalidError);
    assert.throws(() => parseObservation({ ...good, observer: "me" }), ObservationInvalidError);
  });

  it("hashes a set order-free, and tells a changed, added, dropped or re-signed observation (M-3)", () => {
    const set = [signed(observation(0, 7, 2)), signed(observation(1, 5, 5)), signed(observation(2, 9, 0, PEER_B))];
    const hash = observationSetHash(set);
    assert.match(hash, /^0x[0-9a-f]{64}$/);
    assert.equal(observationSetHash([...set].reverse()), hash, "order-free");
    assert.equal(observationSetHash(set.map((o) => ({ ...o, signature: o.signature.toUpperCase() }))), hash);
    assert.equal(observationSetHash([]), ZeroHash);
    assert.equal(observationSetHash(undefined), ZeroHash);
    const others = [
      [signed(observation(0, 7, 3)), set[1]!, set[2]!], // another outcome of one observer
      set.slice(0, 2), // one dropped
      [...set, signed(observation(3, 1, 0))], // one added
      [...set, signed(observation(0, 7, 2, PEER_B))], // an equivocation's second observation
      [{ ...set[0]!, signature: signed(observation(0, 7, 2), observers[4]).signature }, set[1]!, set[2]!],
    ];
    for (const other of others) assert.notEqual(observationSetHash(other), hash);
    // The evidence hash: the receipts' hash alone without a set, else bound to the set.
    const receipts = [keccak256("0x01"), keccak256("0x02")];
    const receiptsOnly = evidenceHashOf(receipts);
    assert.equal(receiptsOnly, keccak256(concat([...receipts].sort())));
    assert.equal(evidenceHashOf(receipts, ZeroHash), receiptsOnly);
    assert.equal(evidenceHashOf(receipts, hash), keccak256(concat([receiptsOnly, hash])));
    assert.equal(evidenceHashOf([], hash), keccak256(concat([ZeroHash, hash])));
  });
});
