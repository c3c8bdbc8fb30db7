/**
 * Probe and Ack as the health service sees them: decoded, validated once at the boundary (every rule of
 * docs/PROTOCOL.md §3), peer ids as strings. Encoding goes the other way. No I/O.
 */
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import * as Digest from "multiformats/hashes/digest";

import { InvalidFieldError } from "../wire/index.ts";
import {
  MAX_HEALTH_MESSAGE_BYTES,
  MAX_INCARNATION,
  MAX_PEER_ID_BYTES,
  MAX_SYNC_ENTRIES,
  MAX_TASKS,
  MAX_UPDATES_PER_MESSAGE,
} from "./constants.ts";
import type { MemberStatus, MemberUpdateData } from "./members.ts";
import { Ack, MemberState, Probe, type MemberUpdate } from "./pb/health.ts";

interface Common {
  seq: bigint;
  incarnation: number;
  load: number;
  capacity: number;
  updates: MemberUpdateData[];
  /** A state sync (push-pull): a bounded sample of the sender's view; empty in plain probes and acks. */
  state: MemberUpdateData[];
}

export interface ProbeData extends Common {
  /** Set: a ping-req, probe this peer for the sender. */
  target?: string;
}

export interface AckData extends Common {
  reached: boolean;
}

const toWireState: Record<MemberStatus, MemberState> = {
  alive: MemberState.ALIVE,
  suspect: MemberState.SUSPECT,
  failed: MemberState.FAILED,
};
const fromWireState = new Map<MemberState, MemberStatus>([
  [MemberState.ALIVE, "alive"],
  [MemberState.SUSPECT, "suspect"],
  [MemberState.FAILED, "failed"],
]);

export function peerIdBytes(peerId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(peerIdFromString(peerId).toMultihash().bytes);
}

function peerIdText(bytes: Uint8Array, field: string): string {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_PEER_ID_BYTES)
    throw new InvalidFieldError(field, `must be 1..${MAX_PEER_ID_BYTES} bytes`);
  try {
    return peerIdFromMultihash(Digest.decode(bytes)).toString();
  } catch {
    throw new InvalidFieldError(field, "not a peer id");
  }
}

function incarnation(value: bigint, field: string): number {
  if (value > BigInt(MAX_INCARNATION)) throw new InvalidFieldError(field, "above 2^53-1");
  return Number(value);
}

function common(msg: Probe | Ack): Common {
  if (msg.seq === 0n) throw new InvalidFieldError("seq", "must be ≥ 1");
  if (msg.load > MAX_TASKS) throw new InvalidFieldError("load", `above ${MAX_TASKS}`);
  if (msg.capacity > MAX_TASKS) throw new InvalidFieldError("capacity", `above ${MAX_TASKS}`);
  if (msg.updates.length > MAX_UPDATES_PER_MESSAGE)
    throw new InvalidFieldError("updates", `more than ${MAX_UPDATES_PER_MESSAGE}`);
  if (msg.state.length > MAX_SYNC_ENTRIES) throw new InvalidFieldError("state", `more than ${MAX_SYNC_ENTRIES}`);
  return {
    seq: msg.seq,
    incarnation: incarnation(msg.incarnation, "incarnation"),
    load: msg.load,
    capacity: msg.capacity,
    updates: msg.updates.map((u) => readUpdate(u, "updates")),
    state: msg.state.map((u) => readUpdate(u, "state")),
  };
}

function readUpdate(u: MemberUpdate, field: string): MemberUpdateData {
  const state = fromWireState.get(u.state);
  if (state === undefined) throw new InvalidFieldError(`${field}.state`, "unknown state");
  const out: MemberUpdateData = {
    peerId: peerIdText(u.peerId, `${field}.peer_id`),
    state,
    incarnation: incarnation(u.incarnation, `${field}.incarnation`),
  };
  // Validated whatever the state, kept only on a suspicion: it means nothing on alive or failed.
  const origin = u.origin === undefined ? undefined : peerIdText(u.origin, `${field}.origin`);
  if (origin !== undefined && state === "suspect") out.origin = origin;
  return out;
}

export function readProbe(msg: Probe): ProbeData {
  const out: ProbeData = common(msg);
  if (msg.target.byteLength > 0) out.target = peerIdText(msg.target, "target");
  return out;
}

export function readAck(msg: Ack, seq: bigint): AckData {
  const out = { ...common(msg), reached: msg.reached };
  if (out.seq !== seq) throw new InvalidFieldError("seq", "ack does not echo the probe");
  return out;
}

function wireUpdates(updates: MemberUpdateData[]): MemberUpdate[] {
  return updates.map((u) => ({
    peerId: peerIdBytes(u.peerId),
    state: toWireState[u.state],
    incarnation: BigInt(u.incarnation),
    ...(u.state === "suspect" && u.origin !== undefined ? { origin: peerIdBytes(u.origin) } : {}),
  }));
}

export function probeMessage(p: ProbeData): Probe {
  return {
    seq: p.seq,
    target: p.target === undefined ? new Uint8Array(0) : peerIdBytes(p.target),
    incarnation: BigInt(p.incarnation),
    load: p.load,
    capacity: p.capacity,
    updates: wireUpdates(p.updates),
    state: wireUpdates(p.state),
  };
}

export function ackMessage(a: AckData): Ack {
  return {
    seq: a.seq,
    reached: a.reached,
    incarnation: BigInt(a.incarnation),
    load: a.load,
    capacity: a.capacity,
    updates: wireUpdates(a.updates),
    state: wireUpdates(a.state),
  };
}

/**
 * Drops state-sync entries from the end (the sample's least important: live members) until the encoded message
 * fits `max` bytes, then, if it still does not, piggybacked updates from the end (the first, what we hold of the
 * receiver, stays). 8 updates with origins fit beside the other fields with Ed25519 ids (38 bytes); only peer ids
 * near the 64-byte limit make the updates themselves too large.
 */
export function fitted<T extends { state: unknown[]; updates: unknown[] }>(
  msg: T,
  encode: (m: T) => Uint8Array,
  max: number = MAX_HEALTH_MESSAGE_BYTES,
): T {
  while (msg.state.length > 0 && encode(msg).byteLength > max) msg.state.pop();
  while (msg.updates.length > 1 && encode(msg).byteLength > max) msg.updates.pop();
  return msg;
}
