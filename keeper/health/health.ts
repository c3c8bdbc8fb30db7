/**
 * Health service: SWIM failure detection on /lumora/health/2.0.0 (docs/PROTOCOL.md §3). Each protocol period
 * it probes one watched member (shuffled round-robin); on silence it asks k other members to probe it
 * (ping-req); on silence again it suspects it, and a suspicion not refuted within the suspicion timeout makes
 * it failed. Membership updates ride on every probe and ack, so a keeper's traffic per period is constant in
 * the network's size. Every few periods it also runs one state sync (push-pull) with one member, alternately a
 * failed one (so a healed partition converges) and a live one (anti-entropy). It also counts task outcomes and
 * failures per epoch for Reputation.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../logger.ts";
import { anySignal } from "../p2p/bootstrap.ts";
import type { LumoraNode } from "../p2p/node.ts";
import { readMessage, WireError, writeMessage } from "../wire/index.ts";
import {
  DEFAULT_FORGET_FAILED_AFTER_MS,
  DEFAULT_INDIRECT_PROBES,
  DEFAULT_MAX_RELAYS_IN_FLIGHT,
  DEFAULT_PROBE_PERIOD_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_RELAYS_PER_SECOND,
  DEFAULT_RETRANSMIT_MULT,
  DEFAULT_SUSPICION_MAX_MULT,
  DEFAULT_SUSPICION_MULT,
  DEFAULT_SYNC_EVERY_PERIODS,
  DEFAULT_SYNCS_SERVED_PER_SECOND,
  FORGOTTEN_MEMORY_MS,
  HEALTH_MAX_INBOUND_STREAMS,
  HEALTH_MAX_OUTBOUND_STREAMS,
  HEALTH_PROTOCOL,
  MAX_HEALTH_MESSAGE_BYTES,
  MAX_AWARENESS,
  MAX_HEARSAY_CLEARS,
  MAX_INCARNATION,
  MAX_FORGOTTEN_MEMBERS,
  MAX_SYNC_BUDGET_MEMBERS,
  MAX_SYNC_ENTRIES,
  MAX_UPDATES_PER_MESSAGE,
  SYNCS_SERVED_PER_MEMBER_BURST,
} from "./constants.ts";
import type { HealthCounters } from "./counters.ts";
import { ProbeFailedError } from "./errors.ts";
import { GossipQueue } from "./gossip.ts";
import {
  Members,
  type FailedVia,
  type Member,
  type MemberStatus,
  type MemberUpdateData,
  type SuspicionTiming,
  type Transition,
} from "./members.ts";
import { ackMessage, fitted, probeMessage, readAck, readProbe, type AckData } from "./messages.ts";
import { Ack, Probe } from "./pb/health.ts";
import { PeerBudget, RelayBudget } from "./relay-budget.ts";

export type PeerStatus = MemberStatus;

export interface HealthInit {
  /** Protocol period T: one probe per period (default DEFAULT_PROBE_PERIOD_MS). */
  periodMs?: number;
  /** Direct probe timeout; a relayed probe gets the same, its requester twice that. */
  probeTimeoutMs?: number;
  /** Members asked to probe a silent target (SWIM's k). */
  indirectProbes?: number;
  /** Suspicion timeout S = suspicionMult · max(1, log10 N) · period: the shortest a suspicion lasts. */
  suspicionMult?: number;
  /**
   * A suspicion nobody else confirms lasts suspicionMaxMult · S, falling to S as suspicionMult − 2 other members
   * confirm it (Lifeguard; default DEFAULT_SUSPICION_MAX_MULT; 1: always S).
   */
  suspicionMaxMult?: number;
  /** Each update rides on retransmitMult · ⌈log10(N + 1)⌉ messages. */
  retransmitMult?: number;
  /** Relayed probes in flight at once, and per second (token bucket). */
  maxRelaysInFlight?: number;
  relaysPerSecond?: number;
  /** One state sync every this many periods (default DEFAULT_SYNC_EVERY_PERIODS). */
  syncEveryPeriods?: number;
  /** State syncs served per second, all members together (default DEFAULT_SYNCS_SERVED_PER_SECOND). */
  syncsServedPerSecond?: number;
  /** A member held failed this long is forgotten (default DEFAULT_FORGET_FAILED_AFTER_MS). */
  forgetFailedAfterMs?: number;
}

export interface HealthComponents {
  node: LumoraNode;
  logger: Logger;
  counters: HealthCounters;
  /** Current epoch number (from the epochs module). */
  currentEpoch: () => number;
  /** Our load/capacity, advertised in probes and acks. */
  currentLoad?: () => { load: number; capacity: number };
  /** Called for protocol violations (penalise = true); the composition bans the peer. */
  penalise?: (peerId: PeerId, err: Error) => void;
  /** Round-trip time (ms) of a direct probe answered on a connection that was already open (no dial in it): an
   * RTT sample, handed to proximity so that it need not ping members health probes anyway. */
  onRtt?: (peerId: string, ms: number) => void;
}

