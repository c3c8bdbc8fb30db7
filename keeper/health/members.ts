/**
 * SWIM membership view (docs/PROTOCOL.md §3): each member's state and incarnation, the precedence rules that
 * decide whether an update overrides what we hold, suspicion deadlines, and the shuffled round-robin probe
 * order. Pure: no I/O, no timers (the caller passes the clock), so every rule is a unit test.
 *
 * Precedence, for a member held at incarnation j (SWIM §4.2, as memberlist applies it):
 * - alive(i) overrides alive/suspect/failed when i > j;
 * - suspect(i) overrides alive when i ≥ j, refreshes a suspect when i > j; it never overrides failed;
 * - failed(i) overrides alive/suspect when i ≥ j.
 *
 * Suspicion timeouts are Lifeguard's (LHA-Suspicion, Dadgar et al. 2018, as memberlist runs it): a suspicion
 * starts at `maxMs` and falls toward `minMs` as distinct members confirm it, so a lone prober that is itself slow
 * gives the suspect time to refute, while a member that several find silent is failed as fast as before. A
 * confirmation is a distinct *origin* (the member that suspected, carried by every relay), never the relay.
 */
export type MemberStatus = "alive" | "suspect" | "failed";

export interface MemberUpdateData {
  peerId: string;
  state: MemberStatus;
  incarnation: number;
  /**
   * A suspicion's origin: the member that suspected first (set by it, kept by every relay); undefined when
   * unknown (an old peer, a failed entry turned suspicion). Meaningless on other states.
   */
  origin?: string;
}

/** How a member came to be failed: our own suspicion timed out, or another member told us. */
export type FailedVia = "timeout" | "gossip";

/**
 * How long a suspicion lasts: `maxMs` with no confirmation, falling (logarithmically) to `minMs` once `expected`
 * distinct members confirmed it; `expected` = 0 means `minMs` at once. `recheckMs`: the time one re-check of the
 * suspect needs to complete (a confirmation never brings a deadline nearer than that before the re-check ran).
 */
export interface SuspicionTiming {
  minMs: number;
  maxMs: number;
  expected: number;
  recheckMs?: number;
}

/** One suspicion of a member, from its start (a new incarnation's suspicion after a refutation starts afresh). */
export interface Suspicion {
  /** Unix ms at which it started: the deadline is `start + timeout(confirmations)` (see Members.confirm). */
  readonly start: number;
  readonly timing: SuspicionTiming;
  /** The member that suspected first (us for our own probe), as stated; undefined: unknown. Never a confirmation. */
  readonly origin?: string;
  /** Distinct other origins that stated this suspicion; at most `timing.expected` are kept. */
  readonly confirmers: Set<string>;
  /** Unix ms at which the re-check is due: half-way through the current timeout, or at once (Members.confirm). */
  recheckAt: number;
}

export interface Member {
  readonly peerId: string;
  state: MemberStatus;
  incarnation: number;
  /** Unix ms at which a suspect member is declared failed (its suspicion's start + timeout). */
  suspectDeadline?: number;
  /** The current suspicion, while suspect. */
  suspicion?: Suspicion;
  failedVia?: FailedVia;
  /** Unix ms at which the member became failed (it is forgotten a bounded time after: Members.forget). */
  failedAt?: number;
  /** Unix ms of the last out-of-turn check (Health.checkSoon): at most one per suspicion timeout. */
  checkSoonAt?: number;
  /** This suspicion's re-check was queued (Members.dueRechecks). */
  rechecked?: boolean;
  load?: number;
  capacity?: number;
  /** Suspicions or failures of this member that another member's word cleared since it last spoke to us. */
  hearsay?: number;
  /** The highest `alive` incarnation of it refused on hearsay since (applied if a helper reaches it for us). */
  refusedAlive?: number;
}

export interface Transition {
  peerId: string;
  from: MemberStatus;
  to: MemberStatus;
  incarnation: number;
  /** To suspect: the origin of the statement, to pass on with it. */
  origin?: string;
}

