import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from "protons-runtime";
import { alloc as uint8ArrayAlloc } from "uint8arrays/alloc";
import type { Codec, DecodeOptions } from "protons-runtime";
import type { Uint8ArrayList } from "uint8arraylist";

export enum Capability {
  CAPABILITY_UNSPECIFIED = "CAPABILITY_UNSPECIFIED",
  PROVIDER = "PROVIDER",
  EXECUTOR = "EXECUTOR",
  CONSUMER = "CONSUMER",
  COORDINATOR = "COORDINATOR",
}

enum __CapabilityValues {
  CAPABILITY_UNSPECIFIED = 0,
  PROVIDER = 1,
  EXECUTOR = 2,
  CONSUMER = 3,
  COORDINATOR = 4,
}

export namespace Capability {
  export const codec = (): Codec<Capability, Capability> => {
    return enumeration<Capability>(__CapabilityValues);
  };
}

export interface PeerRecord {
  peerId: Uint8Array<ArrayBuffer>;
  seq: bigint;
  issuedAtMs: bigint;
  expiresAtMs: bigint;
  capabilities: Capability[];
  bandwidthBps: bigint;
  capacity: number;
  load: number;
  shard: number;
  rewardAddress: Uint8Array<ArrayBuffer>;
  addrs: Uint8Array<ArrayBuffer>[];
}

export namespace PeerRecord {
  let _codec: Codec<PeerRecord, PeerRecord>;

  export const codec = (): Codec<PeerRecord, PeerRecord> => {
    if (_codec == null) {
      _codec = message<PeerRecord, PeerRecord>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.peerId != null && obj.peerId.byteLength > 0) {
            w.uint32(10);
            w.bytes(obj.peerId);
          }

          if (obj.seq != null && obj.seq !== 0n) {
            w.uint32(16);
            w.uint64(obj.seq);
          }

          if (obj.issuedAtMs != null && obj.issuedAtMs !== 0n) {
            w.uint32(24);
            w.uint64(obj.issuedAtMs);
          }

          if (obj.expiresAtMs != null && obj.expiresAtMs !== 0n) {
            w.uint32(32);
            w.uint64(obj.expiresAtMs);
          }

          if (obj.capabilities != null && obj.capabilities.length > 0) {
            for (const value of obj.capabilities) {
              w.uint32(40);
              Capability.codec().encode(value, w);
            }
          }

          if (obj.bandwidthBps != null && obj.bandwidthBps !== 0n) {
            w.uint32(48);
            w.uint64(obj.bandwidthBps);
          }

          if (obj.capacity != null && obj.capacity !== 0) {
            w.uint32(56);
            w.uint32(obj.capacity);
          }

          if (obj.load != null && obj.load !== 0) {
            w.uint32(64);
            w.uint32(obj.load);
          }

          if (obj.shard != null && obj.shard !== 0) {
            w.uint32(72);
            w.uint32(obj.shard);
          }

          if (obj.rewardAddress != null && obj.rewardAddress.byteLength > 0) {
            w.uint32(82);
            w.bytes(obj.rewardAddress);
          }

          if (obj.addrs != null && obj.addrs.length > 0) {
            for (const value of obj.addrs) {
              w.uint32(90);
              w.bytes(value);
            }
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            peerId: uint8ArrayAlloc(0),
            seq: 0n,
            issuedAtMs: 0n,
            expiresAtMs: 0n,
            capabilities: [],
            bandwidthBps: 0n,
            capacity: 0,
            load: 0,
            shard: 0,
            rewardAddress: uint8ArrayAlloc(0),
            addrs: [],
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.peerId = reader.bytes();
                break;
              }
              case 2: {
                obj.seq = reader.uint64();
                break;
              }
              case 3: {
                obj.issuedAtMs = reader.uint64();
                break;
              }
              case 4: {
                obj.expiresAtMs = reader.uint64();
                break;
              }
              case 5: {
                if (opts.limits?.capabilities != null && obj.capabilities.length === opts.limits.capabilities) {
                  throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements');
                }

                obj.capabilities.push(Capability.codec().decode(reader));
                break;
              }
              case 6: {
                obj.bandwidthBps = reader.uint64();
                break;
              }
              case 7: {
                obj.capacity = reader.uint32();
                break;
              }
              case 8: {
                obj.load = reader.uint32();
                break;
              }
              case 9: {
                obj.shard = reader.uint32();
                break;
              }
              case 10: {
                obj.rewardAddress = reader.bytes();
                break;
              }
              case 11: {
                if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                  throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                }

                obj.addrs.push(reader.bytes());
                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }

