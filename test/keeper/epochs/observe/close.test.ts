/**
 * The close with merged reports, in one process: two keepers' collectors (real node:sqlite stores) with different
 * health counts freeze the same epoch, sign their observations between the freeze and the finalize and take each
 * other's (handed over in process here; the wire is test/keeper/epochs/observe/observer.test.ts), and both commit the
 * same merged Reputation reports — not their own counts — which their published evidence recomputes exactly.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { Wallet } from "ethers";

import { signAuditOutcome, type SignedAuditOutcome } from "../../../../keeper/audit/outcome.ts";
import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import { reputationReports } from "../../../../keeper/epochs/collect/contribution.ts";
import { ObservationsNotReadyError } from "../../../../keeper/epochs/observe/errors.ts";
import { observationSetHash } from "../../../../keeper/epochs/observe/observation.ts";
import { EpochObserver } from "../../../../keeper/epochs/observe/observer.ts";
import { ObservationStore } from "../../../../keeper/epochs/observe/store.ts";
import { encodeEvidence, parseEvidence, recompute } from "../../../../keeper/epochs/proofs/evidence.ts";
import type { EpochBundle } from "../../../../keeper/epochs/types.ts";
import { silent } from "../../helpers.ts";
import { peer, signedReceipt, world, type EpochWorld, type Peer } from "../fixtures.ts";

const DOMAIN = { chainId: 31337, quorum: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const CLOSE_MS = 2_000;

/** The peer's signed record (its reward account), valid at the close. */
function recordOf(p: Peer): Promise<Uint8Array> {
  return signPeerRecord(p.key, {
    seq: 1n,
    issuedAtMs: 0,
    expiresAtMs: CLOSE_MS + 600_000,
    capabilities: ["provider"],
    bandwidthBps: 1_000_000,
    capacity: 1,
    load: 0,
    shard: 0,
    rewardAddress: p.address,
    addrs: ["/ip4/127.0.0.1/tcp/1"],
  });
}

interface Keepers {
  keepers: [EpochWorld, EpochWorld];
  observers: EpochObserver[];
  /** Closes the epoch on both keepers, each observing between its freeze and its finalize. */
  close(): Promise<[EpochBundle, EpochBundle]>;
  /** Keeper i's published evidence, recomputed from its JSON. */
  recomputed(i: number): Promise<Awaited<ReturnType<typeof recompute>>>;
}

/**
 * Two keepers (real stores) holding `receipt`, each with its own quorum wallet, handing their signed observations to
 * each other in process; `audits[i]` are keeper i's own audit outcomes of the epoch.
 */
function twoKeepers(
  worlds: EpochWorld[],
  providers: Peer[],
  records: Map<string, Uint8Array>,
  receipt: Awaited<ReturnType<typeof signedReceipt>>,
  audits: SignedAuditOutcome[][] = [[], []],
): Keepers {
  const wallets = [new Wallet("0x" + "e1".repeat(32)), new Wallet("0x" + "e2".repeat(32))];
  const observers: EpochObserver[] = [];
  const keepers = wallets.map((wallet, i) => {
    const w = world(
      { genesisMs: 1_000 },
      {
        mergedReports: (epoch) => observers[i]!.reportsOf(epoch),
        observationsHash: (epoch) => observationSetHash(observers[i]!.observationsOf(epoch)),
        mergedDisqualified: (epoch, rule) => observers[i]!.disqualifiedOf(epoch, rule),
        recordOf: (id) => records.get(id),
        auditsBetween: () => audits[i]!,
      },
    );
    worlds.push(w);
    for (const p of providers) w.addresses.set(p.id, p.address);
    w.storeReceipt(receipt, 1_500);
    observers.push(
      new EpochObserver(
        {
          observations: new ObservationStore(w.store),
          logger: silent,
          domain: DOMAIN,
          signer: { address: wallet.address, signDigest: (d) => wallet.signingKey.sign(d).serialized },
          frozenOutcomes: (epoch) => w.collector.frozenOutcomes(epoch),
          keepers: () => [`keeper-${1 - i}`],
          pull: async (peerId, epoch) => {
            const held = observers[1 - i]!.served(epoch);
            if (held === undefined) throw new ObservationsNotReadyError(peerId, epoch);
            return held;
          },
          observers: async () => new Set(wallets.map((x) => x.address)),
        },
        { waitMs: 30_000, retryMs: 20 },
      ),
    );
    return w;
  }) as [EpochWorld, EpochWorld];
  return {
    keepers,
    observers,
    async close() {
      const signal = AbortSignal.timeout(30_000);
      const bundles = await Promise.all(
        keepers.map((w, i) =>
          w.collector.close({ endMs: CLOSE_MS, beforeFinalize: (epoch) => observers[i]!.observe(epoch, { signal }) }),
        ),
      );
      return bundles as [EpochBundle, EpochBundle];
    },
    async recomputed(i) {
      const evidence = { ...keepers[i]!.collector.evidence(1), ...observers[i]!.evidence(1) };
      return recompute(parseEvidence(JSON.parse(encodeEvidence(1, evidence)), 1), CLOSE_MS);
    },
  };
}

