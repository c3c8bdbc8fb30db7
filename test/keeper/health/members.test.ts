import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import {
  MAX_HEALTH_MESSAGE_BYTES,
  MAX_SYNC_ENTRIES,
  MAX_UPDATES_PER_MESSAGE,
} from "../../../keeper/health/constants.ts";
import { GossipQueue } from "../../../keeper/health/gossip.ts";
import {
  MAX_SUSPICION_TOLD,
  Members,
  suspicionTimeout,
  type MemberUpdateData,
  type SuspicionTiming,
} from "../../../keeper/health/members.ts";
import { fitted, probeMessage, readProbe } from "../../../keeper/health/messages.ts";
import { Probe } from "../../../keeper/health/pb/health.ts";
import { PeerBudget, RelayBudget } from "../../../keeper/health/relay-budget.ts";

describe("health membership (pure)", () => {
  it("probes every member once per pass, in a fresh order each pass, newcomers included", () => {
    const m = new Members();
    for (const id of ["a", "b", "c", "d"]) m.add(id);
    const pass = () => Array.from({ length: m.size }, () => m.nextTarget()!.peerId).sort();
    assert.deepEqual(pass(), ["a", "b", "c", "d"]);
    assert.deepEqual(pass(), ["a", "b", "c", "d"]);
    m.add("e");
    m.remove("a");
    // Wherever the cursor stands, k passes' worth of picks probe each member k − 1 to k + 1 times.
    const picks = Array.from({ length: 10 * m.size }, () => m.nextTarget()!.peerId);
    for (const id of ["b", "c", "d", "e"]) {
      const n = picks.filter((p) => p === id).length;
      assert.ok(n >= 9 && n <= 11, `${id} probed ${n} times in 10 passes`);
    }
    assert.ok(!picks.includes("a"), "a removed member is never probed");
  });

  it("leaves failed members out of the probe rotation, takes them back once alive, and samples by state", () => {
    const m = new Members();
    for (const id of ["a", "b", "c", "d", "e"]) m.add(id);
    m.apply({ peerId: "b", state: "failed", incarnation: 0 }, 0, 0);
    m.apply({ peerId: "d", state: "failed", incarnation: 0 }, 0, 0);
    const picks = Array.from({ length: 30 }, () => m.nextTarget()!.peerId);
    assert.ok(!picks.includes("b") && !picks.includes("d"), "a failed member takes no probe slot");
    for (const id of ["a", "c", "e"]) assert.equal(picks.filter((p) => p === id).length, 10, `${id}: once per pass`);
    const failed = new Set(Array.from({ length: 50 }, () => m.randomIn("failed")!.peerId));
    assert.deepEqual([...failed].sort(), ["b", "d"], "randomIn draws among the failed only, each of them");
    assert.equal(m.randomIn("suspect"), undefined);
    assert.equal(m.randomIn("failed", "b")!.peerId, "d", "the excluded member is never drawn");
    m.apply({ peerId: "b", state: "alive", incarnation: 1 }, 0, 0);
    const back = Array.from({ length: 40 }, () => m.nextTarget()!.peerId).filter((p) => p === "b").length;
    assert.ok(back >= 9 && back <= 11, `b is probed again once alive (${back} times in 10 passes)`);
    for (const id of ["a", "b", "c", "d", "e"]) m.apply({ peerId: id, state: "failed", incarnation: 5 }, 0, 0);
    assert.equal(m.nextTarget(), undefined, "all failed: nobody to probe");
  });

  it("samples a bounded view for a state sync: members not alive first, each group drawn at random", () => {
    const m = new Members();
    for (let i = 0; i < 40; i++) m.add(`p${i}`);
    for (const id of ["p3", "p7", "p11"]) m.apply({ peerId: id, state: "failed", incarnation: 0 }, 0, 0);
    m.apply({ peerId: "p20", state: "suspect", incarnation: 0 }, 0, 1_000);
    const drawn = new Set<string>();
    for (let round = 0; round < 50; round++) {
      const s = m.sample(10, "p0").map((x) => x.peerId);
      assert.equal(s.length, 10);
      assert.deepEqual(s.slice(0, 4).sort(), ["p11", "p20", "p3", "p7"], "the 4 members not alive come first");
      assert.ok(!s.includes("p0"), "the excluded member (the receiver, said separately) is not drawn");
      assert.equal(new Set(s).size, 10, "no member twice");
      for (const id of s.slice(4)) drawn.add(id);
    }
    assert.ok(drawn.size >= 30, `live members are drawn at random over rounds (${drawn.size} of 35 seen)`);
    assert.equal(m.sample(100).length, 40, "never more than the membership");
  });

  it("trims a state sync to the message limit, whatever the peer ids, and the receiver reads it back", async () => {
    const ids = await Promise.all(
      Array.from({ length: MAX_SYNC_ENTRIES + MAX_UPDATES_PER_MESSAGE }, async () =>
        peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString(),
      ),
    );
    const entry = (peerId: string): MemberUpdateData => ({ peerId, state: "failed", incarnation: 2 ** 53 - 1 });
    const msg = fitted(
      probeMessage({
        seq: 2n ** 64n - 1n,
        incarnation: 2 ** 53 - 1,
        load: 1_000_000,
        capacity: 1_000_000,
        updates: ids.slice(0, MAX_UPDATES_PER_MESSAGE).map(entry),
        state: ids.slice(MAX_UPDATES_PER_MESSAGE).map(entry),
      }),
      Probe.encode,
    );
    const bytes = Probe.encode(msg);
    assert.ok(bytes.byteLength <= MAX_HEALTH_MESSAGE_BYTES, `${bytes.byteLength} bytes`);
    assert.equal(msg.updates.length, MAX_UPDATES_PER_MESSAGE, "piggybacked updates are never trimmed");
    assert.ok(msg.state.length >= 1 && msg.state.length < MAX_SYNC_ENTRIES, `${msg.state.length} entries kept`);
    const back = readProbe(Probe.decode(bytes));
    assert.deepEqual(
      back.state.map((u) => u.peerId),
      ids.slice(MAX_UPDATES_PER_MESSAGE, MAX_UPDATES_PER_MESSAGE + msg.state.length),
      "the first entries (the receiver's and the sender's own) are the ones kept",
    );
  });

  it("applies SWIM's precedence: suspect ≥ inc over alive, alive > inc over suspect, failed ≥ inc over both", () => {
    const m = new Members();
    m.add("p");
    const at = (state: "alive" | "suspect" | "failed", incarnation: number) =>
      m.apply({ peerId: "p", state, incarnation }, 1_000, 500);
    assert.equal(at("alive", 0), undefined, "alive at the same incarnation is old news");
    assert.deepEqual(at("suspect", 0), { peerId: "p", from: "alive", to: "suspect", incarnation: 0 });
    assert.equal(m.get("p")!.suspectDeadline, 1_500);
    assert.equal(at("suspect", 0), undefined, "the same suspicion twice is old news");
    assert.equal(at("alive", 0), undefined, "alive at the suspected incarnation does not clear it");
    assert.deepEqual(at("alive", 1), { peerId: "p", from: "suspect", to: "alive", incarnation: 1 }, "refuted");
    assert.equal(at("suspect", 0), undefined, "a suspicion of an older incarnation is stale");
    assert.equal(at("failed", 0), undefined, "a verdict on an older incarnation is stale");
    assert.deepEqual(at("failed", 1), { peerId: "p", from: "alive", to: "failed", incarnation: 1 });
    assert.equal(m.get("p")!.failedVia, "gossip");
    assert.equal(at("suspect", 5), undefined, "suspicion never overrides failed");
    assert.deepEqual(at("alive", 2), { peerId: "p", from: "failed", to: "alive", incarnation: 2 }, "recovered");
    assert.equal(m.apply({ peerId: "stranger", state: "failed", incarnation: 9 }, 0, 0), undefined, "unknown: ignored");
  });

  it("turns a suspect into failed once its deadline passes, as our own verdict", () => {
    const m = new Members();
    m.add("p");
    m.add("q");
    m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, 1_000);
    assert.deepEqual(m.expire(999), []);
    assert.deepEqual(m.expire(1_000), [{ peerId: "p", from: "suspect", to: "failed", incarnation: 0 }]);
    assert.equal(m.get("p")!.failedVia, "timeout");
    assert.equal(m.get("q")!.state, "alive");
  });

  it("sends each update λ·⌈log10(N+1)⌉ times, least-sent first, at most max per message, newest per member", () => {
    const g = new GossipQueue(4);
    assert.equal(g.limit(9), 4);
    assert.equal(g.limit(10), 8);
    g.push({ peerId: "a", state: "suspect", incarnation: 0 });
    g.push({ peerId: "b", state: "alive", incarnation: 1 });
    g.push({ peerId: "a", state: "failed", incarnation: 0 });
    assert.equal(g.size, 2, "a newer update replaces the queued one");
    assert.deepEqual(
      g.take(1, 9).map((u) => u.peerId),
      ["b"],
      "oldest of the least-sent first",
    );
    assert.deepEqual(
      g.take(8, 9, "a").map((u) => u.peerId),
      ["b"],
      "updates about the receiver are left to the caller",
    );
    let sends = 2;
    while (g.size > 0) sends += g.take(8, 9).filter((u) => u.peerId === "b").length;
    assert.equal(sends, 4, "b went out exactly λ·⌈log10(10)⌉ = 4 times");
  });

  it("bounds relays by the number in flight and by a rate", () => {
    let now = 0;
    const b = new RelayBudget(2, 3, () => now);
    assert.ok(b.take() && b.take());
    assert.equal(b.take(), false, "two in flight at most");
    b.release();
    assert.ok(b.take(), "a slot came back");
    b.release();
    b.release();
    assert.equal(b.take(), false, "three per second: the bucket is empty");
    now += 400;
    assert.ok(b.take(), "refilled at 3 per second");
  });

  it("forgets members failed for the given time, and only those", () => {
    const m = new Members(() => 0.5);
    for (const id of ["a", "b", "c"]) m.add(id);
    m.apply({ peerId: "a", state: "failed", incarnation: 0 }, 1_000, 0);
    m.apply({ peerId: "b", state: "failed", incarnation: 2 }, 5_000, 0);
    m.apply({ peerId: "c", state: "suspect", incarnation: 0 }, 0, 100);
    assert.deepEqual(
      m.forget(10_999, 10_000).map((x) => x.peerId),
      [],
      "a failed 9.999 s ago stays",
    );
    assert.deepEqual(
      m.forget(11_000, 10_000).map((x) => x.peerId),
      ["a"],
    );
    assert.equal(m.has("a"), false);
    assert.equal(m.get("c")?.state, "suspect", "a suspect is not forgotten");
    m.apply({ peerId: "b", state: "alive", incarnation: 3 }, 6_000, 0);
    assert.deepEqual(m.forget(100_000, 10_000), [], "a member back alive is not forgotten");
    m.add("a", { incarnation: 4, at: 200_000 });
    assert.deepEqual(
      { state: m.get("a")?.state, incarnation: m.get("a")?.incarnation },
      { state: "failed", incarnation: 4 },
      "added back as it left",
    );
    assert.equal(m.nextTarget()?.peerId === "a", false, "and not probed");
  });

  it("keeps one sync budget per peer, bounded in peers, so one peer cannot use another's", () => {
    let now = 0;
    const b = new PeerBudget(1, 2, 3, () => now);
    assert.ok(b.take("x") && b.take("x"));
    assert.equal(b.take("x"), false, "x used its burst");
    assert.ok(b.take("y"), "y has its own");
    now += 1_000;
    assert.ok(b.take("x"), "x refilled at 1 per second");
    b.take("z");
    b.take("w");
    assert.ok(b.size <= 3, `at most 3 peers tracked (${b.size})`);
  });

  it("names each suspect once for a re-check, half-way through its suspicion", () => {
    const m = new Members(() => 0.5);
    for (const id of ["a", "b", "c"]) m.add(id);
    m.apply({ peerId: "a", state: "suspect", incarnation: 0 }, 0, 8_000);
    m.apply({ peerId: "b", state: "suspect", incarnation: 0 }, 3_000, 8_000);
    assert.deepEqual(m.dueRechecks(3_999), [], "a is not half-way yet");
    assert.deepEqual(
      m.dueRechecks(4_000).map((x) => x.peerId),
      ["a"],
    );
    assert.deepEqual(
      m.dueRechecks(7_500).map((x) => x.peerId),
      ["b"],
      "a once only; b at its own half",
    );
    assert.deepEqual(m.dueRechecks(20_000), [], "nothing twice, nothing alive");
    m.apply({ peerId: "a", state: "alive", incarnation: 1 }, 9_000, 8_000);
    m.apply({ peerId: "a", state: "suspect", incarnation: 1 }, 10_000, 8_000);
    assert.deepEqual(
      m.dueRechecks(14_000).map((x) => x.peerId),
      ["a"],
      "a new suspicion, a new re-check",
    );
  });

  describe("Lifeguard's dynamic suspicion (LHA-Suspicion)", () => {
    const S = 8_000;
    // maxMult 6, K = suspicionMult − 2 = 2 (the defaults).
    const timing: SuspicionTiming = { minMs: S, maxMs: 6 * S, expected: 2 };
    /** Members p (the suspect) and a … e. */
    const view = () => {
      const m = new Members(() => 0.5);
      for (const id of ["p", "a", "b", "c", "d", "e"]) m.add(id);
      return m;
    };
    const suspect = (m: Members, at: number, sender?: string, incarnation = 0) =>
      m.apply({ peerId: "p", state: "suspect", incarnation }, at, timing, "gossip", sender);

    it("times out a lone suspicion after maxMult·S, falling to S once K distinct members confirm it", () => {
      const m = view();
      assert.deepEqual(m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 1_000, timing, "timeout"), {
        peerId: "p",
        from: "alive",
        to: "suspect",
        incarnation: 0,
      });
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + 6 * S, "our own failed probe alone: maxMult·S");
      assert.equal(m.confirmations("p"), 0, "our own probe starts the suspicion, it does not confirm it");
      assert.equal(suspect(m, 2_000, "a"), undefined, "a confirmation is no news to gossip");
      const one = 1_000 + Math.floor(6 * S - 5 * S * (Math.log(2) / Math.log(3)));
      assert.equal(m.get("p")!.suspectDeadline, one, "C = 1: max − (max − min)·log 2 / log 3, from the start");
      assert.ok(one - 1_000 > S && one - 1_000 < 6 * S);
      suspect(m, 3_000, "b");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + S, "C = K = 2: S from the start, not from the confirmation");
      suspect(m, 4_000, "c");
      assert.equal(m.confirmations("p"), 2, "no more than K confirmations are kept");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + S, "and a deadline never goes below S");
      assert.deepEqual(m.expire(1_000 + S - 1), []);
      assert.deepEqual(m.expire(1_000 + S), [{ peerId: "p", from: "suspect", to: "failed", incarnation: 0 }]);
      assert.equal(suspicionTimeout(timing, 0), 6 * S);
      assert.equal(suspicionTimeout(timing, 2), S);
      assert.equal(suspicionTimeout({ minMs: S, maxMs: 6 * S, expected: 0 }, 0), S, "K = 0: S at once");
    });

    it("counts the member whose message started the suspicion; a newer incarnation keeps the start", () => {
      const m = view();
      suspect(m, 0, "a");
      assert.equal(m.confirmations("p"), 1, "another member's word is a confirmation");
      assert.equal(m.get("p")!.suspectDeadline, suspicionTimeout(timing, 1));
      // A newer incarnation's suspicion (no refutation between) keeps the start, and its sender confirms it.
      assert.ok(suspect(m, 500, "b", 1));
      assert.equal(m.get("p")!.suspectDeadline, S, "still from the start at 0");
      assert.equal(m.get("p")!.incarnation, 1);
    });

    it("counts a member once per suspicion, and never a stranger, the suspect itself or a member we told first", () => {
      const m = view();
      m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, timing, "timeout");
      for (let i = 0; i < 5; i++) suspect(m, 100 * i, "a");
      assert.equal(m.confirmations("p"), 1, "a repeating itself counts once");
      assert.equal(m.get("p")!.suspectDeadline, suspicionTimeout(timing, 1));
      suspect(m, 600, "stranger");
      suspect(m, 700, "p");
      suspect(m, 750, undefined);
      assert.equal(m.confirmations("p"), 1, "neither a non-member, nor the suspect, nor our own probe again");
      // We passed the suspicion on to b: b repeating it (in its very ack, typically) is our own word echoed.
      m.told("p", 0, "b");
      suspect(m, 800, "b");
      assert.equal(m.confirmations("p"), 1, "an echo of our own suspicion is no confirmation");
      m.told("p", 3, "c");
      suspect(m, 900, "c");
      assert.equal(m.confirmations("p"), 2, "told of another incarnation: c's word counts");
      assert.equal(m.get("p")!.suspectDeadline, S);
      const big = new Members();
      big.add("p");
      for (let i = 0; i < 2 * MAX_SUSPICION_TOLD; i++) big.add(`m${i}`);
      big.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, timing, "timeout");
      for (let i = 0; i < 2 * MAX_SUSPICION_TOLD; i++) big.told("p", 0, `m${i}`);
      assert.equal(big.get("p")!.suspicion!.told.size, MAX_SUSPICION_TOLD, "the members told are bounded");
      for (let i = 0; i < 2 * MAX_SUSPICION_TOLD; i++)
        big.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 1, timing, "gossip", `m${i}`);
      assert.equal(big.get("p")!.suspicion!.confirmers.size, 2, "and so are the confirmers (K)");
    });

    it("starts afresh after a refutation: a new incarnation's suspicion has no confirmation yet", () => {
      const m = view();
      m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, timing, "timeout");
      suspect(m, 100, "a");
      suspect(m, 200, "b");
      assert.equal(m.get("p")!.suspectDeadline, S);
      m.apply({ peerId: "p", state: "alive", incarnation: 1 }, 300, timing);
      assert.equal(m.confirmations("p"), 0);
      m.apply({ peerId: "p", state: "suspect", incarnation: 1 }, 1_000, timing, "timeout");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + 6 * S, "maxMult·S again");
      suspect(m, 1_100, "a", 1);
      assert.equal(m.confirmations("p"), 1, "a counts again, for the new suspicion");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + suspicionTimeout(timing, 1));
      suspect(m, 1_200, "a", 0);
      assert.equal(m.confirmations("p"), 1, "a statement about the refuted incarnation is stale");
    });

    it("re-checks a suspect half-way through its current timeout, once", () => {
      const m = view();
      m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, timing, "timeout");
      assert.deepEqual(m.dueRechecks(S), [], "half of S is not half of maxMult·S");
      assert.deepEqual(m.dueRechecks(3 * S - 1), []);
      suspect(m, 10_000, "a");
      const half = suspicionTimeout(timing, 1) / 2;
      assert.deepEqual(m.dueRechecks(half - 1), [], "C = 1: half of the shorter timeout");
      assert.deepEqual(
        m.dueRechecks(half).map((x) => x.peerId),
        ["p"],
      );
      suspect(m, half + 1, "b");
      assert.deepEqual(m.dueRechecks(half + 2), [], "once per suspicion, however the timeout falls");
    });
  });
});
