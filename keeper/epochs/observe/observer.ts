/**
 * The keeper's part in merged Reputation reports (docs/epochs.md "Reputation reports"): after it freezes an epoch
 * it signs its own health outcomes of that epoch (observation.ts), pulls the other keepers' signed observations of
 * the same epoch over `/lumora/epoch/1.0.0` (kind `observations`) until every keeper it knows has answered or the
 * wait is over, and seals the set; the epoch's reports (and C_i's success weight) are the merge of that set
 * (merge.ts), and its evidence publishes it. When asked to sign another keeper's epoch, `check` checks that keeper's
 * set before the approver rebuilds the epoch from it (quorum/rebuild.ts).
 *
 * Only observers in the quorum's keeper set count (`observers`), and every observation's signature is checked
 * before it is stored: a relayed set cannot carry an observation nobody signed.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";

import type { Logger } from "../../logger.ts";
import { sleep } from "../../chain/index.ts";
import type { ReputationReport } from "../types.ts";
import {
  DEFAULT_MAX_FAULTY_OBSERVERS,
  MAX_OBSERVATIONS_PER_OBSERVER,
  MAX_UNION_OBSERVATIONS,
  MAX_UNION_OBSERVATIONS_PER_OBSERVER,
  OBSERVATION_GATHER_WAIT_MS,
  OBSERVATION_MAX_FAILED_PULLS,
  OBSERVATION_RETRY_MS,
  OBSERVATION_VERIFY_BATCH,
} from "./constants.ts";
import { ObservationsNotReadyError } from "./errors.ts";
import type { DisqualifyRule } from "../../audit/verdict.ts";
import {
  auditDisqualified,
  maxFaultyFor,
  mergeObservations,
  observationRule,
  type AuditJudgement,
  type ObservationRule,
} from "./merge.ts";
import {
  observationKey,
  sameObservation,
  signObservation,
  verifyObservation,
  type ObservationDomain,
  type SignedObservation,
} from "./observation.ts";
import type { ObservationStore } from "./store.ts";

/** A health count the epoch froze, with the account the peer's record named. */
export interface FrozenOutcome {
  peerId: string;
  account: string;
  successes: number;
  failures: number;
  /** This keeper's audits of the peer frozen with the epoch, and how many failed (0 when none). */
  audits?: number;
  auditFailures?: number;
}

export interface EpochObserverComponents {
  observations: ObservationStore;
  logger: Logger;
  /** The deployment observations are signed for (chain id, EpochQuorum). */
  domain: ObservationDomain;
  /** This keeper's chain key; without one it signs nothing (and still relays and merges). */
  signer?: { address: string; signDigest(digest: string): string };
  /** The health counts `epoch` froze here, peers with a known account only. */
  frozenOutcomes(epoch: number): FrozenOutcome[];
  /** Peer ids of the other keepers known now. */
  keepers(): string[];
  /**
   * The observations `peer` holds for `epoch`, at most `maxEntries`; throws ObservationsNotReadyError when it has
   * not frozen the epoch yet (asked again until the wait is over), anything else when it cannot be reached or sends
   * more (given up after OBSERVATION_MAX_FAILED_PULLS).
   */
  pull(peer: string, epoch: number, options: { signal: AbortSignal; maxEntries: number }): Promise<SignedObservation[]>;
  /** The quorum's keeper addresses (checksummed): the only observers that count. */
  observers(options: { signal: AbortSignal }): Promise<ReadonlySet<string>>;
}

export interface EpochObserverInit {
  /**
   * The merge rule. Without `maxFaulty`, f follows the quorum's size n at each epoch's observation (merge.ts
   * `maxFaultyFor`: 0 for one keeper, else max(1, ⌊(n−1)/3⌋)) and is kept with the epoch.
   */
  rule?: Partial<ObservationRule>;
  /** How long `observe` waits for the other keepers (OBSERVATION_GATHER_WAIT_MS). */
  waitMs?: number;
  /** Wait before asking a keeper again (OBSERVATION_RETRY_MS). */
  retryMs?: number;
}

/** What the evidence of an epoch publishes about its reports. */
export interface ObservationEvidence {
  observations: SignedObservation[];
  observationRule: ObservationRule;
  observationDomain: ObservationDomain;
}

/**
 * The outcome of checking another keeper's observation set of an epoch. A set refused only because it lacks
 * observations this keeper holds carries them (`missing`, bounded): the union round's material.
 */
export type ObservationCheck =
  { observations: SignedObservation[] } | { problem: string; missing?: SignedObservation[] };