/** Messages this keeper sent and verdicts it reached, since start (the /metrics counters and the tests). */
export interface HealthMetrics {
  /** Protocol periods that probed someone. */
  rounds: number;
  /** Direct probes we initiated (one per round). */
  probes: number;
  /** Out-of-turn checks: members whose connections all closed, or suspected through a state sync (their probes
   * count in `probes`). */
  outOfTurnChecks: number;
  /** Ping-reqs we sent after a silent direct probe. */
  pingReqs: number;
  /** Probes we relayed for a member's ping-req. */
  relays: number;
  /** Ping-reqs refused: caps, rate, or a target we do not watch. */
  relaysRefused: number;
  /** Acks to members (with piggyback) and to strangers (bare). */
  acks: number;
  strangerAcks: number;
  /** Ping-reqs from peers we do not watch (reset, no relay). */
  strangerPingReqs: number;
  suspicions: number;
  /** Members declared failed by our own suspicion timeout, and those we learned failed from gossip. */
  failuresDeclared: number;
  failuresLearned: number;
  /** Times we refuted a suspicion of ourselves with a higher incarnation. */
  refutations: number;
  /** Local health now (0 … MAX_AWARENESS): our period and timeouts are stretched by (1 + awareness). */
  awareness: number;
  /** State syncs we started with a member held failed (reconnects) and with a live one; those answered. */
  syncsToFailed: number;
  syncsToAlive: number;
  syncsAnswered: number;
  /** State syncs we answered for a member, and those answered as plain probes (over the rate). */
  syncsServed: number;
  syncsRefused: number;
  /** Members forgotten after forgetFailedAfterMs failed. */
  forgotten: number;
  /** `alive` entries of state syncs not applied: more than one incarnation above what we hold. */
  syncEntriesRefused: number;
  /** `alive` statements about a member we suspect (or hold failed) not applied: it has not spoken to us since
   * another member's word last cleared it. */
  hearsayRefused: number;
}

export interface MemberView {
  state: PeerStatus;
  incarnation: number;
  failedVia?: FailedVia;
  load?: number;
  capacity?: number;
}

interface Opts {
  signal?: AbortSignal;
}

export class Health extends EventTarget {
  private readonly log: Logger;
  private readonly self: string;
  private readonly members = new Members();
  private readonly gossip: GossipQueue;
  private readonly relayBudget: RelayBudget;
  private readonly syncBudget: RelayBudget;
  /** State syncs served per member: one a period, so one chatty member cannot use the others' share. */
  private readonly memberSyncBudget: PeerBudget;
  private readonly relaying = new Set<string>();
  private readonly controller = new AbortController();
  private readonly periodMs: number;
  private readonly probeTimeoutMs: number;
  private readonly indirect: number;
  private readonly suspicionMult: number;
  private readonly suspicionMaxMult: number;
  private readonly syncEvery: number;
  private readonly forgetAfterMs: number;
  /** Members forgotten while failed: their incarnation and when (insertion order is age; bounded). */
  private readonly forgotten = new Map<string, { incarnation: number; at: number }>();
  /** Protocol periods run (with or without a member to probe): the state sync's clock. */
  private periods = 0;
  private own = 0;
  /** Lifeguard's local health multiplier: raised when we look like the slow one, lowered by answered probes. */
  private awareness = 0;
  private seq = 0n;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  /** Members waiting for an out-of-turn check (checkSoon); the check running now. */
  private readonly soon = new Set<string>();
  /** A member held failed answered our last sync: reconnect to another at the next period. */
  private reconnectAgain = false;
  private checking: Promise<void> | undefined;
  /** Members being checked now, and the tail of the ping-req phases (run one after another). */
  private readonly inCheck = new Set<string>();
  private pingReqTail: Promise<unknown> = Promise.resolve();
  private stopped = true;
  readonly metrics: HealthMetrics = {
    rounds: 0,
    probes: 0,
    outOfTurnChecks: 0,
    pingReqs: 0,
    relays: 0,
    relaysRefused: 0,
    acks: 0,
    strangerAcks: 0,
    strangerPingReqs: 0,
    suspicions: 0,
    failuresDeclared: 0,
    failuresLearned: 0,
    refutations: 0,
    awareness: 0,
    syncsToFailed: 0,
    syncsToAlive: 0,
    syncsAnswered: 0,
    syncsServed: 0,
    syncsRefused: 0,
    forgotten: 0,
    syncEntriesRefused: 0,
    hearsayRefused: 0,
  };

