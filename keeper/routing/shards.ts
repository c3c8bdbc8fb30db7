/**
 * Shard mapping. `Shard_Size = Total_Nodes / Number_of_Shards`.
 *
 * - A task maps to shard `uint64(SHA-256(taskId)[0..8]) mod Number_of_Shards` (big-endian).
 * - Nodes: every member's peer id is hashed with SHA-256; members are sorted by the first 8 bytes of that hash
 *   (ties — practically impossible — by peer id) and the sorted list is cut into `Number_of_Shards` contiguous
 *   ranges: the member of rank r (0-based) among N goes to shard `floor(r · S / N)`.
 *
 * Every keeper computes the same map from the same member set (no coordination). Shard sizes differ by at most
 * one. A join or a leave shifts each of the S − 1 range boundaries by at most one rank, so at most S − 1
 * existing members change shard (measured in test/keeper/routing/shards.test.ts), independent of N.
 */
import { createHash } from "node:crypto";

import { RoutingConfigError } from "./errors.ts";

export function assertShardCount(shards: number): void {
  if (!Number.isSafeInteger(shards) || shards < 1) {
    throw new RoutingConfigError("shards", shards, "must be an integer ≥ 1");
  }
}

/** `Shard_Size = Total_Nodes / Number_of_Shards` (fractional; actual shards hold its floor or ceiling). */
export function shardSize(totalNodes: number, shards: number): number {
  assertShardCount(shards);
  return totalNodes / shards;
}

/** The shard of a task: first 8 bytes of SHA-256(taskId), big-endian, mod `shards`. */
export function taskShard(taskId: string, shards: number): number {
  assertShardCount(shards);
  const digest = createHash("sha256").update(taskId).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(shards));
}

/** Sort key of a member: the first 8 bytes of SHA-256(peerId) as 16 lowercase hex digits (orders like the uint64). */
export function memberKey(peerId: string): string {
  return createHash("sha256").update(peerId).digest("hex").slice(0, 16);
}

/** The shard of every member (see the file comment for the rule). */
export function assignShards(peerIds: Iterable<string>, shards: number, keyOf = memberKey): Map<string, number> {
  assertShardCount(shards);
  const keyed: { peerId: string; key: string }[] = [];
  for (const peerId of new Set(peerIds)) keyed.push({ peerId, key: keyOf(peerId) });
  keyed.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0,
  );
  const n = keyed.length;
  const out = new Map<string, number>();
  for (let r = 0; r < n; r++) out.set(keyed[r]!.peerId, Math.floor((r * shards) / n));
  return out;
}

interface Member {
  peerId: string;
  key: string;
}

/** Member order: by key, ties by peer id (the order assignShards sorts in). */
function before(a: Member, b: Member): boolean {
  return a.key < b.key || (a.key === b.key && a.peerId < b.peerId);
}

/**
 * Changes applied one by one up to this many per recomputation (binary search + splice + the members around
 * the S − 1 range boundaries); more at once are merged into the sorted list in one O(N) pass instead.
 */
const INCREMENTAL_CHANGES = 32;

/**
 * A member set with its shard map, kept up to date incrementally: the members stay sorted, so a join or a leave
 * costs a binary search, one splice and a look at the members next to the S − 1 range boundaries (only they can
 * change shard, see the file comment) instead of a sort of the whole set. Gives exactly assignShards' answer.
 */
export class ShardMap {
  readonly shards: number;
  /** Members sorted by (key, peer id). */
  private sorted: Member[] = [];
  private readonly map = new Map<string, number>();
  /** Joins and leaves not yet applied (peer id → member, or undefined for a leave). */
  private pending = new Map<string, Member | undefined>();
  /** Members whose shard changed (or that joined) since the last takeMoved(). */
  private moved = new Set<string>();
  private count = 0;

  constructor(shards: number) {
    assertShardCount(shards);
    this.shards = shards;
  }

  get size(): number {
    return this.count;
  }