/** What the observer did, for tests and metrics. */
export interface EpochObserverStats {
  /** Signatures `check` verified (observations held byte-identical are not verified again). */
  checkVerified: number;
  /** Signatures verified joining union rounds' observations (those held already, or repeated, are not). */
  uniteVerified: number;
}

export class EpochObserver {
  readonly stats: EpochObserverStats = { checkVerified: 0, uniteVerified: 0 };
  private readonly log: Logger;
  /** The configured rule; undefined: f derived from the quorum's size per epoch. */
  private readonly fixed: ObservationRule | undefined;
  private readonly quorum: string;

  constructor(
    private readonly components: EpochObserverComponents,
    private readonly init: EpochObserverInit = {},
  ) {
    this.log = components.logger.child("epochs:observe");
    this.fixed = init.rule?.maxFaulty === undefined ? undefined : observationRule(init.rule);
    this.quorum = components.domain.quorum;
  }

  /**
   * Signs this keeper's outcomes of the frozen `epoch` (once), gathers the other keepers' observations of it and
   * seals the set. Called between the freeze and the finalize of a close; a sealed epoch is left as it is.
   */
  async observe(epoch: number, options: { signal: AbortSignal }): Promise<void> {
    const { observations: store, signer, domain } = this.components;
    if (store.sealed(this.quorum, epoch)) return;
    if (this.fixed === undefined && store.maxFaulty(this.quorum, epoch) === undefined) {
      const n = (await this.components.observers(options)).size;
      store.fixMaxFaulty(this.quorum, epoch, maxFaultyFor(n));
    }
    if (signer !== undefined && !store.observed(this.quorum, epoch)) {
      const own = this.components
        .frozenOutcomes(epoch)
        .flatMap((o) =>
          o.successes + o.failures === 0
            ? []
            : [
                signObservation(
                  domain,
                  { epoch, observer: signer.address, subject: o.peerId, account: o.account, ...counts(o) },
                  (d) => signer.signDigest(d),
                ),
              ],
        );
      store.add(this.quorum, epoch, own);
      store.markObserved(this.quorum, epoch);
      this.log.info("own health observations signed", { epoch, peers: own.length });
    }
    try {
      await this.gather(epoch, options);
    } finally {
      // Sealed even when the gather failed (the close goes on and merges what is held): the set the finalize
      // merges is the set the evidence publishes, whatever arrives later.
      if (!options.signal.aborted) store.seal(this.quorum, epoch);
    }
  }

  /** The set `epoch`'s reports are merged from (sealed once the epoch is finalized). */
  observationsOf(epoch: number): SignedObservation[] {
    return this.components.observations.of(this.quorum, epoch);
  }

  /**
   * What this keeper serves for `epoch`: every observation it holds, once it has signed its own (undefined
   * before: it has not frozen the epoch yet, ask again). A keeper without a chain key serves what it holds.
   */
  served(epoch: number): SignedObservation[] | undefined {
    const { observations: store, signer } = this.components;
    if (signer !== undefined && !store.observed(this.quorum, epoch)) return undefined;
    return store.of(this.quorum, epoch);
  }

  /**
   * The merge rule of `epoch`: the configured one, else f derived from the quorum's size when the epoch was
   * observed (DEFAULT_MAX_FAULTY_OBSERVERS for an epoch never observed here).
   */
  ruleOf(epoch: number): ObservationRule {
    if (this.fixed !== undefined) return { ...this.fixed };
    return observationRule({
      maxFaulty: this.components.observations.maxFaulty(this.quorum, epoch) ?? DEFAULT_MAX_FAULTY_OBSERVERS,
    });
  }

  /** The merged reports of `epoch` from the set held (before any bond rule). */
  reportsOf(epoch: number): ReputationReport[] {
    return mergeObservations(this.observationsOf(epoch), this.ruleOf(epoch)).reports;
  }

  /** The providers that lose `epoch`'s credit by the merged audits of the set held (merge.ts `auditDisqualified`). */
  disqualifiedOf(epoch: number, auditRule: DisqualifyRule): AuditJudgement[] {
    return auditDisqualified(this.observationsOf(epoch), this.ruleOf(epoch), auditRule);
  }

  evidence(epoch: number): ObservationEvidence {
    return {
      observations: this.observationsOf(epoch),
      observationRule: this.ruleOf(epoch),
      observationDomain: { ...this.components.domain },
    };
  }

  /** Pulls the set `peer` (a submitter) merged for `epoch`, bounded like a gather's pulls, and checks it (`check`). */
  async checkPeer(peer: string, epoch: number, options: { signal: AbortSignal }): Promise<ObservationCheck> {
    const observers = await this.components.observers(options);
    const theirs = await this.components.pull(peer, epoch, { signal: options.signal, maxEntries: maxPull(observers) });
    return this.check(epoch, theirs, options);
  }