  constructor(
    private readonly components: HealthComponents,
    init: HealthInit = {},
  ) {
    super();
    this.log = components.logger.child("health");
    this.self = components.node.peerId.toString();
    this.members.setSelf(this.self);
    this.periodMs = init.periodMs ?? DEFAULT_PROBE_PERIOD_MS;
    this.probeTimeoutMs = init.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.indirect = init.indirectProbes ?? DEFAULT_INDIRECT_PROBES;
    this.suspicionMult = init.suspicionMult ?? DEFAULT_SUSPICION_MULT;
    this.suspicionMaxMult = Math.max(1, init.suspicionMaxMult ?? DEFAULT_SUSPICION_MAX_MULT);
    this.syncEvery = init.syncEveryPeriods ?? DEFAULT_SYNC_EVERY_PERIODS;
    this.forgetAfterMs = init.forgetFailedAfterMs ?? DEFAULT_FORGET_FAILED_AFTER_MS;
    const syncRate = init.syncsServedPerSecond ?? DEFAULT_SYNCS_SERVED_PER_SECOND;
    // Serving is synchronous (merge, then sample): the in-flight bound is moot, the rate is what counts.
    this.syncBudget = new RelayBudget(syncRate, syncRate);
    this.memberSyncBudget = new PeerBudget(
      1_000 / this.periodMs,
      SYNCS_SERVED_PER_MEMBER_BURST,
      MAX_SYNC_BUDGET_MEMBERS,
    );
    this.gossip = new GossipQueue(init.retransmitMult ?? DEFAULT_RETRANSMIT_MULT);
    this.relayBudget = new RelayBudget(
      init.maxRelaysInFlight ?? DEFAULT_MAX_RELAYS_IN_FLIGHT,
      init.relaysPerSecond ?? DEFAULT_RELAYS_PER_SECOND,
    );
  }

  /** Our incarnation: raised only to refute a suspicion of ourselves. */
  get incarnation(): number {
    return this.own;
  }

  /** Suspicion timeout for the network as we see it now (members plus us). */
  suspicionTimeoutMs(): number {
    return this.suspicionMult * Math.max(1, Math.log10(this.members.size + 1)) * this.periodMs;
  }

  /**
   * A suspicion started now (Lifeguard's LHA-Suspicion, memberlist's suspicion.go): it lasts up to
   * suspicionMaxMult · S and falls to S as K = suspicionMult − 2 distinct origins confirm it; a network too small
   * to confirm it gets S at once: K = 0 when n − 2 < K, n counting the members not held failed and us
   * (memberlist's rule: the suspect and us cannot confirm). A confirmation leaves a member not re-checked yet at
   * least 3 · t_probe + T: the next period's re-check (a probe and a ping-req) completes within that.
   */
  suspicionTiming(): SuspicionTiming {
    const minMs = this.suspicionTimeoutMs();
    const k = Math.max(0, Math.floor(this.suspicionMult) - 2);
    return {
      minMs,
      maxMs: this.suspicionMaxMult * minMs,
      expected: this.members.live + 1 - 2 < k ? 0 : k,
      recheckMs: 3 * this.scaled(this.probeTimeoutMs) + this.scaled(this.periodMs),
    };
  }

  /** Distinct members that confirmed our suspicion of `peerId` so far (0 when we do not suspect it). */
  confirmations(peerId: string): number {
    return this.members.confirmations(peerId);
  }

  /** Unix ms at which our suspicion of `peerId` times out, when we suspect it. */
  suspectDeadline(peerId: string): number | undefined {
    const m = this.members.get(peerId);
    return m?.state === "suspect" ? m.suspectDeadline : undefined;
  }

  /** `ms` stretched by our local health: a keeper that is itself slow waits longer before blaming others. */
  private scaled(ms: number): number {
    return ms * (1 + this.awareness);
  }

  private aware(delta: number): void {
    this.awareness = Math.min(MAX_AWARENESS, Math.max(0, this.awareness + delta));
    this.metrics.awareness = this.awareness;
  }

