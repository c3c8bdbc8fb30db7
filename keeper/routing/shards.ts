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

/**
 * A member set with its shard map, recomputed lazily after joins/leaves. Member hashes are cached, so a
 * recomputation costs one sort.
 */
export class ShardMap {
  readonly shards: number;
  private readonly keys = new Map<string, string>();
  private map = new Map<string, number>();
  private dirty = false;

  constructor(shards: number) {
    assertShardCount(shards);
    this.shards = shards;
  }

  get size(): number {
    return this.keys.size;
  }

  has(peerId: string): boolean {
    return this.keys.has(peerId);
  }

  /** Adds a member; returns false when it already was one. */
  add(peerId: string): boolean {
    if (this.keys.has(peerId)) return false;
    this.keys.set(peerId, memberKey(peerId));
    this.dirty = true;
    return true;
  }

  /** Removes a member; returns false when it was not one. */
  remove(peerId: string): boolean {
    if (!this.keys.delete(peerId)) return false;
    this.dirty = true;
    return true;
  }

  /** The member's shard, or undefined for a non-member. */
  shardOf(peerId: string): number | undefined {
    return this.current().get(peerId);
  }

  /** The whole map (peer id → shard); recomputed only when membership changed. */
  current(): ReadonlyMap<string, number> {
    if (this.dirty) {
      this.map = assignShards(this.keys.keys(), this.shards, (id) => this.keys.get(id)!);
      this.dirty = false;
    }
    return this.map;
  }
}