  /** `checkPeer` for every keeper in `peers`: the checks of the sets read, and how many could not be read. */
  async checkPeers(
    peers: readonly string[],
    epoch: number,
    options: { signal: AbortSignal },
  ): Promise<{ checks: ObservationCheck[]; unreachable: number }> {
    const read = await Promise.allSettled(peers.map((p) => this.checkPeer(p, epoch, options)));
    options.signal.throwIfAborted();
    return {
      checks: read.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
      unreachable: read.filter((r) => r.status === "rejected").length,
    };
  }

  /**
   * Checks another keeper's observation set of `epoch` (what it merged and publishes) before this keeper signs
   * its commitment: every observation of this epoch, by a quorum keeper, signed by its observer; every observation
   * this keeper signed for the epoch present unchanged; and no observation this keeper holds from another quorum
   * keeper left out — nor answered by another outcome of the same observer and peer (an equivocation: the set must
   * then hold both, so that every keeper drops that observer for that peer). Under the merge rule, leaving an
   * observer out can hide a report or move a merged outcome toward the best view, so a submitter may not drop what
   * the keepers it asks have gathered. Returns the set, or the problem with what the set lacks (`missing`, for the
   * submitter's union round).
   */
  async check(
    epoch: number,
    theirs: readonly SignedObservation[],
    options: { signal: AbortSignal },
  ): Promise<ObservationCheck> {
    const observers = await this.components.observers(options);
    // Held observations were verified when stored (a gather, a union round) or signed here: byte-identical ones are
    // not verified again (review M-2: a submitter asks every few seconds, with a set mostly ours).
    const held = new Set(this.observationsOf(epoch).map(identity));
    let unyielded = 0;
    const perObserver = new Map<string, number>();
    const perKey = new Map<string, number>();
    const first = new Map<string, SignedObservation>();
    for (const o of theirs) {
      if (o.epoch !== epoch) return { problem: `an observation of epoch ${o.epoch}` };
      // Per observer and peer one outcome, or two (an equivocation's proof); per observer at most its cap of peers.
      const k = (perKey.get(observationKey(o)) ?? 0) + 1;
      perKey.set(observationKey(o), k);
      if (k > 2) return { problem: `more than two observations of ${o.subject} by ${o.observer}` };
      // A second observation of the same outcome (a copy, or the outcome signed again) is no equivocation: the store
      // keeps one, so a set carrying both would hash differently from every keeper's stored set (review 2026-11-30).
      if (k === 1) first.set(observationKey(o), o);
      else if (sameOutcome(first.get(observationKey(o))!, o))
        return { problem: `the same outcome of ${o.subject} by ${o.observer} twice` };
      const n = (perObserver.get(o.observer) ?? 0) + (k === 1 ? 1 : 0);
      perObserver.set(o.observer, n);
      if (n > MAX_OBSERVATIONS_PER_OBSERVER)
        return { problem: `more than ${MAX_OBSERVATIONS_PER_OBSERVER} observations by ${o.observer}` };
      if (!observers.has(o.observer)) return { problem: `an observation by ${o.observer}, not a quorum keeper` };
      if (held.has(identity(o))) continue;
      // The rest in bounded batches, yielding to the event loop between them.
      if (++unyielded > OBSERVATION_VERIFY_BATCH) {
        unyielded = 1;
        await yieldToLoop(undefined, { signal: options.signal });
      }
      this.stats.checkVerified++;
      try {
        verifyObservation(this.components.domain, o);
      } catch (err) {
        return { problem: `observation of ${o.subject} by ${o.observer}: ${(err as Error).message}` };
      }
    }
    const missing = this.lacking(epoch, theirs, observers);
    if (missing !== undefined) return missing;
    return { observations: [...theirs] };
  }

