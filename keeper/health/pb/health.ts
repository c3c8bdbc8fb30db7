import { decodeMessage, encodeMessage, message, streamMessage } from "protons-runtime";
import type { Codec, DecodeOptions } from "protons-runtime";
import type { Uint8ArrayList } from "uint8arraylist";

export interface Heartbeat {
  seq: bigint;
  sentAtMs: bigint;
  load: number;
  capacity: number;
}

export namespace Heartbeat {
  let _codec: Codec<Heartbeat, Heartbeat>;

  export const codec = (): Codec<Heartbeat, Heartbeat> => {
    if (_codec == null) {
      _codec = message<Heartbeat, Heartbeat>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.seq != null && obj.seq !== 0n) {
            w.uint32(8);
            w.uint64(obj.seq);
          }

          if (obj.sentAtMs != null && obj.sentAtMs !== 0n) {
            w.uint32(16);
            w.uint64(obj.sentAtMs);
          }

          if (obj.load != null && obj.load !== 0) {
            w.uint32(24);
            w.uint32(obj.load);
          }

          if (obj.capacity != null && obj.capacity !== 0) {
            w.uint32(32);
            w.uint32(obj.capacity);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            seq: 0n,
            sentAtMs: 0n,
            load: 0,
            capacity: 0,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.seq = reader.uint64();
                break;
              }
              case 2: {
                obj.sentAtMs = reader.uint64();
                break;
              }
              case 3: {
                obj.load = reader.uint32();
                break;
              }
              case 4: {
                obj.capacity = reader.uint32();
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
                  field: `${prefix}.seq`,
                  value: reader.uint64(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.sentAtMs`,
                  value: reader.uint64(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.load`,
                  value: reader.uint32(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.capacity`,
                  value: reader.uint32(),
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

  export interface HeartbeatSeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export interface HeartbeatSentAtMsFieldEvent {
    field: "$.sentAtMs";
    value: bigint;
  }

  export interface HeartbeatLoadFieldEvent {
    field: "$.load";
    value: number;
  }

  export interface HeartbeatCapacityFieldEvent {
    field: "$.capacity";
    value: number;
  }

  export function encode(obj: Partial<Heartbeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as Heartbeat, Heartbeat.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Heartbeat {
    return decodeMessage(buf, Heartbeat.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Heartbeat>,
  ): Generator<
    HeartbeatSeqFieldEvent | HeartbeatSentAtMsFieldEvent | HeartbeatLoadFieldEvent | HeartbeatCapacityFieldEvent
  > {
    return streamMessage(buf, Heartbeat.codec(), opts);
  }
}

export interface HeartbeatAck {
  seq: bigint;
  sentAtMs: bigint;
  load: number;
  capacity: number;
}

export namespace HeartbeatAck {
  let _codec: Codec<HeartbeatAck, HeartbeatAck>;

  export const codec = (): Codec<HeartbeatAck, HeartbeatAck> => {
    if (_codec == null) {
      _codec = message<HeartbeatAck, HeartbeatAck>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.seq != null && obj.seq !== 0n) {
            w.uint32(8);
            w.uint64(obj.seq);
          }

          if (obj.sentAtMs != null && obj.sentAtMs !== 0n) {
            w.uint32(16);
            w.uint64(obj.sentAtMs);
          }

          if (obj.load != null && obj.load !== 0) {
            w.uint32(24);
            w.uint32(obj.load);
          }

          if (obj.capacity != null && obj.capacity !== 0) {
            w.uint32(32);
            w.uint32(obj.capacity);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            seq: 0n,
            sentAtMs: 0n,
            load: 0,
            capacity: 0,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.seq = reader.uint64();
                break;
              }
              case 2: {
                obj.sentAtMs = reader.uint64();
                break;
              }
              case 3: {
                obj.load = reader.uint32();
                break;
              }
              case 4: {
                obj.capacity = reader.uint32();
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
                  field: `${prefix}.seq`,
                  value: reader.uint64(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.sentAtMs`,
                  value: reader.uint64(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.load`,
                  value: reader.uint32(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.capacity`,
                  value: reader.uint32(),
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

  export interface HeartbeatAckSeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export interface HeartbeatAckSentAtMsFieldEvent {
    field: "$.sentAtMs";
    value: bigint;
  }

  export interface HeartbeatAckLoadFieldEvent {
    field: "$.load";
    value: number;
  }

  export interface HeartbeatAckCapacityFieldEvent {
    field: "$.capacity";
    value: number;
  }

  export function encode(obj: Partial<HeartbeatAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as HeartbeatAck, HeartbeatAck.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartbeatAck>): HeartbeatAck {
    return decodeMessage(buf, HeartbeatAck.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<HeartbeatAck>,
  ): Generator<
    | HeartbeatAckSeqFieldEvent
    | HeartbeatAckSentAtMsFieldEvent
    | HeartbeatAckLoadFieldEvent
    | HeartbeatAckCapacityFieldEvent
  > {
    return streamMessage(buf, HeartbeatAck.codec(), opts);
  }
}
