/**
 * The keeper's routing table: the known nodes indexed by shard, the network's B_max, and selection for a task
 * that scans the task's shard first (N / Number_of_Shards nodes) and the rest of the network only when that
 * shard cannot provide k+1 eligible nodes. The task manager reserves and releases capacity through it, so the
 * `load` routing sees includes the tasks this keeper assigned.
 *
 * Shards are recomputed from the member set (see shards.ts) lazily, on the first selection after a join or a
 * leave; the advertised `shard` of a NodeView is overwritten by the locally computed one, so every keeper
 * routes by the same rule. Nothing here costs O(N) per event: an update replaces the node in place, a leave
 * swap-removes it from its bucket, and after joins or leaves only the members whose shard changed move between
 * buckets (a million-node table, measured by `npm run sim:scale`, docs/scale.md).
 *
 * Selection in the task's shard walks the shard sorted by Score_i and stops as soon as no remaining node can
 * rank among the k+1 best (select.ts scanByScore): the answer of a full scan, at the cost of the nodes above
 * the (k+1)-th best rank. A shard is sorted again, on its next selection, only after a change of its members,
 * of a member's B_i / P_i / L_i, or of B_max; load changes (acquire, release, advertised load) keep the order.
 */
import type { Logger } from "../logger.ts";
import type { NodeView } from "../types.ts";
import { DEFAULT_BACKUPS, DEFAULT_SHARDS } from "./constants.ts";
import { assertNodeMetrics, resolveWeights, scoreUnchecked, type ScoreWeights } from "./score.ts";
import {
  assertBackups,
  finish,
  scan,
  scanByScore,
  TopCandidates,
  type Selection,
  type SelectionRequest,
} from "./select.ts";
import { ShardMap, taskShard } from "./shards.ts";

export interface RoutingInit {
  /** α, β, γ of the score (defaults in constants.ts). */
  alpha?: number;
  beta?: number;
  gamma?: number;
  /** Number_of_Shards. */
  shards?: number;
  /** k, backups per task. */
  backups?: number;
}

export interface RoutingComponents {
  logger: Logger;
}

export interface TaskRoute extends SelectionRequest {
  /** The task id; its hash picks the preferred shard. */
  taskId: string;
}

/** What the task manager needs from routing (narrow on purpose). */
export interface NodeSelector {
  readonly backups: number;
  select(route: TaskRoute): Selection | undefined;
  /** One more task in flight on `peerId` (counts against its capacity). */
  acquire(peerId: string): void;
  /** One task fewer in flight on `peerId`. */
  release(peerId: string): void;
  /** Whether the node is known, not flagged and below capacity (a backup worth retrying on). */
  isAvailable(peerId: string): boolean;
}

export class RoutingTable implements NodeSelector {
  readonly weights: ScoreWeights;
  readonly shards: number;
  readonly backups: number;
  private readonly log: Logger;
  private readonly nodes = new Map<string, NodeView>();
  /** Tasks this keeper has in flight per node, added to the node's advertised load. */
  private readonly reserved = new Map<string, number>();
  private readonly shardMap: ShardMap;
  private readonly buckets: NodeView[][];
  /** Index of each bucketed node within its bucket (buckets[node.shard]). */
  private readonly slot = new Map<string, number>();
  /** Per shard: Score_i of each node of the bucket, in bucket order, when the bucket is sorted by it. */
  private readonly bucketScores: (Float64Array | undefined)[];
  /** Per shard: the B_max its scores were computed with. */
  private readonly scoredWith: number[];
  private bucketsDirty = false;
  private bMax = 0;
  /** Nodes whose bandwidth equals bMax: B_max is searched again only when the last of them goes. */
  private atMax = 0;
  private bMaxDirty = false;
  private readonly primaryTop: TopCandidates;
  private readonly fallbackTop: TopCandidates;

