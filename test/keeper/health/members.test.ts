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
    /** Members p (the suspect) and a … e; "me" is us (never a member). */
    const view = () => {
      const m = new Members(() => 0.5);
      for (const id of ["p", "a", "b", "c", "d", "e"]) m.add(id);
      return m;
    };
    const suspect = (m: Members, at: number, origin?: string, incarnation = 0, t: SuspicionTiming = timing) =>
      m.apply({ peerId: "p", state: "suspect", incarnation, origin }, at, t);

    it("times out a lone suspicion after maxMult·S, falling to S once K distinct origins confirm it", () => {
      const m = view();
      assert.deepEqual(suspect(m, 1_000, "me"), {
        peerId: "p",
        from: "alive",
        to: "suspect",
        incarnation: 0,
        origin: "me",
      });
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + 6 * S, "our own failed probe alone: maxMult·S");
      assert.equal(m.confirmations("p"), 0, "our own probe starts the suspicion, it does not confirm it");
      assert.deepEqual(
        suspect(m, 2_000, "a"),
        { peerId: "p", from: "suspect", to: "suspect", incarnation: 0, origin: "a" },
        "a new origin confirms it: news to gossip again, with that origin",
      );
      const one = 1_000 + Math.floor(6 * S - 5 * S * (Math.log(2) / Math.log(3)));
      assert.equal(m.get("p")!.suspectDeadline, one, "C = 1: max − (max − min)·log 2 / log 3, from the start");
      assert.ok(one - 1_000 > S && one - 1_000 < 6 * S);
      assert.equal(suspect(m, 2_500, "a"), undefined, "the same origin again is no news");
      suspect(m, 3_000, "b");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + S, "C = K = 2: S from the start, not from the confirmation");
      assert.equal(suspect(m, 4_000, "c"), undefined, "no more than K confirmations are kept");
      assert.equal(m.confirmations("p"), 2);
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + S, "and a deadline never goes below S");
      assert.deepEqual(m.expire(1_000 + S - 1), []);
      assert.deepEqual(m.expire(1_000 + S), [{ peerId: "p", from: "suspect", to: "failed", incarnation: 0 }]);
      assert.equal(suspicionTimeout(timing, 0), 6 * S);
      assert.equal(suspicionTimeout(timing, 2), S);
      assert.equal(suspicionTimeout({ minMs: S, maxMs: 6 * S, expected: 0 }, 0), S, "K = 0: S at once");
    });

    it("counts one origin once however many members relay it, and never the suspicion's own origin", () => {
      const m = view();
      // a suspected p; b, c and d relay a's statement (origin a) to us one after the other.
      assert.equal(suspect(m, 0, "a")?.origin, "a", "a relayed suspicion keeps its origin");
      for (const at of [100, 200, 300]) suspect(m, at, "a");
      assert.equal(m.confirmations("p"), 0, "the origin that started the suspicion is not its confirmation");
      assert.equal(m.get("p")!.suspectDeadline, 6 * S);
      for (const at of [400, 500, 600]) suspect(m, at, "b");
      assert.equal(m.confirmations("p"), 1, "b's suspicion, relayed three times, counts once");
      // A newer incarnation's suspicion (no refutation between) keeps the start, and its origin confirms it.
      assert.ok(suspect(m, 700, "c", 1));
      assert.equal(m.get("p")!.suspectDeadline, S, "C = 2, still from the start at 0");
      assert.equal(m.get("p")!.incarnation, 1);
    });

    it("counts nothing for a statement without origin, from us, from the suspect or from a non-member", () => {
      const m = view();
      suspect(m, 0, "me");
      for (const origin of [undefined, "me", "p", "stranger", undefined]) suspect(m, 100, origin);
      assert.equal(m.confirmations("p"), 0, "our own suspicion echoed back (origin us) never counts");
      assert.equal(m.get("p")!.suspectDeadline, 6 * S);
      const unknown = view();
      suspect(unknown, 0, undefined);
      assert.equal(unknown.get("p")!.suspicion!.origin, undefined, "a suspicion of unknown origin");
      suspect(unknown, 100, undefined);
      assert.equal(unknown.confirmations("p"), 0, "an unknown origin confirms nothing");
      suspect(unknown, 200, "a");
      suspect(unknown, 300, "b");
      assert.equal(unknown.confirmations("p"), 2, "two known origins do");
      assert.equal(unknown.get("p")!.suspectDeadline, S);
    });

    it("counts our own finding as a confirmation of a suspicion another member started, once", () => {
      const m = view();
      m.setSelf("me");
      suspect(m, 0, "a");
      assert.deepEqual(
        suspect(m, 100, "me"),
        { peerId: "p", from: "suspect", to: "suspect", incarnation: 0, origin: "me" },
        "our failed probe of a suspect: news to gossip, with us as its origin, so the others count us too",
      );
      assert.equal(m.confirmations("p"), 1);
      assert.equal(suspect(m, 200, "me"), undefined, "once");
      const mine = view();
      mine.setSelf("me");
      suspect(mine, 0, "me");
      suspect(mine, 100, "me");
      assert.equal(mine.confirmations("p"), 0, "a suspicion we started is not its own confirmation");
    });

    it("starts afresh after a refutation: a new incarnation's suspicion has no confirmation yet", () => {
      const m = view();
      suspect(m, 0, "me");
      suspect(m, 100, "a");
      suspect(m, 200, "b");
      assert.equal(m.get("p")!.suspectDeadline, S);
      m.apply({ peerId: "p", state: "alive", incarnation: 1 }, 300, timing);
      assert.equal(m.confirmations("p"), 0);
      suspect(m, 1_000, "me", 1);
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + 6 * S, "maxMult·S again");
      suspect(m, 1_100, "a", 1);
      assert.equal(m.confirmations("p"), 1, "a counts again, for the new suspicion");
      assert.equal(m.get("p")!.suspectDeadline, 1_000 + suspicionTimeout(timing, 1));
      suspect(m, 1_200, "b", 0);
      assert.equal(m.confirmations("p"), 1, "a statement about the refuted incarnation is stale");
    });

    it("re-checks a suspect half-way through its current timeout, once", () => {
      const m = view();
      suspect(m, 0, "me");
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

    it("keeps a re-check possible when a late confirmation would move the deadline before it", () => {
      const RECHECK = 5_000; // 3·t_probe + T
      const t = { ...timing, recheckMs: RECHECK };
      const m = view();
      suspect(m, 0, "me", 0, t);
      suspect(m, 5_000, "a", 0, t);
      const half = suspicionTimeout(t, 1) / 2;
      assert.ok(10_000 < half, "the next confirmation comes before the half-way re-check");
      // b confirms at 10 s: start + S = 8 s is already past, and p was never re-checked.
      suspect(m, 10_000, "b", 0, t);
      assert.equal(m.confirmations("p"), 2);
      assert.equal(m.get("p")!.suspectDeadline, 10_000 + RECHECK, "at least one re-check's time from now");
      assert.deepEqual(
        m.dueRechecks(10_000).map((x) => x.peerId),
        ["p"],
        "and the re-check is due at once",
      );
      assert.deepEqual(m.expire(10_000 + RECHECK - 1), [], "not failed before the re-check could complete");
      assert.equal(m.expire(10_000 + RECHECK).length, 1);
      // Once re-checked, a confirmation brings the deadline down unclamped.
      const r = view();
      suspect(r, 0, "me", 0, t);
      assert.equal(r.dueRechecks(3 * S).length, 1);
      suspect(r, 20_000, "a", 0, t);
      suspect(r, 21_000, "b", 0, t);
      assert.equal(r.get("p")!.suspectDeadline, S, "re-checked already: start + S, past");
      assert.equal(r.expire(21_000).length, 1);
      // A confirmation early enough leaves S from the start alone.
      const e = view();
      suspect(e, 0, "me", 0, t);
      suspect(e, 100, "a", 0, t);
      suspect(e, 200, "b", 0, t);
      assert.equal(e.get("p")!.suspectDeadline, S);
    });

    it("counts members not held failed", () => {
      const m = view();
      assert.equal(m.live, 6);
      m.apply({ peerId: "a", state: "failed", incarnation: 0 }, 0, 0);
      m.add("f", { incarnation: 2, at: 0 });
      assert.equal(m.live, 5, "a failed, f added failed");
      m.apply({ peerId: "a", state: "alive", incarnation: 1 }, 0, 0);
      assert.equal(m.live, 6, "a back alive");
      m.remove("f");
      m.remove("b");
      assert.equal(m.live, 5);
      assert.equal(m.expire(0).length, 0);
      suspect(m, 0, "me", 0, { minMs: 10, maxMs: 10, expected: 0 });
      assert.equal(m.expire(10).length, 1);
      assert.equal(m.live, 4);
    });
  });
});
