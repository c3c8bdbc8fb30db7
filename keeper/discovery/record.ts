/**
 * Signed peer records: what a node advertises (capabilities, bandwidth B_i, capacity, load, shard, reward
 * address, listen addresses), signed with its libp2p identity key, stored in the DHT under
 * `/lumora-peer/<peer id>`. See docs/PROTOCOL.md "Peer records" for the exact bytes.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromMultihash, peerIdFromPublicKey, peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import * as Digest from "multiformats/hashes/digest";

import { CAPABILITIES, type Capability } from "../types.ts";
import { encodeVarint } from "../wire/framing.ts";
import {
  MAX_CAPACITY_TASKS,
  MAX_CLOCK_SKEW_MS,
  MAX_MULTIADDR_BYTES,
  MAX_RECORD_ADDRS,
  MAX_RECORD_TTL_MS,
  MAX_SHARD,
  MAX_SIGNED_RECORD_BYTES,
  PEER_RECORD_NAMESPACE,
  PEER_RECORD_SIGNING_DOMAIN,
  REWARD_ADDRESS_BYTES,
} from "./constants.ts";
import { RecordError } from "./errors.ts";
import { Capability as PbCapability, PeerRecord, SignedPeerRecord } from "./pb/peer-record.ts";

/** A verified peer record, in keeper terms. */
export interface PeerRecordData {
  /** base58btc peer id */
  peerId: string;
  seq: bigint;
  issuedAtMs: number;
  expiresAtMs: number;
  capabilities: Capability[];
  /** Advertised bandwidth B_i, bytes per second. */
  bandwidthBps: number;
  capacity: number;
  load: number;
  shard: number;
  /** 0x-prefixed lowercase hex, 20 bytes. */
  rewardAddress: string;
  addrs: string[];
  /** The SignedPeerRecord bytes this was verified from (absent for data built by hand, e.g. in tests). */
  signed?: Uint8Array;
}

const PB_OF: Record<Capability, PbCapability> = {
  provider: PbCapability.PROVIDER,
  executor: PbCapability.EXECUTOR,
  consumer: PbCapability.CONSUMER,
  coordinator: PbCapability.COORDINATOR,
};
const CAP_OF = new Map<string, Capability>(CAPABILITIES.map((c) => [PB_OF[c], c]));

const utf8 = new TextEncoder();

/** DHT key of a peer's record. */
export function peerRecordKey(peerId: { toString(): string }): Uint8Array {
  return utf8.encode(`/${PEER_RECORD_NAMESPACE}/${peerId.toString()}`);
}

/** The bytes signed: uvarint(len(domain)) ‖ UTF-8(domain) ‖ record bytes. */
export function signingPayload(record: Uint8Array): Uint8Array {
  const domain = utf8.encode(PEER_RECORD_SIGNING_DOMAIN);
  const len = encodeVarint(domain.byteLength);
  const out = new Uint8Array(len.byteLength + domain.byteLength + record.byteLength);
  out.set(len, 0);
  out.set(domain, len.byteLength);
  out.set(record, len.byteLength + domain.byteLength);
  return out;
}

function hexToBytes(hex: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(hex))
    throw new RecordError("ERR_RECORD_INVALID_FIELD", "rewardAddress must be 0x + 40 hex digits");
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

/** Encodes and signs `data` with the node's identity key; returns the SignedPeerRecord bytes for the DHT. */
export async function signPeerRecord(
  privateKey: PrivateKey,
  data: Omit<PeerRecordData, "peerId">,
): Promise<Uint8Array> {
  const peerId = peerIdFromPublicKey(privateKey.publicKey);
  const record = PeerRecord.encode({
    peerId: peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
    seq: data.seq,
    issuedAtMs: BigInt(data.issuedAtMs),
    expiresAtMs: BigInt(data.expiresAtMs),
    capabilities: data.capabilities.map((c) => PB_OF[c]),
    bandwidthBps: BigInt(data.bandwidthBps),
    capacity: data.capacity,
    load: data.load,
    shard: data.shard,
    rewardAddress: hexToBytes(data.rewardAddress) as Uint8Array<ArrayBuffer>,
    addrs: data.addrs.map((a) => multiaddr(a).bytes as Uint8Array<ArrayBuffer>),
  });
  const signature = await privateKey.sign(signingPayload(record));
  return SignedPeerRecord.encode({
    record,
    publicKey: publicKeyToProtobuf(privateKey.publicKey) as Uint8Array<ArrayBuffer>,
    signature: signature as Uint8Array<ArrayBuffer>,
  });
}

function invalid(field: string, reason: string): RecordError {
  return new RecordError("ERR_RECORD_INVALID_FIELD", `${field}: ${reason}`);
}

function u64ToSafeNumber(field: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, "exceeds 2^53-1");
  return Number(v);
}

export interface VerifyOptions {
  /** Current time, unix ms (tests pin it). */
  now?: number;
}

/**
 * Verifies a SignedPeerRecord: size, structure, key ↔ peer id ↔ DHT key binding, signature, freshness and
 * every field. Throws RecordError with the precise reason.
 */