  /**
   * What `theirs` lacks of the observations this keeper holds (by quorum keepers), as a refusal carrying them (at
   * most MAX_UNION_OBSERVATIONS, MAX_UNION_OBSERVATIONS_PER_OBSERVER of one observer), or undefined when it lacks
   * none. Per observer and peer, a set that holds two different outcomes lacks nothing more: the observer counts for
   * neither, whatever else it signed. Our own observations must be there as signed (same signature); another
   * keeper's with the same outcome.
   */
  private lacking(
    epoch: number,
    theirs: readonly SignedObservation[],
    observers: ReadonlySet<string>,
  ): ObservationCheck | undefined {
    const me = this.components.signer?.address;
    const byKey = new Map<string, SignedObservation[]>();
    for (const o of theirs) byKey.set(observationKey(o), [...(byKey.get(observationKey(o)) ?? []), o]);
    const missing: SignedObservation[] = [];
    let ownMissing = 0;
    let ownHeld = 0;
    let equivocations = 0;
    for (const o of this.observationsOf(epoch)) {
      const mine = o.observer === me;
      if (mine) ownHeld++;
      if (!mine && !observers.has(o.observer)) continue;
      const there = byKey.get(observationKey(o)) ?? [];
      if (there.length >= 2 && !there.every((t) => sameOutcome(t, there[0]!))) continue;
      if (there.some((t) => (mine ? sameObservation(t, o) : sameOutcome(t, o)))) continue;
      if (mine) ownMissing++;
      else if (there.length > 0) equivocations++;
      missing.push(o);
    }
    if (missing.length === 0) return undefined;
    const others = missing.length - ownMissing;
    const problem = [
      ...(ownMissing > 0 ? [`${ownMissing} of this keeper's ${ownHeld} observations are missing or altered`] : []),
      ...(others > 0
        ? [
            `${others} observation(s) of other quorum keepers that this keeper holds are left out ` +
              `(by ${[...new Set(missing.filter((o) => o.observer !== me).map((o) => o.observer))].sort().join(", ")})` +
              (equivocations > 0 ? `, ${equivocations} of them another outcome than the set's (equivocation)` : ""),
          ]
        : []),
    ].join("; ");
    if (equivocations > 0) this.log.warn("an observer signed two outcomes of one peer", { epoch, equivocations });
    const perObserver = new Map<string, number>();
    const offered = missing.filter((o) => {
      const n = perObserver.get(o.observer) ?? 0;
      if (n >= MAX_UNION_OBSERVATIONS_PER_OBSERVER) return false;
      perObserver.set(o.observer, n + 1);
      return true;
    });
    return { problem, missing: offered.slice(0, MAX_UNION_OBSERVATIONS) };
  }

  /**
   * A union round's observations (another keeper's refusal, docs/epochs.md "Union rounds") joined to `epoch`'s set,
   * sealed or not: each must be of this epoch, by a quorum keeper, signed by it, and within its observer's cap.
   * Returns how many joined; when any did, the epoch must be re-finalized from the new set.
   */
  async unite(epoch: number, offered: readonly SignedObservation[], options: { signal: AbortSignal }): Promise<number> {
    const observers = await this.components.observers(options);
    // Held or repeated observations cost nothing; the rest are verified in bounded batches, yielding between them (a
    // refusing keeper may hand back thousands: one synchronous pass stalled the submitter's event loop for seconds).
    const held = new Set(this.observationsOf(epoch).map(identity));
    const seen = new Set<string>();
    const acceptable: SignedObservation[] = [];
    let unyielded = 0;
    for (const o of offered) {
      const id = identity(o);
      if (held.has(id) || seen.has(id)) continue;
      seen.add(id);
      if (++unyielded > OBSERVATION_VERIFY_BATCH) {
        unyielded = 1;
        await yieldToLoop(undefined, { signal: options.signal });
      }
      this.stats.uniteVerified++;
      if (this.acceptable(epoch, o, observers)) acceptable.push(o);
    }
    const valid = this.withinCap(epoch, acceptable);
    const added = this.components.observations.unite(this.quorum, epoch, valid);
    this.log.info("observations joined from a union round", { epoch, offered: offered.length, added });
    return added;
  }

  /**
   * Makes `approved` (a set this keeper checked and signed a commitment under, which the chain now holds) `epoch`'s
   * set: the observations held are replaced by it (docs/epochs.md "After a commitment"). The epoch must then be
   * re-finalized.
   */
  adopt(epoch: number, approved: readonly SignedObservation[]): void {
    this.components.observations.replace(this.quorum, epoch, approved);
    this.log.info("observation set replaced by the committed one", { epoch, observations: approved.length });
  }

