/**
 * Merged Reputation reports across keepers on 127.0.0.1: three keepers with real libp2p nodes, stores and chain
 * keys, each with its own view of the epoch's health, sign their observations, pull each other's over
 * `/lumora/epoch/1.0.0` (kind `observations`, paged two entries at a time) — one of them freezing late, so the others
 * are first told "not frozen" and ask again — and all three reach the same reports and reports root, in which one
 * keeper's view that a healthy peer failed everything does not flag it. `check` (what an approver runs on the
 * submitter's set) refuses a set that dropped or altered this keeper's observations.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { Wallet, getAddress } from "ethers";

import { EpochExchangeError } from "../../../../keeper/epochs/exchange/errors.ts";
import { EpochExchange } from "../../../../keeper/epochs/exchange/protocol.ts";
import { EpochObserver, type FrozenOutcome } from "../../../../keeper/epochs/observe/observer.ts";
import { mergeObservations } from "../../../../keeper/epochs/observe/merge.ts";
import { sameObservation, signObservation } from "../../../../keeper/epochs/observe/observation.ts";
import { ObservationStore } from "../../../../keeper/epochs/observe/store.ts";
import { ObservationsNotReadyError } from "../../../../keeper/epochs/observe/errors.ts";
import { reportBatchesOf } from "../../../../keeper/epochs/quorum/commitment.ts";
import { encodeReport } from "../../../../keeper/epochs/submit/submitter.ts";
import type { ReputationReport } from "../../../../keeper/epochs/types.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import { silent, startNode, waitFor, type TestKeeper } from "../../helpers.ts";

const DOMAIN = { chainId: 31337, quorum: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const EPOCH = 1;
const account = (i: number) => getAddress("0x" + (0xa0 + i).toString(16).padStart(40, "0"));
const subject = (i: number) => `12D3KooWSubject${i}`.padEnd(52, "x");

/** Each keeper's own counts of the epoch: subject 0 is healthy for keepers 0 and 1, failing for keeper 2. */
const VIEWS: FrozenOutcome[][] = [
  [
    { peerId: subject(0), account: account(0), successes: 10, failures: 0 },
    { peerId: subject(1), account: account(1), successes: 5, failures: 1 },
    { peerId: subject(2), account: account(2), successes: 3, failures: 0 },
  ],
  [
    { peerId: subject(0), account: account(0), successes: 8, failures: 1 },
    { peerId: subject(1), account: account(1), successes: 7, failures: 0 },
  ],
  [
    { peerId: subject(0), account: account(0), successes: 0, failures: 12 },
    { peerId: subject(1), account: account(1), successes: 6, failures: 2 },
    { peerId: subject(2), account: account(2), successes: 2, failures: 0 },
  ],
];

/** An epoch in which each keeper counted LARGE_PEERS peers: 600 observations in all (review M-2's figure). */
const LARGE_EPOCH = 40;
const LARGE_PEERS = 200;
const largeView = (keeper: number): FrozenOutcome[] =>
  Array.from({ length: LARGE_PEERS }, (_, p) => ({
    peerId: subject(100 + p),
    account: account(100 + p),
    successes: 10 + keeper,
    failures: p % 3,
  }));

interface Keeper {
  wallet: Wallet;
  p2p: TestKeeper;
  store: Store;
  observations: ObservationStore;
  exchange: EpochExchange;
  observer: EpochObserver;
}

const rootOf = (reports: ReputationReport[]) => reportBatchesOf(reports.map(encodeReport), 500).root;