/**
 * Lifeguard's suspicion timeout after `confirmations` distinct confirmations, in whole ms:
 * max(min, max − (max − min) · log(C + 1) / log(K + 1)); min at once when K = 0.
 */
export function suspicionTimeout(t: SuspicionTiming, confirmations: number): number {
  if (t.expected <= 0 || confirmations >= t.expected || t.maxMs <= t.minMs) return t.minMs;
  const frac = Math.log(confirmations + 1) / Math.log(t.expected + 1);
  return Math.max(t.minMs, Math.floor(t.maxMs - (t.maxMs - t.minMs) * frac));
}

/** A transition to suspect, with the statement's origin when it has one. */
function suspected(m: Member, from: MemberStatus, origin: string | undefined): Transition {
  const t: Transition = { peerId: m.peerId, from, to: "suspect", incarnation: m.incarnation };
  if (origin !== undefined) t.origin = origin;
  return t;
}

/** A plain number is a fixed timeout (no confirmation expected). */
function timingOf(t: number | SuspicionTiming): SuspicionTiming {
  return typeof t === "number" ? { minMs: t, maxMs: t, expected: 0 } : t;
}

export class Members {
  private readonly byId = new Map<string, Member>();
  /** Members held failed (so `size - failed` are the live ones, Lifeguard's K rule). */
  private failed = 0;
  /** Probe order: a shuffled permutation walked once, then shuffled again; newcomers land at a random place. */
  private order: string[] = [];
  private cursor = 0;

  /** This keeper's own id: its own finding confirms a suspicion another member started (memberlist's rule). */
  private selfId: string | undefined;

  constructor(private readonly random: () => number = Math.random) {}

  setSelf(peerId: string): void {
    this.selfId = peerId;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Members not held failed. */
  get live(): number {
    return this.byId.size - this.failed;
  }

  get(peerId: string): Member | undefined {
    return this.byId.get(peerId);
  }

  has(peerId: string): boolean {
    return this.byId.has(peerId);
  }

  all(): IterableIterator<Member> {
    return this.byId.values();
  }

  /**
   * Starts tracking `peerId`, alive at incarnation 0 — or failed at `failed.incarnation` (a member forgotten
   * while failed and watched again: it comes back as it left, with no transition, so it is not probed, failed and
   * counted once more; the state sync's reconnects reach it, and a live one refutes).
   */
  add(peerId: string, failed?: { incarnation: number; at: number }): boolean {
    if (this.byId.has(peerId)) return false;
    if (failed !== undefined) this.failed++;
    this.byId.set(
      peerId,
      failed === undefined
        ? { peerId, state: "alive", incarnation: 0 }
        : { peerId, state: "failed", incarnation: failed.incarnation, failedVia: "timeout", failedAt: failed.at },
    );
    const at = this.cursor + Math.floor(this.random() * (this.order.length - this.cursor + 1));
    this.order.splice(at, 0, peerId);
    return true;
  }

  remove(peerId: string): boolean {
    const m = this.byId.get(peerId);
    if (m === undefined) return false;
    if (m.state === "failed") this.failed--;
    this.byId.delete(peerId);
    const at = this.order.indexOf(peerId);
    if (at >= 0) {
      this.order.splice(at, 1);
      if (at < this.cursor) this.cursor--;
    }
    return true;
  }

  /**
   * The next member to probe: every member not failed once per pass, in a fresh random order each pass. Failed
   * members are skipped (they would take a probe slot each per pass from the live ones, and delay the detection
   * of the next failure); the state sync reaches them instead (Health).
   */
  nextTarget(): Member | undefined {
    for (let seen = 0; seen < this.order.length; seen++) {
      if (this.cursor >= this.order.length) {
        this.shuffle();
        this.cursor = 0;
      }
      const m = this.byId.get(this.order[this.cursor++]!)!;
      if (m.state !== "failed") return m;
    }
    return undefined;
  }

  /** One member in state `state` other than `exclude`, chosen at random, or undefined when there is none. */
  randomIn(state: MemberStatus, exclude?: string): Member | undefined {
    let chosen: Member | undefined;
    let seen = 0;
    // Reservoir sampling: one pass, no copy.
    for (const m of this.byId.values()) {
      if (m.state !== state || m.peerId === exclude) continue;
      if (this.random() * ++seen < 1) chosen = m;
    }
    return chosen;
  }

  /**
   * Up to `k` members other than `exclude`, those not alive first, each group drawn uniformly at random (a
   * state sync's sample). One pass, O(k) memory, whatever the size of the membership.
   */
  sample(k: number, exclude?: string): Member[] {
    const groups: [Member[], Member[]] = [[], []];
    const seen = [0, 0];
    for (const m of this.byId.values()) {
      if (m.peerId === exclude) continue;
      const g = m.state === "alive" ? 1 : 0;
      const n = ++seen[g]!;
      if (groups[g].length < k) groups[g].push(m);
      else {
        const j = Math.floor(this.random() * n);
        if (j < k) groups[g][j] = m;
      }
    }
    return [...groups[0], ...groups[1]].slice(0, k);
  }

  /** Up to `k` members other than `exclude`, alive in our view, chosen at random (the ping-req helpers). */
  randomAlive(k: number, exclude: string): Member[] {
    const pool = [...this.byId.values()].filter((m) => m.state === "alive" && m.peerId !== exclude);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, k);
  }