export async function verifyPeerRecord(
  key: Uint8Array | undefined,
  bytes: Uint8Array,
  options: VerifyOptions = {},
): Promise<PeerRecordData> {
  const now = options.now ?? Date.now();
  if (bytes.byteLength > MAX_SIGNED_RECORD_BYTES) {
    throw new RecordError(
      "ERR_RECORD_TOO_LARGE",
      `record of ${bytes.byteLength} bytes exceeds ${MAX_SIGNED_RECORD_BYTES}`,
    );
  }
  let signed: SignedPeerRecord;
  let record: PeerRecord;
  try {
    signed = SignedPeerRecord.decode(bytes);
  } catch (err) {
    throw new RecordError("ERR_RECORD_MALFORMED", `envelope is not a SignedPeerRecord: ${(err as Error).message}`);
  }
  if (signed.signature.byteLength === 0 || signed.publicKey.byteLength === 0) {
    throw new RecordError("ERR_RECORD_UNSIGNED", "record carries no signature or no public key");
  }
  try {
    record = PeerRecord.decode(signed.record, {
      limits: { capabilities: CAPABILITIES.length, addrs: MAX_RECORD_ADDRS },
    });
  } catch (err) {
    throw new RecordError("ERR_RECORD_MALFORMED", `record body is not a PeerRecord: ${(err as Error).message}`);
  }
  let publicKey;
  try {
    publicKey = publicKeyFromProtobuf(signed.publicKey);
  } catch (err) {
    throw new RecordError("ERR_RECORD_MALFORMED", `public key undecodable: ${(err as Error).message}`);
  }
  const signer = peerIdFromPublicKey(publicKey);
  let recordPeer;
  try {
    recordPeer = peerIdFromMultihash(Digest.decode(record.peerId));
  } catch {
    throw invalid("peer_id", "not a peer id multihash");
  }
  if (!signer.equals(recordPeer)) throw new RecordError("ERR_RECORD_KEY_MISMATCH", "public key does not match peer_id");
  if (key !== undefined) {
    const expected = peerRecordKey(recordPeer);
    if (Buffer.compare(Buffer.from(expected), Buffer.from(key)) !== 0) {
      throw new RecordError("ERR_RECORD_KEY_MISMATCH", "DHT key does not name the record's peer");
    }
  }
  if (!(await publicKey.verify(signingPayload(signed.record), signed.signature))) {
    throw new RecordError("ERR_RECORD_BAD_SIGNATURE", "signature does not verify against the record's key");
  }

  if (record.seq === 0n) throw invalid("seq", "must be ≥ 1");
  const issuedAtMs = u64ToSafeNumber("issued_at_ms", record.issuedAtMs);
  const expiresAtMs = u64ToSafeNumber("expires_at_ms", record.expiresAtMs);
  if (issuedAtMs > now + MAX_CLOCK_SKEW_MS) throw invalid("issued_at_ms", "in the future");
  if (expiresAtMs <= issuedAtMs) throw invalid("expires_at_ms", "not after issued_at_ms");
  if (expiresAtMs <= now) throw new RecordError("ERR_RECORD_EXPIRED", `record expired ${now - expiresAtMs} ms ago`);
  if (expiresAtMs - now > MAX_RECORD_TTL_MS + MAX_CLOCK_SKEW_MS) {
    throw new RecordError(
      "ERR_RECORD_EXPIRY_TOO_FAR",
      `expiry ${expiresAtMs - now} ms ahead exceeds ${MAX_RECORD_TTL_MS} ms`,
    );
  }
  if (record.capabilities.length === 0) throw invalid("capabilities", "empty");
  const capabilities: Capability[] = [];
  for (const c of record.capabilities) {
    const cap = CAP_OF.get(c as string);
    if (cap === undefined) throw invalid("capabilities", `unknown value ${String(c)}`);
    if (capabilities.includes(cap)) throw invalid("capabilities", `duplicate ${cap}`);
    capabilities.push(cap);
  }
  const bandwidthBps = u64ToSafeNumber("bandwidth_bps", record.bandwidthBps);
  if (record.capacity > MAX_CAPACITY_TASKS) throw invalid("capacity", `above ${MAX_CAPACITY_TASKS}`);
  if (record.load > MAX_CAPACITY_TASKS) throw invalid("load", `above ${MAX_CAPACITY_TASKS}`);
  if (record.shard > MAX_SHARD) throw invalid("shard", `above ${MAX_SHARD}`);
  if (record.rewardAddress.byteLength !== REWARD_ADDRESS_BYTES) throw invalid("reward_address", "must be 20 bytes");
  if (record.addrs.length === 0) throw invalid("addrs", "empty");
  const addrs: string[] = [];
  for (const a of record.addrs) {
    if (a.byteLength > MAX_MULTIADDR_BYTES) throw invalid("addrs", `address above ${MAX_MULTIADDR_BYTES} bytes`);
    try {
      addrs.push(multiaddr(a).toString());
    } catch {
      throw invalid("addrs", "not a binary multiaddr");
    }
  }
  return {
    peerId: recordPeer.toString(),
    seq: record.seq,
    issuedAtMs,
    expiresAtMs,
    capabilities,
    bandwidthBps,
    capacity: record.capacity,
    load: record.load,
    shard: record.shard,
    rewardAddress: "0x" + Buffer.from(record.rewardAddress).toString("hex"),
    addrs,
    signed: bytes,
  };
}

/** Peer id named by a record key, or undefined when the key is not in our namespace. */
export function peerIdFromRecordKey(key: Uint8Array): string | undefined {
  const s = new TextDecoder().decode(key);
  const prefix = `/${PEER_RECORD_NAMESPACE}/`;
  if (!s.startsWith(prefix)) return undefined;
  try {
    return peerIdFromString(s.slice(prefix.length)).toString();
  } catch {
    return undefined;
  }
}

/** Sequence number of an already-validated record, without re-verifying the signature. */
export function recordSeq(bytes: Uint8Array): bigint {
  try {
    return PeerRecord.decode(SignedPeerRecord.decode(bytes).record).seq;
  } catch {
    return -1n;
  }
}