/** `n` audit outcomes of `provider` by `auditor` in epoch 1, failed or passed. */
function auditsOf(auditor: Peer, provider: Peer, n: number, failed: boolean): Promise<SignedAuditOutcome[]> {
  return Promise.all(
    Array.from({ length: n }, (_, k) =>
      signAuditOutcome(auditor.key, {
        auditor: auditor.id,
        provider: provider.id,
        objectId: "ab".repeat(32),
        epoch: 1,
        startedAtMs: 1_100 + k,
        bytes: failed ? 0 : 262_144,
        elapsedMs: 100,
        firstByteMs: failed ? -1 : 10,
        throughputBps: failed ? 0 : 2_621_440,
        announcedBps: 1_000_000,
        outcome: failed ? "unreachable" : "pass",
        code: failed ? "UNREACHABLE" : "",
      }),
    ),
  );
}

describe("epochs/observe: a close merges its reports from the keepers' observations", () => {
  const worlds: EpochWorld[] = [];
  afterEach(() => {
    for (const w of worlds.splice(0)) w.close();
  });

  it("two keepers with different counts commit the same merged reports and C_i, which their evidence recomputes", async () => {
    const [p1, p2, consumer] = await Promise.all([peer(0x71), peer(0x72), peer(0x73)]);
    const records = new Map([
      [p1.id, await recordOf(p1)],
      [p2.id, await recordOf(p2)],
    ]);
    // p2 served 8 000 verified bytes; both keepers hold the consumer's receipt.
    const receipt = await signedReceipt(consumer, p2, 8_000, 1, 1_500);
    const { keepers, observers, close, recomputed } = twoKeepers(worlds, [p1, p2], records, receipt);
    const [a, b] = keepers;
    // Keeper A saw p1 healthy and p2 fail; keeper B saw p1 fail once and p2 healthy.
    for (let n = 0; n < 5; n++) a.counters.record(1, p1.id, true);
    for (let n = 0; n < 3; n++) a.counters.record(1, p2.id, false);
    for (let n = 0; n < 4; n++) b.counters.record(1, p1.id, true);
    b.counters.record(1, p1.id, false);
    for (let n = 0; n < 6; n++) b.counters.record(1, p2.id, true);

    const [bundleA, bundleB] = await close();
    // f = 1: p1's ratios 0 (A) and 1/5 (B) → A's (5, 0); p2's 3/3 (A) and 0 (B) → B's (6, 0).
    const merged = [
      { node: p1.address, successes: 5, failures: 0 },
      { node: p2.address, successes: 6, failures: 0 },
    ];
    assert.deepEqual(bundleA.reputation, merged, "keeper A commits the merged reports");
    assert.deepEqual(bundleB.reputation, merged, "keeper B commits the same");
    const ownA = reputationReports(a.collector.frozenOutcomes(1), (id) => a.addresses.get(id));
    assert.notDeepEqual(ownA, merged, "not keeper A's own counts");
    // C_i's success weight is the merged (6, 0) too: p2 keeps all its bytes on both keepers (A's own 0/3 would
    // have left it a quarter), so both build one reward root.
    assert.deepEqual(
      bundleA.contributions.map((c) => [c.account, c.contribution]),
      [[p2.address, 8_000n]],
    );
    assert.deepEqual(bundleB.contributions, bundleA.contributions);

    for (const i of [0, 1]) {
      assert.equal(observers[i]!.evidence(1).observations.length, 4, "both keepers' observations are published");
      const again = await recomputed(i);
      assert.deepEqual(again.problems, []);
      assert.deepEqual(again.reports, merged, `keeper ${i}'s evidence recomputes the committed reports`);
      assert.deepEqual(
        again.contributions.map((c) => [c.account, c.contribution]),
        [[p2.address, 8_000n]],
        `keeper ${i}'s evidence recomputes C_i with the merged weight`,
      );
    }
  });

  it("the keepers' audits take a provider's credit together (f+1 judges), never one keeper's alone", async () => {
    const [p1, p2, consumer, auditorA, auditorB] = await Promise.all([0x74, 0x75, 0x76, 0x77, 0x78].map(peer));
    const records = new Map([
      [p1!.id, await recordOf(p1!)],
      [p2!.id, await recordOf(p2!)],
    ]);
    const receipt = await signedReceipt(consumer!, p2!, 8_000, 1, 1_500);
    const failing = await auditsOf(auditorA!, p2!, 3, true);
    const passing = await auditsOf(auditorB!, p2!, 3, false);
    const failingB = await auditsOf(auditorB!, p2!, 2, true);
    const record = (w: EpochWorld, ok: boolean) => {
      for (let n = 0; n < 3; n++) w.counters.record(1, p2!.id, ok);
    };

    // One keeper's audits failed p2 (3 of 3), the other's passed it: p2 keeps its credit on both keepers — before
    // the merge, keeper A alone took it and the two built different reward roots.
    const alone = twoKeepers(worlds, [p1!, p2!], records, receipt, [failing, passing]);
    record(alone.keepers[0], false);
    record(alone.keepers[1], true);
    const [a1, b1] = await alone.close();
    for (const [name, b] of [
      ["A", a1],
      ["B", b1],
    ] as const) {
      assert.deepEqual(b.disqualified, [], `keeper ${name}: one keeper's failed audits take nothing`);
      assert.equal(b.contributions.find((c) => c.account === p2!.address)?.contribution, 8_000n, `keeper ${name}`);
    }
    assert.deepEqual(b1.contributions, a1.contributions, "one reward input on both keepers");
    const again = await alone.recomputed(0);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.disqualified, []);

    // Both keepers' audits failed p2 (3 of 3 and 2 of 2): it loses the epoch's credit on both, as their evidence
    // recomputes.
    const both = twoKeepers(worlds, [p1!, p2!], records, receipt, [failing, failingB]);
    record(both.keepers[0], false);
    record(both.keepers[1], false);
    const [a2, b2] = await both.close();
    for (const [name, b] of [
      ["A", a2],
      ["B", b2],
    ] as const) {
      assert.deepEqual(b.disqualified, [p2!.id], `keeper ${name}: two judges take p2's credit`);
      assert.equal(
        b.contributions.find((c) => c.account === p2!.address),
        undefined,
        `keeper ${name}`,
      );
    }
    for (const i of [0, 1]) {
      const r = await both.recomputed(i);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.disqualified, [p2!.id], `keeper ${i}'s evidence recomputes the lost credit`);
    }
  });
});
