/**
 * An approver's rebuild of its epoch from another keeper's observation set (keeper/epochs/quorum/rebuild.ts), in one
 * process on real collectors and node:sqlite stores: three keepers hold the same consumer-signed receipt and count
 * the provider differently; one of them seals only its own observation. Rebuilt from the fuller set, its epoch is the
 * fuller keepers' epoch field for field (C_i, ΣC, R_total, reports, roots); rebuilt from its own set, it is its own.
 * The challenge judge of that keeper uses the same rebuild: it rejects a challenge of the fuller keepers' epoch.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { Wallet } from "ethers";

import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import { buildEpoch } from "../../../../keeper/epochs/build.ts";
import { ObservationsNotReadyError } from "../../../../keeper/epochs/observe/errors.ts";
import { EpochObserver } from "../../../../keeper/epochs/observe/observer.ts";
import { ObservationStore } from "../../../../keeper/epochs/observe/store.ts";
import { ChallengeJudge } from "../../../../keeper/epochs/challenge/judge.ts";
import { observationSetHash, type SignedObservation } from "../../../../keeper/epochs/observe/observation.ts";
import { commitmentDigest, quorumDomain } from "../../../../keeper/epochs/quorum/commitment.ts";
import { rebuildWithObservations } from "../../../../keeper/epochs/quorum/rebuild.ts";
import { quorumCommitmentOf } from "../../../../keeper/epochs/submit/submitter.ts";
import type { BuiltEpoch } from "../../../../keeper/epochs/types.ts";
import { silent } from "../../helpers.ts";
import { peer, signedReceipt, world, type EpochWorld } from "../fixtures.ts";

const DOMAIN = { chainId: 31337, quorum: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const POOL = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const VIEWS: ReadonlyArray<readonly [number, number]> = [
  [5, 5],
  [10, 0],
  [2, 8],
];

describe("epochs/quorum: rebuilding an epoch from another keeper's observations", () => {
  const worlds: EpochWorld[] = [];
  afterEach(() => {
    for (const w of worlds.splice(0)) w.close();
  });

  it("gives the fuller keepers' epoch from their set, and its own epoch from its own set", async () => {
    const [provider, consumer] = await Promise.all([peer(0xa1), peer(0xa2)]);
    const record = await signPeerRecord(provider.key, {
      ...{ seq: 1n, issuedAtMs: 0, expiresAtMs: 600_000, capabilities: ["provider"], bandwidthBps: 1_000_000 },
      ...{ capacity: 1, load: 0, shard: 0, rewardAddress: provider.address, addrs: ["/ip4/127.0.0.1/tcp/1"] },
    });
    const receipt = await signedReceipt(consumer, provider, 11_000, 1, 1_500);
    const wallets = [1, 2, 3].map((i) => new Wallet("0x" + (0xc0 + i).toString(16).padStart(64, "0")));
    const observers: EpochObserver[] = [];
    let isolated = -1;
    const keepers = wallets.map((wallet, i) => {
      const w = world(
        { genesisMs: 1_000 },
        {
          mergedReports: (epoch) => observers[i]!.reportsOf(epoch),
          observationsHash: (epoch) => observationSetHash(observers[i]!.observationsOf(epoch)),
          recordOf: (id) => (id === provider.id ? record : undefined),
        },
      );
      worlds.push(w);
      w.addresses.set(provider.id, provider.address);
      w.storeReceipt(receipt, 1_500);
      const [s, f] = VIEWS[i]!;
      for (let n = 0; n < s; n++) w.counters.record(1, provider.id, true);
      for (let n = 0; n < f; n++) w.counters.record(1, provider.id, false);
      observers.push(
        new EpochObserver(
          {
            observations: new ObservationStore(w.store),
            logger: silent,
            domain: DOMAIN,
            signer: { address: wallet.address, signDigest: (d) => wallet.signingKey.sign(d).serialized },
            frozenOutcomes: (epoch) => w.collector.frozenOutcomes(epoch),
            keepers: () => (isolated === i ? [] : [0, 1, 2].filter((j) => j !== i).map(String)),
            pull: async (peerId, epoch) => {
              const held = observers[Number(peerId)]!.served(epoch);
              if (held === undefined) throw new ObservationsNotReadyError(peerId, epoch);
              return held;
            },
            observers: async () => new Set(wallets.map((x) => x.address)),
          },
          { waitMs: 30_000, retryMs: 20 },
        ),
      );
      return w;
    });
    const signal = AbortSignal.timeout(30_000);
    const close = (i: number) =>
      keepers[i]!.collector.close({ endMs: 2_000, beforeFinalize: (e) => observers[i]!.observe(e, { signal }) });
    // Keeper 1 seals its own observation only; keepers 0 and 2 seal all three.
    isolated = 1;
    const b = await buildEpoch(await close(1));
    isolated = -1;
    const [a, c] = await Promise.all([close(0), close(2)]).then((bs) => Promise.all(bs.map((x) => buildEpoch(x))));
    const commitment = (built: BuiltEpoch) => quorumCommitmentOf(built, POOL).commitment;
    assert.notDeepEqual(commitment(b), commitment(a!), "keeper 1's own epoch differs");
    assert.deepEqual(commitment(c!), commitment(a!));

    const rebuild = (built: BuiltEpoch, i: number, from: number | SignedObservation[]) =>
      rebuildWithObservations({
        built,
        evidence: { ...keepers[i]!.collector.evidence(1), ...observers[i]!.evidence(1) },
        observations: typeof from === "number" ? observers[from]!.observationsOf(1) : from,
        indexOf: (account) => keepers[i]!.collector.indexOf(account),
      });
    const fromA = await rebuild(b, 1, 0);
    assert.deepEqual(commitment(fromA), commitment(a!), "rebuilt from keeper 0's set: keeper 0's epoch");
    assert.deepEqual(fromA.bundle.contributions, a!.bundle.contributions);
    assert.deepEqual(fromA.bundle.reputation, [{ node: provider.address, successes: 5, failures: 5 }]);
    assert.deepEqual(commitment(await rebuild(b, 1, 1)), commitment(b), "rebuilt from its own set: its own epoch");
    assert.deepEqual(commitment(await rebuild(a!, 0, 0)), commitment(a!));
    assert.deepEqual(commitment(await rebuild(a!, 0, 1)), commitment(b), "and the other way round");

    // The challenge judge (keeper/epochs/challenge/judge.ts) of keeper 1, whose own epoch is not the committed one:
    // it rejects a challenge of keeper 0's epoch (rebuilt from keeper 0's set), upholds one of an epoch no accepted
    // set rebuilds, and abstains when it could not read every keeper's set.
    const domain = quorumDomain(DOMAIN.chainId, DOMAIN.quorum);
    const judgeOf = (approved: BuiltEpoch, unreachable: number) =>
      new ChallengeJudge({
        domain,
        approvedDigest: async () => commitmentDigest(domain, commitment(approved)),
        builtEpoch: async () => b,
        commitmentOf: commitment,
        observations: {
          own: (epoch) => observers[1]!.observationsOf(epoch),
          others: async (epoch) => ({ checks: [{ observations: observers[0]!.observationsOf(epoch) }], unreachable }),
          rebuild: (built, observations) => rebuild(built, 1, observations),
        },
      });
    assert.deepEqual(await judgeOf(a!, 0).judge(1, { signal }), {
      upheld: false,
      reason: "the committed epoch is this keeper's, rebuilt from an accepted set",
    });
    const inflated = await buildEpoch({
      ...a!.bundle,
      contributions: a!.bundle.contributions.map((x) => ({ ...x, contribution: x.contribution * 10n })),
    });
    assert.deepEqual(await judgeOf(inflated, 0).judge(1, { signal }), {
      upheld: true,
      reason: "no observation set this keeper accepts rebuilds the committed epoch",
    });
    assert.deepEqual(await judgeOf(inflated, 1).judge(1, { signal }), {
      abstain: "1 keeper(s)' observation sets could not be read",
    });
  });
});
