import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import {
  DEFAULT_SYNC_EVERY_PERIODS,
  HEALTH_PROTOCOL,
  health,
  HealthCounters,
  MAX_HEALTH_MESSAGE_BYTES,
  type Health,
  type HealthInit,
} from "../../../keeper/health/index.ts";
import type { Members } from "../../../keeper/health/members.ts";
import { peerIdBytes } from "../../../keeper/health/messages.ts";
import { Ack, MemberState, Probe } from "../../../keeper/health/pb/health.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import { encodeVarint, frame, readMessage } from "../../../keeper/wire/index.ts";
import { collectingLogger, silent, startNode, waitFor, type TestKeeper } from "../helpers.ts";

interface Member {
  k: TestKeeper;
  h: Health;
  counters: HealthCounters;
  id: string;
}

const EPOCH = 7;

describe("health (SWIM)", { timeout: 180_000 }, () => {
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

  /** n keepers on 127.0.0.1, fully connected, each watching every other, health started. */
  async function cluster(n: number, init: (i: number) => HealthInit): Promise<Member[]> {
    const ks: TestKeeper[] = [];
    for (let i = 0; i < n; i++) {
      const k = await startNode();
      keepers.push(k);
      ks.push(k);
    }
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) await ks[i]!.node.dial(ks[j]!.node.getMultiaddrs()[0]!);
    const members = ks.map((k, i) => {
      const counters = new HealthCounters(tempStore().store);
      const h = health(init(i))({ node: k.node, logger: silent, counters, currentEpoch: () => EPOCH });
      services.push(h);
      return { k, h, counters, id: k.node.peerId.toString() };
    });
    for (const m of members) for (const o of members) if (o !== m) m.h.watch(o.id);
    for (const m of members) await m.h.start();
    return members;
  }

  const requests = (h: Health) => h.metrics.probes + h.metrics.pingReqs + h.metrics.relays;
  const syncs = (h: Health) => h.metrics.syncsToAlive + h.metrics.syncsToFailed;
  const failures = (ms: Member[]) =>
    ms.reduce((n, m) => n + m.h.metrics.failuresDeclared + m.h.metrics.failuresLearned, 0);

  async function over(m: Member, rounds: number): Promise<void> {
    const until = m.h.metrics.rounds + rounds;
    await waitFor(() => m.h.metrics.rounds >= until, rounds * 2_000, `${rounds} rounds`);
  }

  it("sends the same number of probe messages per period with 4 and with 12 keepers, and none fails", async () => {
    const M = 30;
    const sent: Record<number, { requests: number; acksPerKeeper: number; syncs: number }> = {};
    for (const n of [4, 12]) {
      // A generous probe timeout: this box is loaded, and the claim is about counts, not speed.
      const ms = await cluster(n, () => ({ periodMs: 100, probeTimeoutMs: 2_000 }));
      const [a] = ms;
      await over(a!, 2);
      const r0 = requests(a!.h);
      const s0 = syncs(a!.h);
      const rounds0 = ms.reduce((s, m) => s + m.h.metrics.rounds, 0);
      await over(a!, M);
      const rounds = ms.reduce((s, m) => s + m.h.metrics.rounds, 0) - rounds0;
      sent[n] = { requests: requests(a!.h) - r0, acksPerKeeper: 0, syncs: syncs(a!.h) - s0 };
      assert.equal(failures(ms), 0, `n=${n}: no member declared failed on a quiet network`);
      for (const m of ms) assert.equal(m.counters.reports(EPOCH).length, 0, `n=${n}: no failure counted`);
      // Every probe of the network is answered once: acks equal probes sent, whatever n. Compared once every member
      // stopped (its requests in flight ended) and from the start, so no request is cut by the window's edges —
      // with a 100 ms period and a 2 s timeout a loaded box holds several in flight per keeper at any instant.
      // What is answered with an ack: each round's probe and, on a loaded box, out-of-turn checks, ping-reqs and
      // the probes relayed for them (each counted by its sender).
      await Promise.all(services.splice(0).map((s) => s.stop()));
      const acks = ms.reduce((s, m) => s + m.h.metrics.acks, 0);
      const probes = ms.reduce((s, m) => s + requests(m.h), 0);
      sent[n]!.acksPerKeeper = acks / n;
      assert.ok(
        Math.abs(acks - probes) <= n,
        `n=${n}: ${acks} acks for ${probes} probes network-wide (${rounds} rounds in the window)`,
      );
      await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
    }
    assert.ok(
      Math.abs(sent[4]!.requests - sent[12]!.requests) <= 2,
      `probes over ${M} periods: ${sent[4]!.requests} with 4 keepers, ${sent[12]!.requests} with 12`,
    );
    assert.ok(sent[12]!.requests <= M + 2, `one probe per period, not one per peer (${sent[12]!.requests})`);
    for (const n of [4, 12])
      assert.ok(
        Math.abs(sent[n]!.syncs - M / DEFAULT_SYNC_EVERY_PERIODS) <= 1,
        `n=${n}: one state sync every ${DEFAULT_SYNC_EVERY_PERIODS} periods (${sent[n]!.syncs} in ${M})`,
      );
  });

  it("keeps a quiet network free of false failures over many periods", async () => {
    const ms = await cluster(6, () => ({ periodMs: 50, probeTimeoutMs: 2_000 }));
    await over(ms[0]!, 150);
    assert.equal(failures(ms), 0, "no member declared failed");
    for (const m of ms)
      for (const o of ms) if (o !== m) assert.equal(m.h.status(o.id), "alive", `${m.id} holds ${o.id} alive`);
  });

  it("suspects a killed keeper, declares it failed within the documented bound, and gossip tells the rest", async () => {
    const T = 200;
    const PROBE = 400;
    // The last keeper never reaches its own verdict (huge suspicion): it can only learn the failure by gossip.
    // suspicionMaxMult 1: this checks SWIM's bound with a fixed S (the round-robin, the ping-req, gossip); the
    // Lifeguard suspicion that starts at maxMult·S and falls with confirmations is checked by its own tests below.
    const ms = await cluster(5, (i) => ({
      periodMs: T,
      probeTimeoutMs: PROBE,
      suspicionMult: i === 3 ? 1_000 : 4,
      suspicionMaxMult: 1,
    }));
    const victim = ms[4]!;
    const watchers = ms.slice(0, 4);
    await over(ms[0]!, 4);
    const suspectedAt = new Map<string, number>();
    const failedAt = new Map<string, number>();
    for (const m of watchers) {
      m.h.addEventListener("peer:suspect", (e) => {
        if ((e as CustomEvent<string>).detail === victim.id) suspectedAt.set(m.id, Date.now());
      });
      m.h.addEventListener("peer:failed", (e) => {
        if ((e as CustomEvent<string>).detail === victim.id) failedAt.set(m.id, Date.now());
      });
    }
    await victim.h.stop();
    await victim.k.node.stop();
    const killedAt = Date.now();
    const n = 4; // members each watcher probes
    const S = watchers[0]!.h.suspicionTimeoutMs();
    // docs/PROTOCOL.md §3: ≤ (2n − 1)·T (round-robin) + 3·t_probe (direct + ping-req) + S + T (expiry check).
    const bound = (2 * n - 1) * T + 3 * PROBE + S + T;
    await waitFor(
      () => failedAt.size === watchers.length,
      4 * bound,
      () => {
        const late = watchers.filter((m) => !failedAt.has(m.id));
        return `every watcher to hold the victim failed; not yet: ${late.map((m) => `${m.id} (${m.h.status(victim.id)} at ${m.h.member(victim.id)?.incarnation})`).join(", ")}`;
      },
    );
    const slack = 1_000; // a loaded 2-core box delays timers
    for (const m of watchers.slice(0, 3)) {
      const took = failedAt.get(m.id)! - killedAt;
      assert.ok(took <= bound + slack, `${m.id} declared it after ${took} ms, bound ${bound} ms`);
    }
    const learner = watchers[3]!;
    assert.equal(learner.h.member(victim.id)?.failedVia, "gossip", "the learner heard it from the others");
    assert.ok(learner.h.metrics.failuresLearned === 1 && learner.h.metrics.failuresDeclared === 0);
    assert.ok(failedAt.get(learner.id)! - killedAt <= bound + 3 * T + slack, "gossip reaches it within a few periods");
    assert.ok(watchers.reduce((s, m) => s + m.h.metrics.failuresDeclared, 0) >= 1, "someone reached its own verdict");
    assert.ok(suspectedAt.size >= 1, "the victim was suspected before it was declared failed");
    for (const [id, at] of suspectedAt)
      if (failedAt.has(id)) assert.ok(at <= failedAt.get(id)!, "suspicion comes before the verdict");
    for (const m of watchers) {
      assert.deepEqual(m.counters.reports(EPOCH), [{ peerId: victim.id, successes: 0, failures: 1 }]);
      for (const o of watchers) if (o !== m) assert.equal(m.h.status(o.id), "alive", "live members stay alive");
    }
  });

  it("checks a keeper whose connections all closed at once, not at its turn: a stopped keeper is suspected within seconds", async () => {
    // A 10 s period: in the rotation alone nobody would probe the victim for at least 10 s after the stop.
    const ms = await cluster(5, () => ({ periodMs: 10_000, probeTimeoutMs: 1_000 }));
    const victim = ms[4]!;
    const watchers = ms.slice(0, 4);
    await victim.h.stop();
    await victim.k.node.stop();
    const stoppedAt = Date.now();
    await waitFor(
      () => watchers.every((m) => m.h.status(victim.id) !== "alive"),
      3_000,
      "every watcher to suspect the stopped keeper",
    );
    const took = Date.now() - stoppedAt;
    for (const m of watchers) {
      assert.equal(m.h.metrics.rounds, 0, "no period had run yet: the rotation played no part");
      assert.equal(m.h.metrics.outOfTurnChecks, 1, `one check on disconnect (all suspected after ${took} ms)`);
    }
    for (const m of watchers)
      for (const o of watchers) if (o !== m) assert.equal(m.h.status(o.id), "alive", "the others stay alive");
  });

  it("does not suspect a keeper whose direct link is blocked but that others reach (ping-req)", async () => {
    const ms = await cluster(4, () => ({ periodMs: 100, probeTimeoutMs: 1_000 }));
    const [a, b, c, d] = ms as [Member, Member, Member, Member];
    a.k.bans.ban(b.k.node.peerId, "test: block the a–b link");
    await waitFor(() => a.k.node.getConnections(b.k.node.peerId).length === 0, 10_000, "the a–b link to drop");
    await over(a, 40);
    assert.ok(a.h.metrics.pingReqs >= 1, "a asked others to probe b");
    assert.ok(c.h.metrics.relays + d.h.metrics.relays >= 1, "c or d relayed");
    for (const m of ms) assert.equal(m.h.metrics.suspicions, 0, `${m.id} suspected nobody`);
    assert.equal(failures(ms), 0);
    assert.equal(a.h.status(b.id), "alive");
    assert.equal(b.h.status(a.id), "alive");
  });

  it("a partition heals: each half held the other failed, and after the heal every keeper holds every other alive", async () => {
    const T = 200;
    const M = 5;
    const ms = await cluster(6, () => ({ periodMs: T, probeTimeoutMs: 1_000, syncEveryPeriods: M }));
    const side = (m: Member) => ms.indexOf(m) < 3;
    const across = (f: (m: Member, o: Member) => void) => {
      for (const m of ms) for (const o of ms) if (side(m) !== side(o)) f(m, o);
    };
    await over(ms[0]!, 3);
    across((m, o) => m.k.bans.ban(o.k.node.peerId, "test: partition"));
    await waitFor(
      () => ms.every((m) => ms.every((o) => side(m) === side(o) || m.h.status(o.id) === "failed")),
      60_000,
      "each half to hold the other failed",
    );
    for (const m of ms)
      for (const o of ms) if (m !== o && side(m) === side(o)) assert.equal(m.h.status(o.id), "alive", "own half alive");
    const failuresAtHeal = failures(ms);
    across((m, o) => m.k.bans.unban(o.k.node.peerId));
    const healedAt = Date.now();
    // docs/PROTOCOL.md §3: a keeper reconnects (syncs with a random member it holds failed) every 2·M periods;
    // the first reconnect of the network lands within 2·M·T of the heal, and the refutations it starts spread by
    // gossip and by the next reconnects. The bound allows five reconnect intervals on this loaded machine.
    const bound = 5 * 2 * M * T;
    await waitFor(
      () => ms.every((m) => ms.every((o) => m === o || m.h.status(o.id) === "alive")),
      bound,
      "every keeper to hold every other alive after the heal",
    );
    const took = Date.now() - healedAt;
    assert.ok(
      ms.reduce((n, m) => n + m.h.metrics.syncsToFailed, 0) >= 1,
      "the heal went through reconnects (syncs with failed members)",
    );
    assert.ok(
      ms.some((m) => m.h.incarnation >= 1),
      "members held failed refuted with a higher incarnation",
    );
    assert.ok(took <= bound, `healed in ${took} ms (bound ${bound} ms)`);
    // Once healed, the network stays quiet: the suspicions the merge started were refuted, none became a failure.
    const failuresAfterHeal = failures(ms);
    await over(ms[0]!, 2 * M);
    assert.equal(failures(ms), failuresAfterHeal, "no failure declared after the heal");
    for (const m of ms)
      for (const o of ms) if (m !== o) assert.equal(m.h.status(o.id), "alive", `${m.id} holds ${o.id} alive`);
    assert.ok(failuresAtHeal >= 9, "the partition was seen: each keeper failed the 3 of the other half");
  });

  it("a suspected keeper that is alive refutes with a higher incarnation", async () => {
    // a cannot reach b and has no helpers (k = 0): it suspects b; its suspicion lasts long enough to be refuted.
    const ms = await cluster(3, (i) =>
      i === 0 ? { periodMs: 100, probeTimeoutMs: 500, indirectProbes: 0, suspicionMult: 1_000 } : { periodMs: 100 },
    );
    const [a, b] = ms as [Member, Member, Member];
    a.k.bans.ban(b.k.node.peerId, "test: block the a–b link");
    const suspected = new Promise<void>((resolve) =>
      a.h.addEventListener("peer:suspect", (e) => (e as CustomEvent).detail === b.id && resolve()),
    );
    // Heard on the event, not polled: a probes b every 100 ms and may suspect it again at once, so the "alive"
    // between the two can be shorter than a poll on a loaded machine.
    let refuted = false;
    a.h.addEventListener("peer:alive", (e) => {
      if ((e as CustomEvent).detail === b.id && a.h.member(b.id)!.incarnation >= 1) refuted = true;
    });
    await suspected;
    await waitFor(() => refuted, 30_000, "a to hear b's refutation");
    assert.ok(b.h.incarnation >= 1 && b.h.metrics.refutations >= 1, "b raised its incarnation");
    assert.equal(failures(ms), 0, "nobody declared b failed");
  });

  it("a keeper that hears from nobody (helpers silent too) raises its awareness, and lowers it once answered", async () => {
    const ms = await cluster(4, () => ({ periodMs: 100, probeTimeoutMs: 300, suspicionMult: 1_000 }));
    const [a, ...others] = ms as [Member, Member, Member, Member];
    for (const o of others) a.k.bans.ban(o.k.node.peerId, "test: cut a off");
    await waitFor(() => a.h.metrics.awareness >= 2, 30_000, "a's awareness to rise");
    for (const o of others) assert.equal(o.h.metrics.awareness, 0, "the others, which get nacks or answers, stay at 0");
    for (const o of others) a.k.bans.unban(o.k.node.peerId);
    await waitFor(() => a.h.metrics.awareness === 0, 60_000, "a's awareness to fall back once it hears answers");
  });

  it("times a suspicion out after S at once in a network too small to confirm it (n − 2 < K, n = live members + us)", async () => {
    keepers.push(await startNode());
    const make = (init: HealthInit) => {
      const h = health(init)({
        node: keepers[0]!.node,
        logger: silent,
        counters: new HealthCounters(tempStore().store),
        currentEpoch: () => EPOCH,
      });
      services.push(h);
      return h;
    };
    const h = make({ periodMs: 1_000 });
    const ids = await Promise.all(
      Array.from({ length: 4 }, async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString()),
    );
    const recheckMs = 3 * 1_000 + 1_000; // 3·t_probe + T (the defaults' t_probe)
    for (const id of ids.slice(0, 2)) h.watch(id);
    // K = suspicionMult − 2 = 2: with 2 members, n = 3 and only one other than the suspect could confirm.
    assert.deepEqual(h.suspicionTiming(), { minMs: 4_000, maxMs: 24_000, expected: 0, recheckMs }, "2: S at once");
    h.watch(ids[2]!);
    assert.deepEqual(h.suspicionTiming(), { minMs: 4_000, maxMs: 24_000, expected: 2, recheckMs }, "3: 6·S → S");
    // A member held failed cannot confirm anything: it does not count (memberlist counts the live nodes).
    (h as unknown as { members: Members }).members.apply({ peerId: ids[0]!, state: "failed", incarnation: 0 }, 0, 0);
    assert.equal(h.suspicionTiming().expected, 0, "3 members, one failed: S at once");
    h.watch(ids[3]!);
    assert.equal(h.suspicionTiming().expected, 2, "and a fourth brings it back");
    const fixed = make({ periodMs: 1_000, suspicionMaxMult: 1 });
    for (const id of ids) fixed.watch(id);
    assert.equal(fixed.suspicionTiming().maxMs, 4_000, "suspicionMaxMult 1: always S");
  });

  it("counts each origin once, by probe or by state sync, never its relays nor the first origin, and moves the deadline to S", async () => {
    // Long periods: no rounds of their own, so everything a hears is sent here.
    const ms = await cluster(5, () => ({ periodMs: 100_000 }));
    const [a, b, c, d, e] = ms as [Member, Member, Member, Member, Member];
    const ghost = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    a.h.watch(ghost);
    const S = a.h.suspicionTimeoutMs();
    /** `from` tells a, piggybacked on a probe, that the ghost is `state` at incarnation 0 (suspected by `origin`). */
    const tell = async (from: Member, state: MemberState, origin?: Member) => {
      const s = await from.k.node.dialProtocol(a.k.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
      const body = Probe.encode({
        seq: 5n,
        target: new Uint8Array(0),
        incarnation: BigInt(from.h.incarnation),
        load: 0,
        capacity: 0,
        updates: [
          {
            peerId: peerIdBytes(ghost),
            state,
            incarnation: 0n,
            ...(origin === undefined ? {} : { origin: peerIdBytes(origin.id) }),
          },
        ],
      });
      s.send(frame(body));
      await readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")));
    };
    const before = Date.now();
    await tell(b, MemberState.SUSPECT, b);
    const after = Date.now();
    assert.equal(a.h.status(ghost), "suspect");
    assert.equal(a.h.confirmations(ghost), 0, "b suspected first: its suspicion is the one to confirm");
    const start = a.h.suspectDeadline(ghost)! - 6 * S;
    assert.ok(start >= before && start <= after, "deadline = start + maxMult·S");
    // b's suspicion relayed by c, d and e: one statement, whoever passes it on.
    for (const relay of [c, d, e]) await tell(relay, MemberState.SUSPECT, b);
    assert.equal(a.h.confirmations(ghost), 0, "relays of the first origin are no confirmation");
    await tell(c, MemberState.SUSPECT);
    assert.equal(a.h.confirmations(ghost), 0, "nor a statement without origin (an old peer's)");
    await tell(c, MemberState.SUSPECT, d);
    await tell(e, MemberState.SUSPECT, d);
    assert.equal(a.h.confirmations(ghost), 1, "d's own suspicion, relayed by c and by e, counts once");
    assert.equal(a.h.suspectDeadline(ghost), start + Math.floor(6 * S - 5 * S * (Math.log(2) / Math.log(3))));
    // c's state sync says the ghost failed: applied as a suspicion only, of unknown origin: no confirmation.
    await waitFor(
      () => syncFrom(c, a, [{ peerId: ghost, state: MemberState.FAILED, inc: 0 }]),
      10_000,
      "a to serve c's sync",
    );
    assert.equal(a.h.status(ghost), "suspect", "a sync's failed entry is only a suspicion");
    assert.equal(a.h.confirmations(ghost), 1, "and has no origin");
    // e's sync carries e's own suspicion: a second origin.
    await waitFor(
      () => syncFrom(e, a, [{ peerId: ghost, state: MemberState.SUSPECT, inc: 0, origin: e.id }]),
      10_000,
      "a to serve e's sync",
    );
    assert.equal(a.h.confirmations(ghost), 2);
    assert.equal(a.h.suspectDeadline(ghost), start + S, "K = 2 confirmations: S from the start");
    await tell(c, MemberState.SUSPECT, c);
    assert.equal(a.h.suspectDeadline(ghost), start + S, "never below S");
  });

  it("does not fail a live member that one keeper cannot probe for a while: its lone suspicion outlasts S", async () => {
    const T = 500;
    // a cannot reach b (the link is blocked) and has no helpers (k = 0): its own failed probes are its only
    // evidence — a starved prober's, in miniature. c, d and e reach b all along.
    const ms = await cluster(5, (i) => ({ periodMs: T, probeTimeoutMs: T, indirectProbes: i === 0 ? 0 : 3 }));
    const [a, b, ...others] = ms as [Member, Member, Member, Member, Member];
    const S = a.h.suspicionTimeoutMs();
    assert.equal(S, 4 * T, "S = suspicionMult · T up to 10 keepers");
    let failedAt: number | undefined;
    a.h.addEventListener("peer:failed", (e) => {
      if ((e as CustomEvent<string>).detail === b.id) failedAt ??= Date.now();
    });
    let suspectedAgainAt: number | undefined;
    a.h.addEventListener("peer:suspect", (e) => {
      if ((e as CustomEvent<string>).detail === b.id && a.h.member(b.id)!.incarnation >= 1)
        suspectedAgainAt ??= Date.now();
    });
    a.k.bans.ban(b.k.node.peerId, "test: block the a–b link");
    // a suspects b; b, told by the others, refutes; a takes that once on their word (hearsay clears once), and
    // suspects b again at its next failed probe. From then on nothing but b itself can clear it in a's view.
    await waitFor(() => suspectedAgainAt !== undefined, 20 * S, "a to suspect b a second time");
    const t1 = suspectedAgainAt!;
    const confirmed = a.h.confirmations(b.id);
    // The link stays blocked for 1.5·S: a fixed suspicion (S) would have failed b by then (expiry is checked once a
    // period). A lone one lasts 6·S; one the others echo once, ~2.9·S.
    await waitFor(() => Date.now() >= t1 + 1.5 * S || failedAt !== undefined, 3 * S, "1.5·S to pass");
    assert.equal(
      failedAt,
      undefined,
      `a failed b after ${(failedAt ?? 0) - t1} ms (S = ${S} ms, ${confirmed} confirmations)`,
    );
    for (const o of others) assert.notEqual(o.h.status(b.id), "failed", `${o.id} never failed b`);
    a.k.bans.unban(b.k.node.peerId);
    // b speaks to a again (a probe either way, or a's re-check half-way): its refutation clears the suspicion.
    await waitFor(
      () => a.h.status(b.id) === "alive" || failedAt !== undefined,
      6 * S,
      () => `a to hear b again (held ${a.h.status(b.id)}, ${a.h.confirmations(b.id)} confirmations)`,
    );
    assert.equal(failedAt, undefined, `b was failed ${(failedAt ?? 0) - t1} ms after a's second suspicion`);
    assert.equal(a.h.status(b.id), "alive");
    assert.equal(failures(ms), 0, "nobody declared the live member failed");
  });

  it("does not let gossip confirm a lone suspicion: its relays carry one origin, and the member outlives 2·S", async () => {
    const T = 500;
    // As above, a alone cannot reach b; the 7 others reach it. a's suspicion is relayed by gossip (each update
    // goes out λ·⌈log10 N⌉ times): without an origin every relay counted as a confirmation — at each member that
    // heard it, and at a once K = 2 relays came back from members a had not told — and brought the timeout down
    // to S, as with plain SWIM. With origins, a's suspicion is one statement wherever it travels.
    const ms = await cluster(9, (i) => ({ periodMs: T, probeTimeoutMs: T, indirectProbes: i === 0 ? 0 : 3 }));
    const [a, b, ...others] = ms as [Member, Member, ...Member[]];
    const S = a.h.suspicionTimeoutMs();
    assert.equal(S, 4 * T);
    let failedAt: number | undefined;
    for (const m of ms)
      m.h.addEventListener("peer:failed", (e) => {
        if ((e as CustomEvent<string>).detail === b.id) failedAt ??= Date.now();
      });
    let suspectedAgainAt: number | undefined;
    a.h.addEventListener("peer:suspect", (e) => {
      if ((e as CustomEvent<string>).detail === b.id && a.h.member(b.id)!.incarnation >= 1)
        suspectedAgainAt ??= Date.now();
    });
    /** The most confirmations any keeper counted for its suspicion of b: as it starts (others hold it briefly), and
     * polled while it lasts. */
    let confirmed = 0;
    const count = () => {
      for (const m of ms) confirmed = Math.max(confirmed, m.h.confirmations(b.id));
    };
    for (const m of ms) m.h.addEventListener("peer:suspect", count);
    const poll = setInterval(count, 20);
    a.k.bans.ban(b.k.node.peerId, "test: block the a–b link");
    try {
      // a's first suspicion is cleared once on the others' word (b refutes to them); its second holds.
      await waitFor(() => suspectedAgainAt !== undefined, 20 * S, "a to suspect b a second time");
      const t1 = suspectedAgainAt!;
      await waitFor(() => Date.now() >= t1 + 2 * S || failedAt !== undefined, 4 * S, "2·S to pass");
    } finally {
      clearInterval(poll);
    }
    const heard = others.filter((o) => o.h.metrics.suspicions >= 1).length;
    assert.equal(
      failedAt,
      undefined,
      `b failed ${(failedAt ?? 0) - suspectedAgainAt!} ms after a's second suspicion (S = ${S} ms, ${confirmed} confirmations, ${heard} relays)`,
    );
    assert.equal(confirmed, 0, "relays of a's own suspicion confirmed nothing, anywhere");
    assert.ok(heard >= 1, "a's suspicion did reach the others by gossip");
    assert.equal(a.h.status(b.id), "suspect");
    a.k.bans.unban(b.k.node.peerId);
    await waitFor(() => a.h.status(b.id) === "alive" || failedAt !== undefined, 6 * S, "a to hear b again");
    assert.equal(failures(ms), 0, "nobody declared the live member failed");
  });

  it("still fails a stopped keeper fast: the keepers that find it silent confirm each other's suspicion", async (t) => {
    const T = 200;
    const PROBE = 400;
    const ms = await cluster(6, () => ({ periodMs: T, probeTimeoutMs: PROBE }));
    const victim = ms[5]!;
    const watchers = ms.slice(0, 5);
    await over(ms[0]!, 4);
    const failedAt = new Map<string, number>();
    const confirmations = new Map<string, number>();
    for (const m of watchers)
      m.h.addEventListener("peer:failed", (e) => {
        if ((e as CustomEvent<string>).detail !== victim.id) return;
        failedAt.set(m.id, Date.now());
      });
    const poll = setInterval(() => {
      for (const m of watchers)
        confirmations.set(m.id, Math.max(confirmations.get(m.id) ?? 0, m.h.confirmations(victim.id)));
    }, 20);
    await victim.h.stop();
    await victim.k.node.stop();
    const stoppedAt = Date.now();
    const S = watchers[0]!.h.suspicionTimeoutMs();
    const n = 5;
    // SWIM's bound with S (docs/PROTOCOL.md §3) plus a few periods of gossip: each watcher checks the victim when
    // its connections close, suspects it, and tells the others; K = 2 of them confirming is enough to bring one
    // suspicion down to S, and its verdict reaches the rest by gossip. A lone suspicion would take 6·S.
    const bound = (2 * n - 1) * T + 3 * PROBE + S + T + 4 * T;
    try {
      await waitFor(() => failedAt.size === watchers.length, 6 * S + bound, "every watcher to hold the victim failed");
    } finally {
      clearInterval(poll);
    }
    const first = Math.min(...failedAt.values()) - stoppedAt;
    const last = Math.max(...failedAt.values()) - stoppedAt;
    const slack = 1_000; // a loaded 2-core box delays timers
    assert.ok(
      last <= bound + slack,
      `all failed it after ${first} … ${last} ms (bound ${bound} ms, S = ${S} ms); confirmations seen: ${[...confirmations.values()].join(", ")}`,
    );
    t.diagnostic(
      `failed by all 5 watchers ${first} … ${last} ms after the stop (bound ${bound} ms, S = ${S} ms, 6·S = ${6 * S} ms); most confirmations per watcher: ${[...confirmations.values()].join(", ")}`,
    );
    // The first verdict: the out-of-turn check on disconnect (a probe and a ping-req, 3·t_probe), then S — not the
    // 6·S a lone suspicion would last — and the expiry check at the next period.
    const firstBound = 3 * PROBE + S + T;
    assert.ok(first <= firstBound + slack, `first verdict after ${first} ms (bound ${firstBound} ms; alone: 6·S)`);
    assert.ok(Math.max(...confirmations.values()) >= 1, "someone's suspicion was confirmed by others");
    assert.ok(watchers.reduce((s, m) => s + m.h.metrics.failuresDeclared, 0) >= 1, "someone reached its own verdict");
    for (const m of watchers)
      for (const o of watchers) if (o !== m) assert.equal(m.h.status(o.id), "alive", "live members stay alive");
  });

  it("answers a stranger's probe with a bare ack and never relays its ping-req", async () => {
    const ms = await cluster(2, () => ({ periodMs: 100_000 }));
    const [a, b] = ms as [Member, Member];
    const stranger = await startNode();
    keepers.push(stranger);
    const addr = a.k.node.getMultiaddrs()[0]!;
    const ask = async (target?: string) => {
      const s = await stranger.node.dialProtocol(addr, HEALTH_PROTOCOL);
      const body = Probe.encode({
        seq: 9n,
        target: target === undefined ? new Uint8Array(0) : peerIdBytes(target),
        incarnation: 0n,
        load: 0,
        capacity: 0,
        updates: [{ peerId: peerIdBytes(b.id), state: MemberState.FAILED, incarnation: 5n }],
      });
      s.send(frame(body));
      return readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")));
    };
    const ack = await ask();
    assert.equal(ack.seq, 9n);
    assert.equal(ack.reached, true);
    assert.deepEqual(ack.updates, [], "a stranger learns nothing of the membership");
    assert.equal(a.h.status(b.id), "alive", "a stranger's gossip is ignored");
    await assert.rejects(ask(b.id), "a stranger's ping-req is reset");
    assert.equal(a.h.metrics.relays, 0, "nothing relayed");
    assert.equal(a.h.metrics.strangerPingReqs, 1);
    assert.equal(b.h.metrics.acks + b.h.metrics.strangerAcks, 0, "b never heard of it");
  });

  it("forgets a member failed for forgetFailedAfterMs; watched again it comes back failed, and rejoins alive when it restarts", async () => {
    const FORGET = 2_000;
    const ms = await cluster(3, () => ({ periodMs: 100, probeTimeoutMs: 500, forgetFailedAfterMs: FORGET }));
    const [a, b, c] = ms as [Member, Member, Member];
    await c.h.stop();
    await c.k.node.stop();
    await waitFor(() => a.h.status(c.id) === "failed", 30_000, "a to hold the stopped keeper failed");
    const failedAt = Date.now();
    await waitFor(() => a.h.status(c.id) === undefined, 10 * FORGET, "a to forget the failed keeper");
    assert.ok(Date.now() - failedAt >= FORGET - 200, "not forgotten before forgetFailedAfterMs");
    assert.equal(a.h.metrics.forgotten, 1);
    assert.deepEqual(a.h.counts(), { alive: 1, suspect: 0, failed: 0, forgotten: 1 }, "its state is dropped");
    assert.deepEqual(a.counters.reports(EPOCH), [{ peerId: c.id, successes: 0, failures: 1 }]);
    const syncsToFailed = a.h.metrics.syncsToFailed;
    await over(a, 4 * DEFAULT_SYNC_EVERY_PERIODS);
    assert.equal(a.h.metrics.syncsToFailed, syncsToFailed, "no reconnect sync to a forgotten member");

    // Restarted as itself (same key): routing watches it again, as on its record.
    const back = await startNode(silent, c.k.privateKey);
    keepers.push(back);
    const hc = health({ periodMs: 100, probeTimeoutMs: 500 })({
      node: back.node,
      logger: silent,
      counters: new HealthCounters(tempStore().store),
      currentEpoch: () => EPOCH,
    });
    services.push(hc);
    let failedAgain = 0;
    a.h.addEventListener("peer:failed", () => failedAgain++);
    a.h.watch(c.id);
    assert.equal(a.h.status(c.id), "failed", "watched again, it comes back failed as it left, not alive");
    await back.node.dial(a.k.node.getMultiaddrs()[0]!);
    await back.node.dial(b.k.node.getMultiaddrs()[0]!);
    hc.watch(a.id);
    hc.watch(b.id);
    await hc.start();
    await waitFor(() => a.h.status(c.id) === "alive", 30_000, "a to hold the restarted keeper alive");
    assert.ok(hc.incarnation >= 1, "it refuted the failure a held with a higher incarnation");
    assert.equal(failedAgain, 0, "no second failure");
    assert.deepEqual(a.counters.reports(EPOCH), [{ peerId: c.id, successes: 0, failures: 1 }], "counted once");
  });

  /** Sends one state sync from `from` to `to` (a crafted sample); whether `to` served it (its ack has state). */
  async function syncFrom(
    from: Member,
    to: Member,
    state: { peerId: string; state: MemberState; inc: number; origin?: string }[],
  ) {
    const s = await from.k.node.dialProtocol(to.k.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
    const body = Probe.encode({
      seq: 1n,
      target: new Uint8Array(0),
      incarnation: BigInt(from.h.incarnation),
      load: 0,
      capacity: 0,
      updates: [],
      state: state.map((e) => ({
        peerId: peerIdBytes(e.peerId),
        state: e.state,
        incarnation: BigInt(e.inc),
        ...(e.origin === undefined ? {} : { origin: peerIdBytes(e.origin) }),
      })),
    });
    s.send(frame(body));
    const ack = await readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")));
    return ack.state.length > 0;
  }

  it("serves one chatty member at most its own share of state syncs; the others are still served", async () => {
    // Long periods: no rounds of their own, so every sync a serves is one sent here. Per member: one a period.
    const ms = await cluster(3, () => ({ periodMs: 100_000, syncsServedPerSecond: 4 }));
    const [a, chatty, quiet] = ms as [Member, Member, Member];
    const self = (m: Member) => [{ peerId: m.id, state: MemberState.ALIVE, inc: 0 }];
    let served = 0;
    for (let i = 0; i < 10; i++) if (await syncFrom(chatty, a, self(chatty))) served++;
    assert.equal(served, 2, "the chatty member gets its burst of 2, then plain answers");
    assert.equal(a.h.metrics.syncsRefused, 8);
    assert.ok(await syncFrom(quiet, a, self(quiet)), "another member's sync is still served");
    assert.equal(a.h.metrics.syncsServed, 3);
  });

  it("holds a member's word that pins a member at the largest incarnation one step up (so it can refute)", async () => {
    const ms = await cluster(3, () => ({ periodMs: 100_000 }));
    const [a, b, c] = ms as [Member, Member, Member];
    const MAX = 2n ** 53n - 1n;
    /** `from` probes `to` with `updates` piggybacked; resolves with the ack's sequence number. */
    const probeWith = async (
      from: Member,
      to: Member,
      updates: { peerId: string; state: MemberState }[],
      ownIncarnation = 0n,
    ) => {
      const s = await from.k.node.dialProtocol(to.k.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
      const body = Probe.encode({
        seq: 7n,
        target: new Uint8Array(0),
        incarnation: ownIncarnation,
        load: 0,
        capacity: 0,
        updates: updates.map((u) => ({ peerId: peerIdBytes(u.peerId), state: u.state, incarnation: MAX })),
      });
      s.send(frame(body));
      return (await readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")))).seq;
    };
    // b, a member, gossips "c suspect at 2^53−1" to a in a probe and in a state sync. Before, a held c there; c's
    // refutation (2^53) no longer fits a message, and c stayed failed everywhere.
    assert.equal(await probeWith(b, a, [{ peerId: c.id, state: MemberState.SUSPECT }]), 7n);
    await waitFor(
      () => syncFrom(b, a, [{ peerId: c.id, state: MemberState.FAILED, inc: Number(MAX) }]),
      10_000,
      "a to serve the sync",
    );
    // Each statement held one step above what a held, as any member may state: a suspicion c can refute.
    assert.equal(a.h.member(c.id)!.incarnation, 2, "c's incarnation stays reachable: two statements, two steps");
    assert.equal(a.h.status(c.id), "suspect");
    assert.equal(a.h.metrics.failuresLearned + a.h.metrics.failuresDeclared, 0, "a sync's failure is only a suspicion");
    assert.equal(await probeWith(c, a, [], 3n), 7n);
    assert.equal(a.h.status(c.id), "alive", "c's refutation (incarnation 3) clears it");
    // A failure stated far ahead is still learned (one step up): a member that missed some of a dead member's
    // refutations must still hear of its death.
    assert.equal(await probeWith(b, a, [{ peerId: c.id, state: MemberState.FAILED }]), 7n);
    assert.equal(a.h.status(c.id), "failed");
    assert.equal(a.h.member(c.id)!.incarnation, 4);
    assert.equal(a.h.metrics.failuresLearned, 1);
    // Told of itself, c ignores a suspicion it could not refute rather than raising its incarnation out of range.
    assert.equal(await probeWith(b, c, [{ peerId: c.id, state: MemberState.SUSPECT }]), 7n);
    assert.equal(c.h.incarnation, 0, "c's incarnation is untouched");
  });

  it("applies a sync's alive entry about a member it suspects only one incarnation up; a bigger jump is checked", async () => {
    const ms = await cluster(2, (i) =>
      i === 0 ? { periodMs: 100, probeTimeoutMs: 300, indirectProbes: 0, suspicionMult: 1_000 } : { periodMs: 100_000 },
    );
    const [a, b] = ms as [Member, Member];
    // A member that never answers (no node behind the id): a suspects it and holds the suspicion.
    const ghost = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    a.h.watch(ghost);
    await waitFor(() => a.h.status(ghost) === "suspect", 30_000, "a to suspect the silent member");
    const held = a.h.member(ghost)!.incarnation;
    const entry = (inc: number) => [{ peerId: ghost, state: MemberState.ALIVE, inc }];
    const served = async (inc: number) =>
      waitFor(() => syncFrom(b, a, entry(inc)), 10_000, `a to serve the sync saying alive at ${inc}`);

    let cleared = 0;
    a.h.addEventListener("peer:alive", (e) => (cleared += (e as CustomEvent<string>).detail === ghost ? 1 : 0));
    await served(held);
    assert.equal(a.h.status(ghost), "suspect", "the same incarnation does not clear a suspicion");
    const checks = a.h.metrics.outOfTurnChecks;
    await served(held + 5);
    assert.equal(a.h.status(ghost), "suspect", "a jump of 5 incarnations is not taken on another member's word");
    assert.equal(cleared, 0, "no refutation so far");
    assert.equal(a.h.metrics.syncEntriesRefused, 1);
    await waitFor(() => a.h.metrics.outOfTurnChecks > checks, 10_000, "a to check the member itself");
    // a's rotation may suspect the silent member again right after (at the new incarnation): the event tells.
    let refuted = false;
    a.h.addEventListener("peer:alive", (e) => (refuted ||= (e as CustomEvent<string>).detail === ghost));
    await served(held + 1);
    assert.ok(refuted, "one incarnation up is a refutation");
    assert.equal(a.h.member(ghost)?.incarnation, held + 1);
  });

  it("lets another member's word clear a suspicion once, not again until the member speaks (a liar cannot keep a dead one alive)", async () => {
    const ms = await cluster(2, (i) =>
      i === 0 ? { periodMs: 100, probeTimeoutMs: 300, indirectProbes: 0, suspicionMult: 1_000 } : { periodMs: 100_000 },
    );
    const [a, b] = ms as [Member, Member];
    const ghost = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    a.h.watch(ghost);
    /** b tells a, piggybacked on a probe, that the ghost is alive at `inc`. */
    const gossipAlive = async (inc: number) => {
      const s = await b.k.node.dialProtocol(a.k.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
      const body = Probe.encode({
        seq: 9n,
        target: new Uint8Array(0),
        incarnation: BigInt(b.h.incarnation),
        load: 0,
        capacity: 0,
        updates: [{ peerId: peerIdBytes(ghost), state: MemberState.ALIVE, incarnation: BigInt(inc) }],
      });
      s.send(frame(body));
      await readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")));
    };
    let cleared = 0;
    a.h.addEventListener("peer:alive", (e) => (cleared += (e as CustomEvent<string>).detail === ghost ? 1 : 0));
    await waitFor(() => a.h.status(ghost) === "suspect", 30_000, "a to suspect the silent member");
    await gossipAlive(a.h.member(ghost)!.incarnation + 1);
    assert.equal(cleared, 1, "the first refutation passed on clears the suspicion");
    assert.equal(a.h.metrics.hearsayRefused, 0);
    // The ghost never answers: a's rotation suspects it again, at the new incarnation.
    await waitFor(() => a.h.status(ghost) === "suspect", 30_000, "a to suspect the silent member again");
    await gossipAlive(a.h.member(ghost)!.incarnation + 1);
    assert.equal(a.h.status(ghost), "suspect", "the same word again is not taken: the ghost has not spoken since");
    assert.equal(cleared, 1);
    assert.equal(a.h.metrics.hearsayRefused, 1);
  });

  it("takes a refused refutation once a helper reaches the member for it (partial reachability)", async () => {
    // Suspicions last 10 s here (20 × T): a re-checks a suspect meanwhile, then it would time out.
    const ms = await cluster(3, () => ({ periodMs: 500, probeTimeoutMs: 1_000, suspicionMult: 20 }));
    const [a, b, c] = ms as [Member, Member, Member];
    // a cannot reach c directly; b can (a's ping-req through b reaches c) — but not while b tells a about c: a
    // helper reaching c in between would rightly let the second refutation through.
    a.k.bans.ban(c.k.node.peerId, "test: block the a–c link");
    b.k.bans.ban(c.k.node.peerId, "test: block the b–c link while b tells");
    await waitFor(() => a.k.node.getConnections(c.k.node.peerId).length === 0, 10_000, "the a–c link to drop");
    await waitFor(() => b.k.node.getConnections(c.k.node.peerId).length === 0, 10_000, "the b–c link to drop");
    /** b tells a, piggybacked on a probe, a statement about c. */
    const tell = async (state: MemberState, inc: number) => {
      const s = await b.k.node.dialProtocol(a.k.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
      const body = Probe.encode({
        seq: 11n,
        target: new Uint8Array(0),
        incarnation: BigInt(b.h.incarnation),
        load: 0,
        capacity: 0,
        updates: [{ peerId: peerIdBytes(c.id), state, incarnation: BigInt(inc) }],
      });
      s.send(frame(body));
      await readMessage<Ack>(s, Ack, MAX_HEALTH_MESSAGE_BYTES).finally(() => s.abort(new Error("done")));
    };
    await tell(MemberState.SUSPECT, 0);
    await tell(MemberState.ALIVE, 1);
    assert.equal(a.h.status(c.id), "alive", "the first refutation passed on clears it");
    await tell(MemberState.SUSPECT, 1);
    await tell(MemberState.ALIVE, 2);
    assert.equal(a.h.metrics.hearsayRefused, 1, "the second is refused on hearsay alone");
    // a checks c itself: the direct probe fails, b (reaching c again) does — and the refutation a refused now
    // applies, before the suspicion would have timed out.
    b.k.bans.unban(c.k.node.peerId);
    await waitFor(() => a.h.status(c.id) !== "suspect", 30_000, "a's verdict on c");
    assert.equal(a.h.status(c.id), "alive", "reached through b: alive, not failed");
    assert.equal(a.h.member(c.id)?.incarnation, 2);
    assert.equal(a.h.metrics.failuresDeclared + a.h.metrics.failuresLearned, 0);
  });

  it("hands the RTT of a direct probe on an open connection to onRtt, and none for a probe that had to dial", async () => {
    const [a, b] = [await startNode(), await startNode()];
    keepers.push(a, b);
    const samples: Array<[string, number]> = [];
    const h = health({})({
      node: a.node,
      logger: silent,
      counters: new HealthCounters(tempStore().store),
      currentEpoch: () => EPOCH,
      onRtt: (peerId, ms) => samples.push([peerId, ms]),
    });
    services.push(h);
    const hb = health({})({
      node: b.node,
      logger: silent,
      counters: new HealthCounters(tempStore().store),
      currentEpoch: () => EPOCH,
    });
    services.push(hb);
    await hb.start();
    await a.node.peerStore.merge(b.node.peerId, { multiaddrs: b.node.getMultiaddrs() });
    const bid = b.node.peerId.toString();
    await h.probe(bid);
    assert.equal(samples.length, 0, "a probe that dialled is not an RTT sample");
    const rtt = await h.probe(bid);
    assert.equal(samples.length, 1);
    assert.equal(samples[0]![0], bid);
    assert.equal(samples[0]![1], rtt);
  });

  it("persists per-epoch task outcome counters across a store reopen", async () => {
    keepers.push(await startNode());
    const { path, store } = tempStore();
    const h = health()({
      node: keepers[0]!.node,
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

  it("rejects malformed and oversized probes with a logged reason, bans the sender, and keeps serving", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [server, attacker, honest] = keepers as [TestKeeper, TestKeeper, TestKeeper];
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
          const s = await attacker.node.dialProtocol(server.node.getMultiaddrs()[0]!, HEALTH_PROTOCOL);
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
    await send(Uint8Array.from([0])); // empty probe: seq 0
    await waitFor(() => lines.some((l) => l.code === "ERR_INVALID_FIELD"), 15_000, "invalid field rejection");
    for (const l of lines.filter((x) => x.msg === "health message rejected")) {
      assert.equal(typeof l.reason, "string", "every rejection carries a reason");
    }
    // Still serving: an honest peer's probe is answered.
    const rtt = await hh.probe(server.node.peerId.toString()).catch(async () => {
      await honest.node.dial(server.node.getMultiaddrs()[0]!);
      return hh.probe(server.node.peerId.toString());
    });
    assert.ok(rtt >= 0);
  });
});