  /**
   * Pulls from every known keeper until each has answered once (or failed OBSERVATION_MAX_FAILED_PULLS times
   * otherwise than "not frozen") or the wait is over; stores what verifies.
   */
  private async gather(epoch: number, options: { signal: AbortSignal }): Promise<void> {
    const c = this.components;
    const deadline = Date.now() + (this.init.waitMs ?? OBSERVATION_GATHER_WAIT_MS);
    const waiting = new Set(c.keepers());
    const observers = await c.observers(options);
    const bound = { signal: options.signal, maxEntries: maxPull(observers) };
    let added = 0;
    const errors = new Map<string, string>();
    const failed = new Map<string, number>();
    while (waiting.size > 0) {
      const round = [...waiting];
      const results = await Promise.allSettled(round.map((peer) => c.pull(peer, epoch, bound)));
      options.signal.throwIfAborted();
      for (const [i, r] of results.entries()) {
        const peer = round[i]!;
        if (r.status === "rejected") {
          errors.set(peer, (r.reason as Error).message);
          if (r.reason instanceof ObservationsNotReadyError) continue;
          const n = (failed.get(peer) ?? 0) + 1;
          failed.set(peer, n);
          if (n >= OBSERVATION_MAX_FAILED_PULLS) {
            waiting.delete(peer);
            this.log.info("not waiting for an unreachable keeper's observations", { epoch, peer, error: r.reason });
          }
          continue;
        }
        waiting.delete(peer);
        errors.delete(peer);
        const valid = this.withinCap(
          epoch,
          r.value.filter((o) => this.acceptable(epoch, o, observers)),
        );
        added += c.observations.add(this.quorum, epoch, valid);
      }
      if (waiting.size === 0 || Date.now() >= deadline) break;
      await sleep(this.init.retryMs ?? OBSERVATION_RETRY_MS, options);
    }
    if (waiting.size > 0)
      this.log.warn("sealing observations without every keeper's", {
        epoch,
        missing: waiting.size,
        reasons: [...errors.values()].slice(0, 3).join("; "),
      });
    this.log.info("health observations gathered", { epoch, added, held: this.observationsOf(epoch).length });
  }

  /** Drops what would take an observer past MAX_OBSERVATIONS_PER_OBSERVER for the epoch (counting what is held). */
  private withinCap(epoch: number, observations: SignedObservation[]): SignedObservation[] {
    const held = new Map<string, number>();
    const keys = new Set<string>();
    for (const o of this.observationsOf(epoch)) {
      held.set(o.observer, (held.get(o.observer) ?? 0) + 1);
      keys.add(observationKey(o));
    }
    // One already held (relayed again by another keeper) is ignored by the store and counts nothing.
    const keep = (o: SignedObservation) => {
      const key = observationKey(o);
      if (keys.has(key)) return true;
      const n = held.get(o.observer) ?? 0;
      if (n >= MAX_OBSERVATIONS_PER_OBSERVER) return false;
      held.set(o.observer, n + 1);
      keys.add(key);
      return true;
    };
    const kept = observations.filter(keep);
    if (kept.length < observations.length)
      this.log.warn("observations past the per-observer cap ignored", {
        epoch,
        ignored: observations.length - kept.length,
      });
    return kept;
  }

  private acceptable(epoch: number, o: SignedObservation, observers: ReadonlySet<string>): boolean {
    try {
      if (o.epoch !== epoch || !observers.has(o.observer)) return false;
      verifyObservation(this.components.domain, o);
      return true;
    } catch (err) {
      this.log.throttled("observation ignored", "warn", "observation ignored", {
        epoch,
        observer: o.observer,
        reason: (err as Error).message,
      });
      return false;
    }
  }
}

/** What one pull of an epoch's observations may carry: every quorum keeper's, each up to its cap. */
function maxPull(observers: ReadonlySet<string>): number {
  return Math.max(1, observers.size) * MAX_OBSERVATIONS_PER_OBSERVER;
}

/** An observation's every signed field and its signature: equal identities are byte-identical observations. */
function identity(o: SignedObservation): string {
  return [
    o.epoch,
    o.observer.toLowerCase(),
    o.subject,
    o.account.toLowerCase(),
    o.successes,
    o.failures,
    o.audits ?? 0,
    o.auditFailures ?? 0,
    o.signature.toLowerCase(),
  ].join("/");
}

/** Whether two observations of one observer and peer state the same outcome (signatures aside). */
function sameOutcome(a: SignedObservation, b: SignedObservation): boolean {
  return (
    a.account.toLowerCase() === b.account.toLowerCase() &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    (a.audits ?? 0) === (b.audits ?? 0) &&
    (a.auditFailures ?? 0) === (b.auditFailures ?? 0)
  );
}

function counts(o: FrozenOutcome): { successes: number; failures: number; audits: number; auditFailures: number } {
  const clamp = (n: number | undefined) => Math.min(n ?? 0, 0xffff_ffff);
  const audits = clamp(o.audits);
  return {
    successes: clamp(o.successes),
    failures: clamp(o.failures),
    audits,
    auditFailures: Math.min(clamp(o.auditFailures), audits),
  };
}

/** Factory in the keeper's component style: `epochObserver(init)(components)`. */
export function epochObserver(init: EpochObserverInit = {}): (components: EpochObserverComponents) => EpochObserver {
  return (components) => new EpochObserver(components, init);
}