  async start(): Promise<void> {
    await this.components.node.handle(HEALTH_PROTOCOL, (s, c) => this.onStream(s, c), {
      maxInboundStreams: HEALTH_MAX_INBOUND_STREAMS,
      maxOutboundStreams: HEALTH_MAX_OUTBOUND_STREAMS,
    });
    this.components.node.addEventListener("peer:disconnect", this.onDisconnect);
    this.stopped = false;
    this.schedule(this.periodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.components.node.removeEventListener("peer:disconnect", this.onDisconnect);
    this.controller.abort(new Error("health stopped"));
    await this.round?.catch(() => {});
    await this.checking;
    await this.components.node.unhandle(HEALTH_PROTOCOL).catch(() => {});
  }

  /** Tracks `peerId`: alive, or failed as it left when it was forgotten while failed (see forgetFailed). */
  watch(peerId: string): void {
    if (peerId === this.self || this.members.has(peerId)) return;
    const gone = this.forgotten.get(peerId);
    this.forgotten.delete(peerId);
    this.members.add(peerId, gone && { incarnation: gone.incarnation, at: Date.now() });
  }

  unwatch(peerId: string): void {
    this.members.remove(peerId);
    this.forgotten.delete(peerId);
    this.memberSyncBudget.forget(peerId);
  }

  /** Members in the view now by state, and forgotten ones remembered (the /metrics gauges). */
  counts(): Record<MemberStatus | "forgotten", number> {
    const out = { alive: 0, suspect: 0, failed: 0, forgotten: this.forgotten.size };
    for (const m of this.members.all()) out[m.state]++;
    return out;
  }

  /**
   * Members failed for forgetFailedAfterMs leave the view; only their incarnation is remembered (bounded), so a
   * peer routing watches again comes back failed, not alive.
   */
  private forgetFailed(now: number): void {
    for (const m of this.members.forget(now, this.forgetAfterMs)) {
      this.forgotten.set(m.peerId, { incarnation: m.incarnation, at: now });
      this.memberSyncBudget.forget(m.peerId);
      this.metrics.forgotten++;
      this.log.debug("failed peer forgotten", { peer: m.peerId, incarnation: m.incarnation });
    }
    for (const [id, f] of this.forgotten) {
      if (this.forgotten.size <= MAX_FORGOTTEN_MEMBERS && now - f.at < FORGOTTEN_MEMORY_MS) break;
      this.forgotten.delete(id);
    }
  }

  status(peerId: string): PeerStatus | undefined {
    return this.members.get(peerId)?.state;
  }

  member(peerId: string): MemberView | undefined {
    const m = this.members.get(peerId);
    return (
      m && { state: m.state, incarnation: m.incarnation, failedVia: m.failedVia, load: m.load, capacity: m.capacity }
    );
  }

  /** Outcome of a task the peer executed or served (from signed receipts/outcomes). */
  reportTaskOutcome(peerId: string, ok: boolean): void {
    this.components.counters.record(this.components.currentEpoch(), peerId, ok);
  }

  /** Probes `peer` directly once (piggyback included); returns the round-trip time (ms). */
  async probe(peer: PeerId | string, options: Opts = {}): Promise<number> {
    const id = peer.toString();
    const connected = this.components.onRtt !== undefined && this.isConnected(id);
    const started = performance.now();
    this.metrics.probes++;
    await this.exchange(id, undefined, this.scaled(this.probeTimeoutMs), options);
    const rtt = performance.now() - started;
    if (connected) this.components.onRtt?.(id, rtt);
    return rtt;
  }

  private isConnected(peerId: string): boolean {
    return this.components.node.getConnections().some((c) => c.status === "open" && c.remotePeer.toString() === peerId);
  }

  /**
   * One protocol period: expire suspicions, forget long-failed members, re-check suspects half-way through their
   * suspicion (out of turn: our probe carries the suspicion, so a live member refutes in its answer even when the
   * gossip that should have told it was lost), probe the next member (failed ones are not in the rotation),
   * ping-req through k others if silent; every `syncEveryPeriods` periods, one state sync.
   */
  async probeRound(options: Opts = {}): Promise<void> {
    const now = Date.now();
    for (const t of this.members.expire(now)) this.transitioned(t);
    this.forgetFailed(now);
    for (const m of this.members.dueRechecks(now)) this.queueCheck(m);
    const period = ++this.periods;
    const sync = period % this.syncEvery === 0 || this.reconnectAgain;
    await Promise.all([this.probeNext(options), sync ? this.syncRound(options) : undefined]);
  }

  /**
   * A state sync (push-pull) with one member: alternately a random member held failed (a partition that healed
   * is noticed only this way) and a random live one. Both sides send a bounded sample of their view
   * (MAX_SYNC_ENTRIES, always holding the entry about the other side, so a member held failed learns it and
   * refutes) and merge what they receive. A failed sync changes nothing: probes decide liveness. A member held
   * failed that answered suggests a partition healed: the next period reconnects to another one at once (still
   * at most one sync per period).
   */
  async syncRound(options: Opts = {}): Promise<void> {
    const toFailed = this.reconnectAgain || (this.periods / this.syncEvery) % 2 === 1;
    this.reconnectAgain = false;
    const failed = toFailed ? this.members.randomIn("failed") : undefined;
    const peer = failed ?? this.members.randomIn("alive");
    if (peer === undefined) return;
    if (failed !== undefined) this.metrics.syncsToFailed++;
    else this.metrics.syncsToAlive++;
    await this.exchange(peer.peerId, undefined, this.scaled(this.probeTimeoutMs), options, true).then(
      () => {
        this.metrics.syncsAnswered++;
        if (failed !== undefined) this.reconnectAgain = true;
      },
      (err: unknown) => this.log.debug("state sync failed", { peer: peer.peerId, error: err as Error }),
    );
  }

  private async probeNext(options: Opts): Promise<void> {
    const target = this.members.nextTarget();
    if (target === undefined) return;
    this.metrics.rounds++;
    await this.check(target, options);
  }

  /**
   * The libp2p connections to a member all closed: a process that died takes its sockets with it, so this is
   * the earliest sign of a crash. The member is checked (probe, ping-req, suspicion) at once instead of at its
   * turn in the rotation. A member that only dropped a connection answers the probe.
   */
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const m = this.members.get(evt.detail.toString());
    if (m?.state === "alive") this.checkSoon(m);
  };