describe("epochs/observe: keepers merge their signed observations", { timeout: 120_000 }, () => {
  let dir: string;
  const keepers: Keeper[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lumora-observe-"));
    const wallets = [1, 2, 3].map((i) => new Wallet("0x" + (0xd0 + i).toString(16).padStart(64, "0")));
    const quorumKeepers = new Set(wallets.map((w) => w.address));
    const nodes = await Promise.all(wallets.map(() => startNode()));
    const peerIds = nodes.map((n) => n.node.peerId.toString());
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.node.dial(b.node.getMultiaddrs()[0]!);
    for (const [i, wallet] of wallets.entries()) {
      const store = openStore(path.join(dir, `k${i}.db`));
      const observations = new ObservationStore(store);
      const k = { wallet, p2p: nodes[i]!, store, observations } as Keeper;
      k.exchange = new EpochExchange(
        {
          node: nodes[i]!.node,
          logger: silent,
          ownReceipts: () => [],
          isKeeper: (peerId) => peerIds.includes(peerId),
          observations: (epoch) => k.observer.served(epoch),
        },
        // Two entries a response: every pull of a keeper's set follows the cursor over several pages.
        { maxEntriesPerResponse: 2 },
      );
      await k.exchange.start();
      k.observer = new EpochObserver(
        {
          observations,
          logger: silent,
          domain: DOMAIN,
          signer: { address: wallet.address, signDigest: (d) => wallet.signingKey.sign(d).serialized },
          frozenOutcomes: (epoch) => (epoch === LARGE_EPOCH ? largeView(i) : VIEWS[i]!),
          keepers: () => peerIds.filter((p) => p !== peerIds[i]),
          pull: (peer, epoch, opts) => k.exchange.pullObservations(peer, epoch, opts),
          observers: async () => quorumKeepers,
        },
        { waitMs: 30_000, retryMs: 100 },
      );
      keepers.push(k);
    }
  });

  after(async () => {
    for (const k of keepers) {
      await k.exchange.stop();
      await k.p2p.node.stop();
      k.store.close();
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("three keepers with different views reach one reports root; one keeper's failing view flags nobody", async () => {
    const [k0, k1, k2] = keepers as [Keeper, Keeper, Keeper];
    // Keepers 0 and 2 freeze first; keeper 1 only once keeper 0 has been told it has not frozen the epoch yet.
    const early = [k0.observer.observe(EPOCH, { signal: AbortSignal.timeout(60_000) })];
    early.push(k2.observer.observe(EPOCH, { signal: AbortSignal.timeout(60_000) }));
    await waitFor(
      () => k0.observations.of(DOMAIN.quorum, EPOCH).some((o) => o.observer === k2.wallet.address),
      30_000,
      "keeper 0 to hold keeper 2's observations (its first round, in which keeper 1 had not frozen)",
    );
    assert.equal(k0.observations.sealed(DOMAIN.quorum, EPOCH), false, "keeper 0 still waits for keeper 1");
    await k1.observer.observe(EPOCH, { signal: AbortSignal.timeout(60_000) });
    await Promise.all(early);

    const held = keepers.map((k) => k.observer.observationsOf(EPOCH));
    assert.equal(held[0]!.length, 8, "every keeper's observations, 3 + 2 + 3");
    for (const [i, h] of held.entries()) assert.deepEqual(h, held[0], `keeper ${i} holds the same set`);
    const reports = keepers.map((k) => k.observer.reportsOf(EPOCH));
    for (const [i, r] of reports.entries()) assert.deepEqual(r, reports[0], `keeper ${i} merges the same reports`);
    assert.equal(new Set(reports.map(rootOf)).size, 1, "one reports root");
    // Subject 0: failure ratios 0, 1/9 and 12/12 → the second worst, keeper 1's (8, 1): not a failing epoch.
    // Subject 1: 1/6, 0, 2/8 → keeper 0's (5, 1). Subject 2: two healthy views → the second, by address.
    assert.deepEqual(reports[0]![0], { node: account(0), successes: 8, failures: 1 });
    assert.deepEqual(reports[0]![1], { node: account(1), successes: 5, failures: 1 });
    assert.equal(reports[0]!.length, 3);
    assert.equal(reports[0]![2]!.failures, 0);
    // Sealed: nothing joins the set any more.
    assert.equal(k0.observations.add(DOMAIN.quorum, EPOCH, held[1]!), 0);
  });

  it("refuses a set that dropped or altered this keeper's observations or left out another keeper's, and accepts the full one", async () => {
    const [k0, k1] = keepers as [Keeper, Keeper];
    const theirs = await k0.exchange.pullObservations(k1.p2p.node.peerId, EPOCH);
    const signal = AbortSignal.timeout(10_000);
    const full = await k0.observer.check(EPOCH, theirs, { signal });
    assert.deepEqual(full, { observations: theirs });
    const dropped = theirs.filter((o) => o.observer !== k0.wallet.address);
    const refused = await k0.observer.check(EPOCH, dropped, { signal });
    // The refusal hands back what the set lacks (a union round's material): exactly k0's own three.
    const own = k0.observer.observationsOf(EPOCH).filter((o) => o.observer === k0.wallet.address);
    assert.deepEqual(refused, { problem: "3 of this keeper's 3 observations are missing or altered", missing: own });
    // k0 holds k2's observations from its own gather: a set without them is refused, naming k2.
    const k2 = keepers[2]!.wallet.address;
    const hidden = await k0.observer.check(
      EPOCH,
      theirs.filter((o) => o.observer !== k2),
      { signal },
    );
    assert.deepEqual(hidden, {
      problem: `3 observation(s) of other quorum keepers that this keeper holds are left out (by ${k2})`,
      missing: k0.observer.observationsOf(EPOCH).filter((o) => o.observer === k2),
    });
    const altered = theirs.map((o) => (o.observer === k0.wallet.address ? { ...o, failures: o.failures + 1 } : o));
    const forged = await k1.observer.check(EPOCH, altered, { signal });
    assert.ok("problem" in forged && /not by its observer/.test(forged.problem), JSON.stringify(forged));
    // One outcome twice (a copy) is no equivocation: the store keeps one, so a set carrying both would hash otherwise
    // than every keeper's stored set after a re-finalize (review 2026-11-30).
    const copied = await k0.observer.check(EPOCH, [...theirs, theirs[0]!], { signal });
    assert.ok("problem" in copied && /the same outcome of .* twice/.test(copied.problem), JSON.stringify(copied));
  });

  it("an observer that signed two outcomes of one peer counts for neither once the set holds both (equivocation)", async () => {
    const [k0, k1, k2] = keepers as [Keeper, Keeper, Keeper];
    const signal = AbortSignal.timeout(10_000);
    const theirs = await k0.exchange.pullObservations(k1.p2p.node.peerId, EPOCH);
    // k2 signs another outcome of subject 0 than the one k0 holds, and the set carries that one instead.
    const held = theirs.find((o) => o.observer === k2.wallet.address && o.subject === subject(0))!;
    const other = signObservation(
      DOMAIN,
      { ...held, failures: 0, successes: 50 },
      (d) => k2.wallet.signingKey.sign(d).serialized,
    );
    const swapped = theirs.map((o) => (o === held ? other : o));
    const refused = await k0.observer.check(EPOCH, swapped, { signal });
    assert.ok(
      "problem" in refused && /1 of them another outcome than the set's \(equivocation\)/.test(refused.problem),
    );
    assert.deepEqual("problem" in refused && refused.missing, [held], "k0 hands back the outcome it holds");
    // With both in the set (what the union round makes of it) k0 accepts it, and the merge drops k2 for subject 0.
    const both = [...swapped, held];
    assert.deepEqual(await k0.observer.check(EPOCH, both, { signal }), { observations: both });
    const merged = mergeObservations(both, { maxFaulty: 1 });
    assert.deepEqual(merged.equivocations, [`${k2.wallet.address.toLowerCase()}/${subject(0)}`]);
    assert.deepEqual(
      merged.reports,
      mergeObservations(
        both.filter((o) => o !== held && o !== other),
        { maxFaulty: 1 },
      ).reports,
    );
    // The store keeps the second outcome beside the first (the proof), and no third.
    const store = new ObservationStore(openStore(":memory:"));
    assert.equal(store.add(DOMAIN.quorum, EPOCH, [held, other]), 2);
    const third = signObservation(DOMAIN, { ...held, failures: 7 }, (d) => k2.wallet.signingKey.sign(d).serialized);
    assert.equal(store.add(DOMAIN.quorum, EPOCH, [third, { ...held, signature: other.signature }]), 0);
    assert.equal(store.of(DOMAIN.quorum, EPOCH).length, 2);
  });

  it("an approver verifies only the observations it does not hold byte-identical, in batches that yield (M-2)", async () => {
    const [k0, k1, k2] = keepers as [Keeper, Keeper, Keeper];
    const signal = AbortSignal.timeout(60_000);
    await Promise.all(keepers.map((k) => k.observer.observe(LARGE_EPOCH, { signal })));
    assert.equal(k0.observer.observationsOf(LARGE_EPOCH).length, 3 * LARGE_PEERS);
    // The submitter holds the same set (joined as a union round would, whatever its gather missed).
    await k1.observer.unite(LARGE_EPOCH, k0.observer.observationsOf(LARGE_EPOCH), { signal });
    assert.equal(k1.observer.observationsOf(LARGE_EPOCH).length, 3 * LARGE_PEERS);

    // A signature request: the approver (k0) checks the submitter's (k1's) set — what `checkPeer` pulls; this
    // exchange pages two entries at a time, too few pages for 600. Every observation is one k0 gathered and
    // verified itself: none is verified again (before M-2: 600 per request).
    let before = k0.observer.stats.checkVerified;
    const request = await k0.observer.check(LARGE_EPOCH, k1.observer.served(LARGE_EPOCH)!, { signal });
    assert.ok("observations" in request, JSON.stringify("problem" in request && request.problem));
    assert.equal(request.observations.length, 3 * LARGE_PEERS);
    assert.equal(k0.observer.stats.checkVerified - before, 0, "signature verifications in one request");

    // A set with 40 observations k0 does not hold (k2's of other peers): exactly those are verified, in batches of
    // OBSERVATION_VERIFY_BATCH with the event loop turning in between.
    const fresh = Array.from({ length: 40 }, (_, p) =>
      signObservation(
        DOMAIN,
        {
          epoch: LARGE_EPOCH,
          observer: k2.wallet.address,
          subject: subject(1_000 + p),
          account: account(1_000 + p),
          successes: 1,
          failures: 0,
        },
        (d) => k2.wallet.signingKey.sign(d).serialized,
      ),
    );
    let turns = 0;
    let spinning = true;
    const spin = () => {
      if (!spinning) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    before = k0.observer.stats.checkVerified;
    const larger = await k0.observer.check(LARGE_EPOCH, [...request.observations, ...fresh], { signal });
    spinning = false;
    assert.ok("observations" in larger);
    assert.equal(k0.observer.stats.checkVerified - before, fresh.length, "only the 40 not held are verified");
    assert.ok(turns >= 2, `the event loop turned between batches (${turns} turns)`);
    // A forged one among them is still caught.
    const forged = { ...fresh[7]!, successes: 2 };
    const refused = await k0.observer.check(LARGE_EPOCH, [...request.observations, ...fresh.slice(0, 7), forged], {
      signal,
    });
    assert.ok("problem" in refused && refused.problem.startsWith(`observation of ${subject(1_007)} by`));
  });

  it("a union round joins only observations of the epoch, signed by a quorum keeper, to the sealed set", async () => {
    const [k0, k1, k2] = keepers as [Keeper, Keeper, Keeper];
    const signal = AbortSignal.timeout(10_000);
    assert.equal(k0.observations.sealed(DOMAIN.quorum, EPOCH), true);
    const before = k0.observer.observationsOf(EPOCH).length;
    const sign = (w: Wallet, epoch: number, peer: number) =>
      signObservation(
        DOMAIN,
        { epoch, observer: w.address, subject: subject(peer), account: account(peer), successes: 1, failures: 0 },
        (d) => w.signingKey.sign(d).serialized,
      );
    const stranger = new Wallet(Wallet.createRandom().privateKey);
    const valid = sign(k1.wallet, EPOCH, 9);
    const offered = [
      valid,
      sign(stranger, EPOCH, 8), // not a quorum keeper
      { ...sign(k2.wallet, EPOCH, 7), successes: 2 }, // changed after signing
      sign(k2.wallet, EPOCH + 5, 6), // another epoch
    ];
    const v0 = k0.observer.stats.uniteVerified;
    assert.equal(await k0.observer.unite(EPOCH, offered, { signal }), 1);
    assert.equal(k0.observer.stats.uniteVerified - v0, offered.length, "each new observation checked once");
    const after = k0.observer.observationsOf(EPOCH);
    assert.equal(after.length, before + 1);
    assert.ok(after.some((o) => sameObservation(o, valid)));
    assert.equal(await k0.observer.unite(EPOCH, [valid], { signal }), 0, "held already");
    // Held and repeated observations are not verified again: a refusal handing back the whole set costs nothing.
    const verified = k0.observer.stats.uniteVerified;
    const all = k0.observer.observationsOf(EPOCH);
    assert.equal(await k0.observer.unite(EPOCH, [...all, ...all], { signal }), 0);
    assert.equal(k0.observer.stats.uniteVerified, verified, `none of ${2 * all.length} verified`);
  });

  it("derives f from the quorum's size unless configured: 0 for one keeper, max(1, ⌊(n−1)/3⌋) else (M-4)", async () => {
    const k0 = keepers[0]!;
    const signal = AbortSignal.timeout(30_000);
    /** An observer alone (it pulls from nobody) in a quorum of `n` keepers, itself included, on its own store. */
    const alone = (n: number, rule?: { maxFaulty: number }) => {
      const others = Array.from({ length: n - 1 }, () => Wallet.createRandom().address);
      return new EpochObserver(
        {
          observations: new ObservationStore(openStore(":memory:")),
          logger: silent,
          domain: DOMAIN,
          signer: { address: k0.wallet.address, signDigest: (d) => k0.wallet.signingKey.sign(d).serialized },
          frozenOutcomes: () => VIEWS[0]!,
          keepers: () => [],
          pull: async () => [],
          observers: async () => new Set([k0.wallet.address, ...others]),
        },
        { retryMs: 10, ...(rule !== undefined && { rule }) },
      );
    };
    const derived: number[] = [];
    for (const n of [1, 2, 3, 4, 7, 10]) {
      const observer = alone(n);
      await observer.observe(EPOCH, { signal });
      derived.push(observer.evidence(EPOCH).observationRule.maxFaulty);
    }
    assert.deepEqual(derived, [0, 1, 1, 1, 2, 3]);
    // A one-keeper quorum reports what its only keeper observed (under f = 1 it never would).
    const single = alone(1);
    await single.observe(EPOCH, { signal });
    assert.deepEqual(
      single.reportsOf(EPOCH).map((r) => [r.node, r.successes, r.failures]),
      VIEWS[0]!.map((o) => [o.account, o.successes, o.failures]),
    );
    // A configured f wins.
    const configured = alone(1, { maxFaulty: 1 });
    await configured.observe(EPOCH, { signal });
    assert.equal(configured.evidence(EPOCH).observationRule.maxFaulty, 1);
    assert.deepEqual(configured.reportsOf(EPOCH), []);
  });

  it("stops waiting for a keeper it cannot reach after a few failed pulls, long before the wait is over", async () => {
    const k0 = keepers[0]!;
    const gone = await startNode();
    const goneId = gone.node.peerId.toString();
    await gone.node.stop();
    const observer = new EpochObserver(
      {
        observations: k0.observations,
        logger: silent,
        domain: DOMAIN,
        signer: { address: k0.wallet.address, signDigest: (d) => k0.wallet.signingKey.sign(d).serialized },
        frozenOutcomes: () => VIEWS[0]!,
        keepers: () => [goneId],
        pull: (peer, epoch, opts) => k0.exchange.pullObservations(peer, epoch, opts),
        observers: async () => new Set([k0.wallet.address]),
      },
      { waitMs: 600_000, retryMs: 100 },
    );
    // Aborted long before the 10-minute wait: only giving up on the unreachable keeper lets it finish.
    await observer.observe(EPOCH + 2, { signal: AbortSignal.timeout(60_000) });
    assert.equal(k0.observations.sealed(DOMAIN.quorum, EPOCH + 2), true);
    assert.equal(observer.observationsOf(EPOCH + 2).length, 3, "its own three");
  });

  it("ends a pull that carries more observations than the caller's bound with a penalising error", async () => {
    const [k0, k1] = keepers as [Keeper, Keeper];
    const held = k1.observer.observationsOf(EPOCH).length;
    assert.ok(held > 3, `k1 holds ${held}`);
    await assert.rejects(k0.exchange.pullObservations(k1.p2p.node.peerId, EPOCH, { maxEntries: 3 }), (err: unknown) => {
      assert.ok(err instanceof EpochExchangeError, String(err));
      assert.equal(err.message, `more than 3 observations of epoch ${EPOCH} in one pull`);
      assert.equal(err.penalise, true);
      return true;
    });
    assert.equal((await k0.exchange.pullObservations(k1.p2p.node.peerId, EPOCH, { maxEntries: held })).length, held);
  });

  it("tells a keeper asking for an epoch it has not frozen to ask again", async () => {
    const [k0, k1] = keepers as [Keeper, Keeper];
    await assert.rejects(k0.exchange.pullObservations(k1.p2p.node.peerId, EPOCH + 1), (err: unknown) => {
      assert.ok(err instanceof ObservationsNotReadyError, String(err));
      assert.equal(err.epoch, EPOCH + 1);
      return true;
    });
  });
});