  constructor(components: RoutingComponents, init: RoutingInit = {}) {
    this.log = components.logger.child("routing");
    this.weights = resolveWeights(init);
    this.shards = init.shards ?? DEFAULT_SHARDS;
    this.shardMap = new ShardMap(this.shards);
    this.buckets = Array.from({ length: this.shards }, () => []);
    this.bucketScores = new Array<Float64Array | undefined>(this.shards).fill(undefined);
    this.scoredWith = new Array<number>(this.shards).fill(0);
    this.backups = init.backups ?? DEFAULT_BACKUPS;
    assertBackups(this.backups);
    this.primaryTop = new TopCandidates(this.backups + 1);
    this.fallbackTop = new TopCandidates(this.backups + 1);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Adds or updates a node (from discovery/proximity/Reputation). Rejects unusable metrics. */
  upsert(view: NodeView): void {
    assertNodeMetrics(view);
    const previous = this.nodes.get(view.peerId);
    const node: NodeView = { ...view, load: view.load + (this.reserved.get(view.peerId) ?? 0) };
    if (previous === undefined) {
      this.shardMap.add(view.peerId);
      this.bucketsDirty = true;
      this.log.debug("node joined", { peerId: view.peerId });
    } else {
      node.shard = previous.shard;
      const i = this.slot.get(view.peerId);
      if (i !== undefined) {
        this.buckets[previous.shard]![i] = node;
        if (
          node.bandwidth !== previous.bandwidth ||
          node.proximity !== previous.proximity ||
          node.latencyMs !== previous.latencyMs
        )
          this.bucketScores[previous.shard] = undefined;
      }
      this.leaveMax(previous.bandwidth);
    }
    this.nodes.set(view.peerId, node);
    this.joinMax(node.bandwidth);
  }

  remove(peerId: string): boolean {
    const node = this.nodes.get(peerId);
    if (node === undefined) return false;
    this.nodes.delete(peerId);
    this.unbucket(node);
    this.shardMap.remove(peerId);
    this.bucketsDirty = true;
    this.leaveMax(node.bandwidth);
    this.log.debug("node left", { peerId });
    return true;
  }

  get(peerId: string): NodeView | undefined {
    this.refresh();
    return this.nodes.get(peerId);
  }

  /** The largest bandwidth known in the network (B_max). */
  maxBandwidth(): number {
    this.refresh();
    return this.bMax;
  }

  /** Members of each shard (after recomputation). */
  shardMembers(shard: number): readonly NodeView[] {
    this.refresh();
    return this.buckets[shard] ?? [];
  }

  acquire(peerId: string): void {
    this.reserved.set(peerId, (this.reserved.get(peerId) ?? 0) + 1);
    const node = this.nodes.get(peerId);
    if (node !== undefined) node.load += 1;
  }

  release(peerId: string): void {
    const n = this.reserved.get(peerId) ?? 0;
    if (n <= 1) this.reserved.delete(peerId);
    else this.reserved.set(peerId, n - 1);
    const node = this.nodes.get(peerId);
    if (node !== undefined && n > 0) node.load = Math.max(0, node.load - 1);
  }

  isAvailable(peerId: string): boolean {
    const node = this.nodes.get(peerId);
    return node !== undefined && !node.flagged && node.load < node.capacity;
  }

  select(route: TaskRoute): Selection | undefined {
    this.refresh();
    const want = this.backups + 1;
    const shard = taskShard(route.taskId, this.shards);
    const req: SelectionRequest = { ...route, shard };
    this.primaryTop.reset();
    this.fallbackTop.reset();
    const scores = this.sortedScores(shard); // may replace the bucket with its sorted copy: read it after
    scanByScore(this.buckets[shard]!, scores, req, this.primaryTop);
    if (this.primaryTop.count < want) {
      // The task's shard cannot fill primary + k backups: top up from the rest of the network.
      const anyShard: SelectionRequest = { ...route };
      for (let s = 0; s < this.buckets.length; s++) {
        if (s === shard) continue;
        scan(this.buckets[s]!, anyShard, this.bMax, this.weights, this.fallbackTop, undefined);
      }
    }
    return finish(this.primaryTop, this.fallbackTop, want);
  }

  private joinMax(bandwidth: number): void {
    if (bandwidth > this.bMax) {
      this.bMax = bandwidth;
      this.atMax = 1;
      this.bMaxDirty = false;
    } else if (bandwidth === this.bMax) {
      // A node at B_max (again): whatever left before, nothing known exceeds it, so B_max is right.
      this.atMax++;
      this.bMaxDirty = false;
    }
  }

  private leaveMax(bandwidth: number): void {
    if (bandwidth === this.bMax && --this.atMax === 0) this.bMaxDirty = true;
  }

  /** Sorts the shard's bucket by Score_i, highest first, unless it already is for the current B_max. */
  private sortedScores(shard: number): Float64Array {
    const known = this.bucketScores[shard];
    if (known !== undefined && this.scoredWith[shard] === this.bMax) return known;
    const bucket = this.buckets[shard]!;
    const n = bucket.length;
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) raw[i] = scoreUnchecked(bucket[i]!, this.bMax, this.weights);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => raw[b]! - raw[a]!);
    const sorted = new Array<NodeView>(n);
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const node = bucket[order[i]!]!;
      sorted[i] = node;
      scores[i] = raw[order[i]!]!;
      this.slot.set(node.peerId, i);
    }
    this.buckets[shard] = sorted;
    this.bucketScores[shard] = scores;
    this.scoredWith[shard] = this.bMax;
    return scores;
  }

  /** Takes a bucketed node out of its bucket (the last node of the bucket fills its place). */
  private unbucket(node: NodeView): void {
    const i = this.slot.get(node.peerId);
    if (i === undefined) return;
    this.bucketScores[node.shard] = undefined;
    const bucket = this.buckets[node.shard]!;
    const last = bucket.pop()!;
    if (last !== node) {
      bucket[i] = last;
      this.slot.set(last.peerId, i);
    }
    this.slot.delete(node.peerId);
  }

  private refresh(): void {
    if (this.bMaxDirty) {
      this.bMax = 0;
      this.atMax = 0;
      for (const n of this.nodes.values()) this.joinMax(n.bandwidth);
      this.bMaxDirty = false;
    }
    if (!this.bucketsDirty) return;
    const map = this.shardMap.current();
    for (const peerId of this.shardMap.takeMoved()) {
      const node = this.nodes.get(peerId)!;
      this.unbucket(node);
      node.shard = map.get(peerId)!;
      const bucket = this.buckets[node.shard]!;
      this.slot.set(peerId, bucket.length);
      bucket.push(node);
      this.bucketScores[node.shard] = undefined;
    }
    this.bucketsDirty = false;
  }
}

/** Factory in the keeper's composition style: `routing(init)(components)`. */
export function routing(init: RoutingInit = {}): (components: RoutingComponents) => RoutingTable {
  return (components) => new RoutingTable(components, init);
}