  has(peerId: string): boolean {
    return this.pending.has(peerId) ? this.pending.get(peerId) !== undefined : this.map.has(peerId);
  }

  /** Adds a member; returns false when it already was one. */
  add(peerId: string): boolean {
    if (this.has(peerId)) return false;
    if (this.pending.has(peerId)) this.pending.delete(peerId);
    else this.pending.set(peerId, { peerId, key: memberKey(peerId) });
    this.count++;
    return true;
  }

  /** Removes a member; returns false when it was not one. */
  remove(peerId: string): boolean {
    if (!this.has(peerId)) return false;
    if (this.pending.has(peerId)) this.pending.delete(peerId);
    else this.pending.set(peerId, undefined);
    this.count--;
    this.moved.delete(peerId);
    return true;
  }

  /** The member's shard, or undefined for a non-member. */
  shardOf(peerId: string): number | undefined {
    return this.current().get(peerId);
  }

  /** The whole map (peer id → shard), brought up to date first. */
  current(): ReadonlyMap<string, number> {
    if (this.pending.size > 0) this.apply();
    return this.map;
  }

  /** Peer ids of the members that joined or changed shard since the last call (brought up to date first). */
  takeMoved(): string[] {
    this.current();
    const out = [...this.moved];
    this.moved.clear();
    return out;
  }

  private apply(): void {
    const changes = this.pending;
    this.pending = new Map();
    if (changes.size > INCREMENTAL_CHANGES) {
      this.merge(changes);
      return;
    }
    for (const [peerId, member] of changes) {
      if (member === undefined) {
        const i = this.indexOf({ peerId, key: memberKey(peerId) });
        this.sorted.splice(i, 1);
        this.map.delete(peerId);
        this.moved.delete(peerId);
      } else {
        this.sorted.splice(this.indexOf(member), 0, member);
        this.map.set(peerId, -1);
      }
      this.reassignAroundBoundaries();
      if (member !== undefined) this.reassign(this.indexOf(member));
    }
  }

  /** Position of `m` in the sorted list, or where it would be inserted. */
  private indexOf(m: Member): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.sorted[mid]!, m)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private reassign(rank: number): void {
    const n = this.sorted.length;
    const m = this.sorted[rank]!;
    const shard = Math.floor((rank * this.shards) / n);
    if (this.map.get(m.peerId) !== shard) {
      this.map.set(m.peerId, shard);
      this.moved.add(m.peerId);
    }
  }

  /**
   * After one join or leave, a member's r·S/N moves by less than one rank's worth, so only members within a
   * rank or two of a boundary can change shard; three ranks either side leaves a margin.
   */
  private reassignAroundBoundaries(): void {
    const n = this.sorted.length;
    if (n === 0) return;
    if (6 * this.shards >= n) {
      for (let r = 0; r < n; r++) this.reassign(r);
      return;
    }
    for (let s = 1; s < this.shards; s++) {
      const b = Math.ceil((s * n) / this.shards);
      for (let r = Math.max(0, b - 3); r <= Math.min(n - 1, b + 2); r++) this.reassign(r);
    }
  }

  /** Applies many changes in one pass: drop the leavers, merge the sorted joiners, reassign every rank. */
  private merge(changes: ReadonlyMap<string, Member | undefined>): void {
    const joiners: Member[] = [];
    for (const [peerId, member] of changes) {
      if (member === undefined) {
        this.map.delete(peerId);
        this.moved.delete(peerId);
      } else joiners.push(member);
    }
    joiners.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    const old = this.sorted;
    const merged: Member[] = new Array<Member>(this.count);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length || j < joiners.length) {
      if (i < old.length && changes.has(old[i]!.peerId)) {
        i++;
        continue;
      }
      if (j >= joiners.length || (i < old.length && before(old[i]!, joiners[j]!))) merged[k++] = old[i++]!;
      else merged[k++] = joiners[j++]!;
    }
    merged.length = k;
    this.sorted = merged;
    for (let r = 0; r < k; r++) this.reassign(r);
  }
}