  /**
   * Applies one statement about a member (from gossip, from our own probe, or from the member itself) and
   * returns what it overrode (`from` may equal `to`: a newer incarnation of the same state, still news worth
   * gossiping), or undefined when it was stale. Unknown members are ignored: only watched peers are tracked.
   *
   * `suspicion` is the timing of a suspicion started now (a plain number: a fixed timeout). A `suspect` statement
   * that starts a suspicion records its origin; one that applies to a suspicion held (same or newer incarnation)
   * counts its origin once as a confirmation unless it is the suspicion's own origin, the suspect, unknown or not
   * a member (us included): the deadline only ever moves earlier. A new confirmation returns a suspect → suspect
   * transition carrying its origin, news to gossip (memberlist re-broadcasts a suspicion on a new confirmation).
   */
  apply(
    u: MemberUpdateData,
    now: number,
    suspicion: number | SuspicionTiming,
    via: FailedVia = "gossip",
  ): Transition | undefined {
    const m = this.byId.get(u.peerId);
    if (m === undefined) return undefined;
    const from = m.state;
    switch (u.state) {
      case "alive":
        if (u.incarnation <= m.incarnation) return undefined;
        if (m.state === "failed") this.failed--;
        m.incarnation = u.incarnation;
        m.state = "alive";
        m.suspectDeadline = undefined;
        m.suspicion = undefined;
        m.failedVia = undefined;
        m.failedAt = undefined;
        break;
      case "suspect":
        if (m.state === "failed" || u.incarnation < m.incarnation) return undefined;
        if (m.state === "suspect" && u.incarnation === m.incarnation) {
          // The same suspicion: news only when a new origin confirms it.
          if (!this.confirm(m, u.origin, now)) return undefined;
          return suspected(m, from, u.origin);
        }
        m.incarnation = u.incarnation;
        if (m.state === "alive") {
          m.state = "suspect";
          const timing = timingOf(suspicion);
          const timeout = suspicionTimeout(timing, 0);
          m.suspicion = { start: now, timing, origin: u.origin, confirmers: new Set(), recheckAt: now + timeout / 2 };
          m.suspectDeadline = now + timeout;
          m.rechecked = false;
        } else {
          // A newer incarnation of a suspicion keeps its start and deadline; its origin confirms it all the same.
          this.confirm(m, u.origin, now);
        }
        return suspected(m, from, u.origin);
      case "failed":
        if (u.incarnation < m.incarnation) return undefined;
        if (m.state === "failed") {
          m.incarnation = u.incarnation;
          return undefined;
        }
        m.incarnation = u.incarnation;
        m.state = "failed";
        this.failed++;
        m.suspectDeadline = undefined;
        m.suspicion = undefined;
        m.failedVia = via;
        m.failedAt = now;
        break;
    }
    return { peerId: m.peerId, from, to: m.state, incarnation: m.incarnation };
  }

