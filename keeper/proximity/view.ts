/**
 * NodeView for routing: advertised fields from the verified peer record, L_i and P_i measured here,
 * `flagged` from the Reputation contract (supplied by the caller).
 */
import type { PeerRecordData } from "../discovery/record.ts";
import type { NodeView } from "../types.ts";
import type { ProximityView } from "./proximity.ts";

export function toNodeView(record: PeerRecordData, measured: ProximityView, flagged = false): NodeView {
  return {
    peerId: record.peerId,
    bandwidth: record.bandwidthBps,
    capacity: record.capacity,
    load: record.load,
    ...(measured.proximity !== undefined && { proximity: measured.proximity }),
    ...(measured.latencyMs !== undefined && { latencyMs: measured.latencyMs }),
    shard: record.shard,
    flagged,
    capabilities: record.capabilities,
  };
}

/** Views of every node in `records`. */
export function nodeViews(
  records: readonly PeerRecordData[],
  measure: (peerId: string) => ProximityView,
  isFlagged: (peerId: string) => boolean = () => false,
): NodeView[] {
  return records.map((r) => toNodeView(r, measure(r.peerId), isFlagged(r.peerId)));
}
