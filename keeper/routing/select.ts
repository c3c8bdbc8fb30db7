/**
 * Selection of a primary and k backups: one pass over the candidates with a top-(k+1) heap held in
 * preallocated arrays — O(n · log(k+1)), no sort, no allocation per node.
 *
 * Eligible: not flagged by Reputation, `load < capacity`, every required capability advertised,
 * `bandwidth ≥ minBandwidth`, not excluded (e.g. already tried for this task).
 *
 * Ranking (load balancing): rank_i = Score_i · (capacity_i − load_i) / capacity_i. Score_i is the seed's
 * formula unchanged; the free-capacity factor spreads work so the best node is not piled on until it is full.
 * Ties: lower load ratio first, then lower peer id (so every keeper breaks ties identically).
 *
 * Shards: candidates of the preferred shard fill the result first; only when that shard has fewer than k+1
 * eligible nodes are the remaining slots filled from other shards (best first).
 */
import { siftDown, siftUp } from "../heap.ts";
import type { Capability, NodeView } from "../types.ts";
import { DEFAULT_BACKUPS } from "./constants.ts";
import { RoutingConfigError, RoutingInvalidMetricError } from "./errors.ts";
import { assertNodeMetrics, DEFAULT_WEIGHTS, scoreUnchecked, type ScoreWeights } from "./score.ts";

export interface SelectionRequest {
  /** Preferred shard (the task's); undefined = no preference. */
  shard?: number;
  /** Capabilities the node must advertise. */
  capabilities?: readonly Capability[];
  /** Minimum advertised bandwidth, bytes per second. */
  minBandwidth?: number;
  /** Peer ids never to choose (nodes already tried for this task). */
  exclude?: ReadonlySet<string>;
}

export interface SelectionOptions {
  weights?: ScoreWeights;
  /** k, number of backups. Default DEFAULT_BACKUPS. */
  backups?: number;
  /** Largest bandwidth known in the network; computed from `nodes` when omitted. */
  bMax?: number;
}

export interface Selection {
  primary: NodeView;
  /** Up to k distinct backups, best first (fewer only when fewer nodes are eligible). */
  backups: NodeView[];
  /** Score_i of primary then backups (the formula, before the load factor). */
  scores: number[];
}

export function assertBackups(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new RoutingConfigError("backups", k, "must be an integer ≥ 0");
}

/** Top-`capacity` candidates by rank, as a min-heap (root = worst kept) in fixed arrays. */
export class TopCandidates {
  readonly refs: (NodeView | undefined)[];
  readonly ranks: Float64Array;
  readonly ratios: Float64Array;
  readonly scores: Float64Array;
  count = 0;

  constructor(readonly capacity: number) {
    this.refs = new Array<NodeView | undefined>(capacity).fill(undefined);
    this.ranks = new Float64Array(capacity);
    this.ratios = new Float64Array(capacity);
    this.scores = new Float64Array(capacity);
  }

  reset(): void {
    this.refs.fill(undefined);
    this.count = 0;
  }

  /** Whether slot i ranks below slot j. */
  private readonly worse = (i: number, j: number): boolean => {
    const ri = this.ranks[i]!;
    const rj = this.ranks[j]!;
    if (ri !== rj) return ri < rj;
    const li = this.ratios[i]!;
    const lj = this.ratios[j]!;
    if (li !== lj) return li > lj;
    return this.refs[i]!.peerId > this.refs[j]!.peerId;
  };

  /** Whether a candidate ranks above the current root (the worst kept). */
  private beatsRoot(rank: number, ratio: number, peerId: string): boolean {
    const r0 = this.ranks[0]!;
    if (rank !== r0) return rank > r0;
    const l0 = this.ratios[0]!;
    if (ratio !== l0) return ratio < l0;
    return peerId < this.refs[0]!.peerId;
  }

  private readonly swap = (i: number, j: number): void => {
    const ref = this.refs[i];
    this.refs[i] = this.refs[j];
    this.refs[j] = ref;
    const r = this.ranks[i]!;
    this.ranks[i] = this.ranks[j]!;
    this.ranks[j] = r;
    const l = this.ratios[i]!;
    this.ratios[i] = this.ratios[j]!;
    this.ratios[j] = l;
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
  };

  offer(node: NodeView, rank: number, ratio: number, score: number): void {
    if (this.capacity === 0) return;
    let i: number;
    if (this.count < this.capacity) {
      i = this.count++;
      this.refs[i] = node;
      this.ranks[i] = rank;
      this.ratios[i] = ratio;
      this.scores[i] = score;
      siftUp(i, this.worse, this.swap);
      return;
    }
    if (!this.beatsRoot(rank, ratio, node.peerId)) return;
    this.refs[0] = node;
    this.ranks[0] = rank;
    this.ratios[0] = ratio;
    this.scores[0] = score;
    siftDown(0, this.count, this.worse, this.swap);
  }