  /**
   * Queues an out-of-turn check of `m` (a disconnect, or a suspicion a state sync brought: the probe carries it,
   * so a live member refutes at once). One such check at a time, in order, and at most one per member per
   * suspicion timeout: a burst (or a link that keeps dropping) costs at most one extra probe, and its k
   * ping-reqs, at a time.
   */
  private checkSoon(m: Member): void {
    const now = Date.now();
    if (this.stopped || (m.checkSoonAt !== undefined && now - m.checkSoonAt < this.suspicionTimeoutMs())) return;
    m.checkSoonAt = now;
    this.queueCheck(m);
  }

  /** Queues one out-of-turn check of `m` (also a suspect's re-check half-way through its suspicion). */
  private queueCheck(m: Member): void {
    if (this.stopped) return;
    this.soon.add(m.peerId);
    this.checking ??= this.checkQueued().finally(() => (this.checking = undefined));
  }

  private async checkQueued(): Promise<void> {
    // A Set iterates over what is added meanwhile: one loop drains every check queued while it runs.
    for (const id of this.soon) {
      this.soon.delete(id);
      const m = this.members.get(id);
      if (this.stopped || m === undefined || m.state === "failed") continue;
      this.metrics.outOfTurnChecks++;
      await this.check(m, {}).catch((err: unknown) => this.log.debug("check failed", { error: err as Error }));
    }
  }

  /**
   * Probes `target`; if silent, ping-req through k members; if silent again, suspects it. A member already being
   * checked is not checked twice at once, and ping-req phases never overlap: a helper relays one ping-req per
   * requester at a time and answers a second with a nack, which would count against the target.
   */
  private async check(target: Member, options: Opts): Promise<void> {
    if (this.inCheck.has(target.peerId)) return;
    this.inCheck.add(target.peerId);
    try {
      await this.checkOnce(target, options);
    } finally {
      this.inCheck.delete(target.peerId);
    }
  }

  private async checkOnce(target: Member, options: Opts): Promise<void> {
    const direct = await this.probe(target.peerId, options).then(
      () => true,
      () => false,
    );
    if (direct) this.aware(-1);
    if (direct || this.controller.signal.aborted || target.state === "failed") return;
    const turn = this.pingReqTail.then(() => this.indirectCheck(target, options));
    this.pingReqTail = turn.catch(() => {});
    await turn;
  }