          return obj;
        },
        function* (reader, length, prefix, opts = {}) {
          const obj = {
            capabilities: 0,
            addrs: 0,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.peerId`,
                  value: reader.bytes(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.seq`,
                  value: reader.uint64(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.issuedAtMs`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.expiresAtMs`,
                  value: reader.uint64(),
                };
                break;
              }
              case 5: {
                if (opts.limits?.capabilities != null && obj.capabilities === opts.limits.capabilities) {
                  throw new MaxLengthError(
                    'Streaming decode error - repeated field "capabilities" had too many elements',
                  );
                }

                Capability.codec().decode(reader);

                obj.capabilities++;

                break;
              }
              case 6: {
                yield {
                  field: `${prefix}.bandwidthBps`,
                  value: reader.uint64(),
                };
                break;
              }
              case 7: {
                yield {
                  field: `${prefix}.capacity`,
                  value: reader.uint32(),
                };
                break;
              }
              case 8: {
                yield {
                  field: `${prefix}.load`,
                  value: reader.uint32(),
                };
                break;
              }
              case 9: {
                yield {
                  field: `${prefix}.shard`,
                  value: reader.uint32(),
                };
                break;
              }
              case 10: {
                yield {
                  field: `${prefix}.rewardAddress`,
                  value: reader.bytes(),
                };
                break;
              }
              case 11: {
                if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                  throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements');
                }

                yield {
                  field: `${prefix}.addrs[]`,
                  index: obj.addrs,
                  value: reader.bytes(),
                };

                obj.addrs++;

                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }
        },
      );
    }

    return _codec;
  };

  export interface PeerRecordPeerIdFieldEvent {
    field: "$.peerId";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface PeerRecordSeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export interface PeerRecordIssuedAtMsFieldEvent {
    field: "$.issuedAtMs";
    value: bigint;
  }

  export interface PeerRecordExpiresAtMsFieldEvent {
    field: "$.expiresAtMs";
    value: bigint;
  }

  export interface PeerRecordCapabilitiesFieldEvent {
    field: "$.capabilities[]";
    index: number;
    value: Capability;
  }

  export interface PeerRecordBandwidthBpsFieldEvent {
    field: "$.bandwidthBps";
    value: bigint;
  }

  export interface PeerRecordCapacityFieldEvent {
    field: "$.capacity";
    value: number;
  }

  export interface PeerRecordLoadFieldEvent {
    field: "$.load";
    value: number;
  }

  export interface PeerRecordShardFieldEvent {
    field: "$.shard";
    value: number;
  }

  export interface PeerRecordRewardAddressFieldEvent {
    field: "$.rewardAddress";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface PeerRecordAddrsFieldEvent {
    field: "$.addrs[]";
    index: number;
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<PeerRecord>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as PeerRecord, PeerRecord.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerRecord>): PeerRecord {
    return decodeMessage(buf, PeerRecord.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<PeerRecord>,
  ): Generator<
    | PeerRecordPeerIdFieldEvent
    | PeerRecordSeqFieldEvent
    | PeerRecordIssuedAtMsFieldEvent
    | PeerRecordExpiresAtMsFieldEvent
    | PeerRecordCapabilitiesFieldEvent
    | PeerRecordBandwidthBpsFieldEvent
    | PeerRecordCapacityFieldEvent
    | PeerRecordLoadFieldEvent
    | PeerRecordShardFieldEvent
    | PeerRecordRewardAddressFieldEvent
    | PeerRecordAddrsFieldEvent
  > {
    return streamMessage(buf, PeerRecord.codec(), opts);
  }
}

export interface SignedPeerRecord {
  record: Uint8Array<ArrayBuffer>;
  publicKey: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

export namespace SignedPeerRecord {
  let _codec: Codec<SignedPeerRecord, SignedPeerRecord>;

  export const codec = (): Codec<SignedPeerRecord, SignedPeerRecord> => {
    if (_codec == null) {
      _codec = message<SignedPeerRecord, SignedPeerRecord>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.record != null && obj.record.byteLength > 0) {
            w.uint32(10);
            w.bytes(obj.record);
          }

          if (obj.publicKey != null && obj.publicKey.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.publicKey);
          }

          if (obj.signature != null && obj.signature.byteLength > 0) {
            w.uint32(26);
            w.bytes(obj.signature);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            record: uint8ArrayAlloc(0),
            publicKey: uint8ArrayAlloc(0),
            signature: uint8ArrayAlloc(0),
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.record = reader.bytes();
                break;
              }
              case 2: {
                obj.publicKey = reader.bytes();
                break;
              }
              case 3: {
                obj.signature = reader.bytes();
                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }

          return obj;
        },
        function* (reader, length, prefix, opts = {}) {
          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.record`,
                  value: reader.bytes(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.publicKey`,
                  value: reader.bytes(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.signature`,
                  value: reader.bytes(),
                };
                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }
        },
      );
    }

    return _codec;
  };

  export interface SignedPeerRecordRecordFieldEvent {
    field: "$.record";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface SignedPeerRecordPublicKeyFieldEvent {
    field: "$.publicKey";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface SignedPeerRecordSignatureFieldEvent {
    field: "$.signature";
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<SignedPeerRecord>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as SignedPeerRecord, SignedPeerRecord.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedPeerRecord>): SignedPeerRecord {
    return decodeMessage(buf, SignedPeerRecord.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<SignedPeerRecord>,
  ): Generator<
    SignedPeerRecordRecordFieldEvent | SignedPeerRecordPublicKeyFieldEvent | SignedPeerRecordSignatureFieldEvent
  > {
    return streamMessage(buf, SignedPeerRecord.codec(), opts);
  }
}