  /**
   * `origin` stated the suspicion `m` is under: counted once per suspicion (at most K kept) when it is another
   * member than the suspicion's own origin and the suspect (our own suspicion echoed back carries us: never
   * counted). The deadline becomes start + timeout(confirmations), never later than it was — and, until the
   * suspect was re-checked, never sooner than `recheckMs` from now, with the re-check due at once: a late
   * confirmation must not fail a member before the probe that lets it refute could run. Whether it counted.
   */
  private confirm(m: Member, origin: string | undefined, now: number): boolean {
    const s = m.suspicion;
    if (s === undefined || origin === undefined || origin === s.origin || origin === m.peerId) return false;
    const known = origin === this.selfId || this.byId.has(origin);
    if (!known || s.confirmers.size >= s.timing.expected || s.confirmers.has(origin)) return false;
    s.confirmers.add(origin);
    const timeout = suspicionTimeout(s.timing, s.confirmers.size);
    let deadline = s.start + timeout;
    s.recheckAt = Math.min(s.recheckAt, s.start + timeout / 2);
    const recheckMs = s.timing.recheckMs ?? 0;
    if (m.rechecked === false && deadline < now + recheckMs) {
      deadline = now + recheckMs;
      s.recheckAt = now;
    }
    m.suspectDeadline = Math.min(m.suspectDeadline ?? deadline, deadline);
    return true;
  }

  /** Distinct confirmations of `peerId`'s current suspicion (0 when it is not suspect). */
  confirmations(peerId: string): number {
    return this.byId.get(peerId)?.suspicion?.confirmers.size ?? 0;
  }

  /**
   * Suspects half-way through their suspicion's current timeout (from its start), or whose deadline a late
   * confirmation clamped (see confirm), and not re-checked yet (marked now). Their refutation must reach us
   * before the deadline, and under loss or load the gossip that would tell them may never arrive: a second probe
   * of our own, which carries the suspicion first, lets a live member refute in its answer.
   */
  dueRechecks(now: number): Member[] {
    const out: Member[] = [];
    for (const m of this.byId.values()) {
      if (m.state !== "suspect" || m.rechecked !== false || m.suspicion === undefined) continue;
      if (now < m.suspicion.recheckAt) continue;
      m.rechecked = true;
      out.push(m);
    }
    return out;
  }

  /** Suspects whose deadline passed become failed (our own verdict); returns those transitions. */
  expire(now: number): Transition[] {
    const out: Transition[] = [];
    for (const m of this.byId.values()) {
      if (m.state !== "suspect" || m.suspectDeadline === undefined || m.suspectDeadline > now) continue;
      out.push(this.apply({ peerId: m.peerId, state: "failed", incarnation: m.incarnation }, now, 0, "timeout")!);
    }
    return out;
  }

  /**
   * Members failed since `now - afterMs` or earlier leave the view (memberlist reaps its dead the same way):
   * without this every peer ever watched would stay, and the reconnect syncs would keep trying peers gone for
   * good. Returns those removed.
   */
  forget(now: number, afterMs: number): Member[] {
    const out: Member[] = [];
    for (const m of this.byId.values())
      if (m.state === "failed" && m.failedAt !== undefined && now - m.failedAt >= afterMs) out.push(m);
    for (const m of out) this.remove(m.peerId);
    return out;
  }

  private shuffle(): void {
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
    }
  }
}