  private async indirectCheck(target: Member, options: Opts): Promise<void> {
    if (this.controller.signal.aborted || target.state === "failed") return;
    const helpers = this.members.randomAlive(this.indirect, target.peerId);
    // Each helper answers reached (the target is alive), a nack (reached = false: the helper is fine, the
    // target is not) or nothing — and helpers that say nothing suggest that we are the slow one (Lifeguard).
    const answers = await Promise.all(
      helpers.map((h) =>
        this.exchange(h.peerId, target.peerId, 2 * this.scaled(this.probeTimeoutMs), options).then(
          (ack) => (ack.reached ? "reached" : "nack"),
          () => "silent",
        ),
      ),
    );
    this.metrics.pingReqs += helpers.length;
    if (answers.includes("silent")) this.aware(+1);
    if (answers.includes("reached")) {
      this.reachedIndirectly(target);
      return;
    }
    if (this.controller.signal.aborted) return;
    // Suspect at the incarnation we hold now (the target may have refuted meanwhile: then this is stale); we are
    // the origin. Already suspect on another member's word: our own finding confirms that suspicion, here and,
    // gossiped with us as its origin, at the others (memberlist's rule) — without it, a suspicion that reached every
    // watcher by gossip before their own probes failed would have one origin only and last suspicionMaxMult · S.
    if (target.state === "alive" || target.state === "suspect")
      this.apply({ peerId: target.peerId, state: "suspect", incarnation: target.incarnation, origin: this.self });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.round = this.probeRound()
        .catch((err: unknown) => this.log.debug("probe round failed", { error: err as Error }))
        .finally(() => {
          this.round = undefined;
          this.schedule(Math.max(0, this.scaled(this.periodMs) - (Date.now() - started)));
        });
    }, delayMs);
    this.timer.unref();
  }

  private ours(): { load: number; capacity: number } {
    return this.components.currentLoad?.() ?? { load: 0, capacity: 0 };
  }

  /**
   * Updates for a message to `peerId`: first what we hold about it when that is not "alive" (so a live member
   * hears its suspicion at once and refutes), then the least-sent queued updates.
   */
  private outgoing(peerId: string): MemberUpdateData[] {
    const m = this.members.get(peerId);
    const hint = m !== undefined && m.state !== "alive";
    const rest = this.gossip.take(MAX_UPDATES_PER_MESSAGE - (hint ? 1 : 0), this.members.size, peerId);
    return hint ? [statement(m), ...rest] : rest;
  }

  /**
   * Our view for a state sync with `peerId`: what we hold of it, ourselves, then the members not alive, then the
   * others, in random order within each group, at most MAX_SYNC_ENTRIES (the sender trims further to fit).
   */
  private stateSample(peerId: string): MemberUpdateData[] {
    const theirs = this.members.get(peerId);
    const out: MemberUpdateData[] = [
      ...(theirs === undefined ? [] : [statement(theirs)]),
      { peerId: this.self, state: "alive", incarnation: this.own },
    ];
    for (const m of this.members.sample(MAX_SYNC_ENTRIES - out.length, peerId)) out.push(statement(m));
    return out;
  }

  /**
   * Merges `sender`'s sync sample (memberlist's mergeState). `suspect` and `failed` entries apply only as a
   * suspicion here — another keeper's verdict, possibly reached across a partition, must not kill a member we
   * reach; a suspicion gives it the time to refute. `alive` entries about a third member apply by the incarnation
   * rules (over a suspicion or a failure only with a higher incarnation) and only one step above what we hold:
   * a member refutes with the incarnation it was suspected at plus one, so a bigger jump is news we check
   * ourselves (a member we suspect is probed out of turn and refutes to us directly) rather than a claim one
   * member could use to clear a dead member or to pin another's incarnation out of its reach. About us: refuted
   * as always; about the sender: its own word.
   */
  private mergeState(sender: string, state: readonly MemberUpdateData[]): void {
    for (const u of state) {
      const m = this.members.get(u.peerId);
      if (u.peerId === this.self || u.peerId === sender) {
        if (u.peerId === this.self || u.state === "alive") this.apply(u);
        continue;
      }
      if (m === undefined) continue;
      if (u.state === "alive") {
        if (u.incarnation > m.incarnation + 1) {
          this.metrics.syncEntriesRefused++;
          if (m.state === "suspect") this.checkSoon(m);
        } else this.hearsayAlive(u, m);
        continue;
      }
      const was = m.state;
      // Far ahead: held at one step above what we hold (see `clamped`). A failed entry has no origin: unknown.
      this.apply({
        peerId: u.peerId,
        state: "suspect",
        incarnation: Math.min(u.incarnation, m.incarnation + 1),
        origin: u.state === "suspect" ? u.origin : undefined,
      });
      // Held alive here, failed or suspect there (typically across a healed partition): tell it now.
      if (was === "alive" && m.state === "suspect") this.checkSoon(m);
    }
  }

  /** Whether `peerId`'s budget and the shared one let us serve one more state sync now (counted either way). */
  private serveSync(peerId: string): boolean {
    if (!this.memberSyncBudget.take(peerId) || !this.syncBudget.take()) {
      this.metrics.syncsRefused++;
      return false;
    }
    this.syncBudget.release();
    this.metrics.syncsServed++;
    return true;
  }

  /**
   * Applies one statement about a member (or about us: a suspicion of us is refuted). A suspicion's origin is kept
   * (to count it, to pass it on) only when it is us or a member: any other could not confirm anything, and only
   * those peer ids are known to encode back.
   */
  private apply(u: MemberUpdateData): void {
    if (u.peerId === this.self) {
      // A suspicion at the largest incarnation cannot be refuted (the refutation would not fit a message): ignored.
      if (u.state === "alive" || u.incarnation < this.own || u.incarnation >= MAX_INCARNATION) return;
      this.own = u.incarnation + 1;
      this.metrics.refutations++;
      // Others could not hear from us in time: we are probably the slow one.
      this.aware(+1);
      this.gossip.push({ peerId: this.self, state: "alive", incarnation: this.own });
      this.log.info("refuted a suspicion of this keeper", { was: u.state, incarnation: this.own });
      return;
    }
    if (u.origin !== undefined && u.origin !== this.self && !this.members.has(u.origin))
      u = { ...u, origin: undefined };
    const t = this.members.apply(u, Date.now(), this.suspicionTiming());
    if (t !== undefined) this.transitioned(t);
  }

  /** A message came straight from `peerId`: what it says of itself and of others. */
  private heardFrom(
    peerId: string,
    msg: { incarnation: number; load: number; capacity: number; updates: MemberUpdateData[] },
  ): void {
    const m = this.members.get(peerId);
    if (m === undefined) return;
    m.load = msg.load;
    m.capacity = msg.capacity;
    m.hearsay = 0;
    m.refusedAlive = undefined;
    this.apply({ peerId, state: "alive", incarnation: msg.incarnation });
    for (const u of msg.updates) {
      const about = u.peerId === this.self || u.peerId === peerId ? undefined : this.members.get(u.peerId);
      if (about === undefined) this.apply(u);
      else if (u.incarnation <= about.incarnation + 1) {
        if (u.state === "alive") this.hearsayAlive(u, about);
        else this.apply(u);
      } else if (u.state === "alive") {
        // A member refutes one step above the suspicion: a bigger jump is news we check ourselves.
        if (about.state === "suspect") this.checkSoon(about);
      } else this.apply(this.clamped(u, about.incarnation));
    }
  }

  /**
   * Another member's word that `m` is alive (a refutation passed on). It clears a suspicion or a failure once;
   * after that, not again until `m` itself has spoken to us (a message from it, or its ack to our probe): else one
   * member repeating "alive, one step up" after every suspicion would keep a dead member alive for ever. A live
   * member loses nothing — we re-check a suspect ourselves half-way through its suspicion, and it answers.
   */
  private hearsayAlive(u: MemberUpdateData, m: Member): void {
    if (m.state === "alive" || u.incarnation <= m.incarnation) {
      this.apply(u);
      return;
    }
    if ((m.hearsay ?? 0) >= MAX_HEARSAY_CLEARS) {
      this.metrics.hearsayRefused++;
      m.refusedAlive = Math.max(m.refusedAlive ?? 0, u.incarnation);
      if (m.state === "suspect") this.checkSoon(m);
      return;
    }
    m.hearsay = (m.hearsay ?? 0) + 1;
    this.apply(u);
  }

  /**
   * A helper reached `m` for us (we could not, directly): `m` is alive, as good as its own word for the hearsay
   * rule. A refutation we refused on hearsay alone now applies — else a member we reach only through others, and
   * whose refutation we refused, would time out to failed although every check of ours found it alive.
   */
  private reachedIndirectly(m: Member): void {
    m.hearsay = 0;
    const refused = m.refusedAlive;
    m.refusedAlive = undefined;
    if (m.state === "suspect" && refused !== undefined && refused > m.incarnation)
      this.apply({ peerId: m.peerId, state: "alive", incarnation: refused });
  }

  /**
   * A suspicion or failure of a third member stated far ahead of the incarnation we hold applies one step above
   * it: "suspect V at 2^53−1" would otherwise pin V's incarnation where its refutation no longer fits a message,
   * and V would be failed everywhere. Dropping such a statement instead would cost liveness — a member that missed
   * two of V's refutations before V died would never learn the failure — and clamping gives a sender no more than
   * a statement one step ahead already does.
   */
  private clamped(u: MemberUpdateData, held: number): MemberUpdateData {
    return { ...u, incarnation: Math.min(u.incarnation, held + 1) };
  }

  private transitioned(t: Transition): void {
    this.gossip.push({ peerId: t.peerId, state: t.to, incarnation: t.incarnation, origin: t.origin });
    if (t.from === t.to) {
      // A new confirmation (or incarnation) of a suspicion: its clamped deadline may want the re-check now.
      if (t.to === "suspect") for (const m of this.members.dueRechecks(Date.now())) this.queueCheck(m);
      return;
    }
    const m = this.members.get(t.peerId);
    if (t.to === "suspect") {
      this.metrics.suspicions++;
      this.log.debug("peer suspected", { peer: t.peerId, incarnation: t.incarnation });
      this.dispatchEvent(new CustomEvent("peer:suspect", { detail: t.peerId }));
    } else if (t.to === "failed") {
      if (m?.failedVia === "timeout") this.metrics.failuresDeclared++;
      else this.metrics.failuresLearned++;
      // One failure per transition to failed, not per silent probe.
      this.components.counters.record(this.components.currentEpoch(), t.peerId, false);
      this.log.warn("peer failed", { peer: t.peerId, via: m?.failedVia, incarnation: t.incarnation });
      this.dispatchEvent(new CustomEvent("peer:failed", { detail: t.peerId }));
    } else if (t.from === "failed") {
      this.log.info("peer recovered", { peer: t.peerId, incarnation: t.incarnation });
      this.dispatchEvent(new CustomEvent("peer:recovered", { detail: t.peerId }));
    } else {
      this.log.debug("suspicion refuted", { peer: t.peerId, incarnation: t.incarnation });
      this.dispatchEvent(new CustomEvent("peer:alive", { detail: t.peerId }));
    }
  }

  /** Sends one Probe (a ping-req when `target` is set) to `peerId` and returns its Ack. */
  private async exchange(
    peerId: string,
    target: string | undefined,
    timeoutMs: number,
    options: Opts,
    sync = false,
  ): Promise<AckData> {
    const id = peerIdFromString(peerId);
    const signal = anySignal(AbortSignal.timeout(timeoutMs), this.controller.signal, options.signal);
    const seq = ++this.seq;
    let stream: Stream | undefined;
    try {
      stream = await this.components.node.dialProtocol(id, HEALTH_PROTOCOL, { signal });
      const probe = fitted(
        probeMessage({
          seq,
          target,
          incarnation: this.own,
          ...this.ours(),
          updates: this.outgoing(peerId),
          state: sync ? this.stateSample(peerId) : [],
        }),
        Probe.encode,
      );
      await writeMessage(stream, Probe, probe, MAX_HEALTH_MESSAGE_BYTES, { signal });
      const ack = readAck(await readMessage<Ack>(stream, Ack, MAX_HEALTH_MESSAGE_BYTES, { signal }), seq);
      await stream.close({ signal }).catch(() => {});
      this.heardFrom(peerId, ack);
      if (sync && this.members.has(peerId)) this.mergeState(peerId, ack.state);
      return ack;
    } catch (err) {
      stream?.abort(err as Error);
      if (err instanceof WireError && err.penalise) this.components.penalise?.(id, err);
      throw new ProbeFailedError(peerId, err);
    }
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    const signal = anySignal(AbortSignal.timeout(3 * this.scaled(this.probeTimeoutMs)), this.controller.signal);
    try {
      const probe = readProbe(await readMessage<Probe>(stream, Probe, MAX_HEALTH_MESSAGE_BYTES, { signal }));
      const member = this.members.has(from);
      if (!member && probe.target !== undefined) {
        // A stranger cannot make us probe anyone: constant work, and no relay to amplify through.
        this.metrics.strangerPingReqs++;
        this.log.throttled("ping-req from a stranger", "debug", "ping-req from a stranger refused", { peer: from });
        stream.abort(new Error("ping-req from a peer we do not watch"));
        return;
      }
      if (member) this.heardFrom(from, probe);
      // A sync is merged before we answer: a suspicion of us in it is refuted in this very ack.
      const sync = member && probe.state.length > 0 && this.serveSync(from);
      if (sync) this.mergeState(from, probe.state);
      const reached = probe.target === undefined ? true : await this.relay(from, probe.target, signal);
      const ack = fitted(
        ackMessage({
          seq: probe.seq,
          reached,
          incarnation: this.own,
          ...this.ours(),
          // A stranger gets a bare ack: nothing about the membership, nothing it could make us repeat.
          updates: member ? this.outgoing(from) : [],
          state: sync ? this.stateSample(from) : [],
        }),
        Ack.encode,
      );
      await writeMessage(stream, Ack, ack, MAX_HEALTH_MESSAGE_BYTES, { signal });
      // A sync's answer is counted in syncsServed: `acks` are the answers to probes, one per member's round.
      if (!member) this.metrics.strangerAcks++;
      else if (!sync) this.metrics.acks++;
      await stream.close({ signal });
    } catch (err) {
      const e = err as Error;
      const code = (err as { code?: string }).code;
      this.log.throttled("health message rejected", "warn", "health message rejected", {
        peer: from,
        code,
        reason: e.message,
      });
      stream.abort(e);
      if (err instanceof WireError && err.penalise) this.components.penalise?.(connection.remotePeer, err);
    }
  }

  /** A member's ping-req: probe `target` for it, within the relay budget; whether the target answered. */
  private async relay(requester: string, target: string, signal: AbortSignal): Promise<boolean> {
    if (target === this.self) return true;
    if (target === requester || !this.members.has(target) || this.relaying.has(requester) || !this.relayBudget.take()) {
      this.metrics.relaysRefused++;
      this.log.throttled("relay refused", "debug", "ping-req refused", { peer: requester });
      return false;
    }
    this.relaying.add(requester);
    try {
      this.metrics.relays++;
      await this.exchange(target, undefined, this.scaled(this.probeTimeoutMs), { signal });
      return true;
    } catch {
      return false;
    } finally {
      this.relaying.delete(requester);
      this.relayBudget.release();
    }
  }
}

/** What we hold of `m`, as a statement: a suspicion with its origin. */
function statement(m: Member): MemberUpdateData {
  const out: MemberUpdateData = { peerId: m.peerId, state: m.state, incarnation: m.incarnation };
  if (m.state === "suspect" && m.suspicion?.origin !== undefined) out.origin = m.suspicion.origin;
  return out;
}

export function health(init: HealthInit = {}): (components: HealthComponents) => Health {
  return (components) => new Health(components, init);
}