  /** Appends the kept candidates best first to `nodes`/`scores` (empties the heap). */
  drainInto(nodes: NodeView[], scores: number[]): void {
    const start = nodes.length;
    while (this.count > 0) {
      nodes.push(this.refs[0]!);
      scores.push(this.scores[0]!);
      this.count--;
      if (this.count > 0) {
        this.swap(0, this.count);
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < this.count && this.worse(l, m)) m = l;
          if (r < this.count && this.worse(r, m)) m = r;
          if (m === i) break;
          this.swap(i, m);
          i = m;
        }
      }
    }
    // Popped worst first: reverse the appended part to get best first.
    reverseFrom(nodes, start);
    reverseFrom(scores, start);
    this.refs.fill(undefined);
  }
}

function reverseFrom<T>(a: T[], start: number): void {
  for (let i = start, j = a.length - 1; i < j; i++, j--) {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** Whether `node` may take the task (metrics already validated). */
export function eligible(node: NodeView, req: SelectionRequest): boolean {
  if (node.flagged || node.load >= node.capacity) return false;
  if (req.minBandwidth !== undefined && node.bandwidth < req.minBandwidth) return false;
  const caps = req.capabilities;
  if (caps !== undefined) {
    for (let c = 0; c < caps.length; c++) if (!node.capabilities.includes(caps[c]!)) return false;
  }
  if (req.exclude !== undefined && req.exclude.size > 0 && req.exclude.has(node.peerId)) return false;
  return true;
}

/**
 * Offers every eligible node of `nodes` to `inShard` (node.shard === shard) or `others`. When `others` is
 * undefined, only nodes of the shard are considered (or all nodes when shard is undefined).
 */
export function scan(
  nodes: readonly NodeView[],
  req: SelectionRequest,
  bMax: number,
  weights: ScoreWeights,
  inShard: TopCandidates,
  others: TopCandidates | undefined,
  skipShard?: number,
): void {
  const shard = req.shard;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (skipShard !== undefined && node.shard === skipShard) continue;
    if (!eligible(node, req)) continue;
    const s = scoreUnchecked(node, bMax, weights);
    const ratio = node.load / node.capacity;
    const rank = s * (1 - ratio);
    if (shard === undefined || node.shard === shard) inShard.offer(node, rank, ratio, s);
    else if (others !== undefined) others.offer(node, rank, ratio, s);
  }
}

/**
 * `scan` over one shard whose nodes are sorted by Score_i, highest first (`scores[i]` is node i's): stops at the
 * first node whose score is below the worst rank kept once `top` is full. Gives exactly `scan`'s answer:
 * rank_i = Score_i · (1 − load_i / capacity_i) ≤ Score_i, so no node after that one could be kept (equal scores
 * are still examined, for the tie-breaks). Cost: the nodes down to the (k+1)-th best rank, not the shard.
 */
export function scanByScore(
  nodes: readonly NodeView[],
  scores: Float64Array,
  req: SelectionRequest,
  top: TopCandidates,
): void {
  for (let i = 0; i < nodes.length; i++) {
    const s = scores[i]!;
    if (top.count === top.capacity && s < top.ranks[0]!) break;
    const node = nodes[i]!;
    if (!eligible(node, req)) continue;
    const ratio = node.load / node.capacity;
    top.offer(node, s * (1 - ratio), ratio, s);
  }
}

/** Largest bandwidth among `nodes`, validating every node's metrics on the way. */
export function maxBandwidth(nodes: readonly NodeView[]): number {
  let bMax = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    assertNodeMetrics(node);
    if (node.bandwidth > bMax) bMax = node.bandwidth;
  }
  return bMax;
}

/** Merges the two heaps into a Selection (shard first, then others), or undefined when nothing is eligible. */
export function finish(inShard: TopCandidates, others: TopCandidates | undefined, want: number): Selection | undefined {
  const chosen: NodeView[] = [];
  const scores: number[] = [];
  inShard.drainInto(chosen, scores);
  if (others !== undefined && chosen.length < want) {
    const extra: NodeView[] = [];
    const extraScores: number[] = [];
    others.drainInto(extra, extraScores);
    for (let i = 0; i < extra.length && chosen.length < want; i++) {
      chosen.push(extra[i]!);
      scores.push(extraScores[i]!);
    }
  }
  if (chosen.length === 0) return undefined;
  return { primary: chosen[0]!, backups: chosen.slice(1), scores };
}

/**
 * Chooses a primary and k backups among `nodes` (the known network). Throws RoutingInvalidMetricError when a
 * node carries a NaN/negative/infinite metric. Returns undefined when no node is eligible.
 */
export function selectNodes(
  nodes: readonly NodeView[],
  req: SelectionRequest = {},
  options: SelectionOptions = {},
): Selection | undefined {
  const k = options.backups ?? DEFAULT_BACKUPS;
  assertBackups(k);
  const weights = options.weights ?? DEFAULT_WEIGHTS;
  let bMax: number;
  if (options.bMax === undefined) bMax = maxBandwidth(nodes);
  else {
    bMax = options.bMax;
    if (!(bMax >= 0 && bMax < Infinity)) throw new RoutingInvalidMetricError("<network>", "bMax", bMax);
    for (let i = 0; i < nodes.length; i++) assertNodeMetrics(nodes[i]!);
  }
  const want = k + 1;
  const inShard = new TopCandidates(want);
  const others = req.shard === undefined ? undefined : new TopCandidates(want);
  scan(nodes, req, bMax, weights, inShard, others);
  return finish(inShard, others, want);
}
