import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from "protons-runtime";
import { alloc as uint8ArrayAlloc } from "uint8arrays/alloc";
import type { Codec, DecodeOptions } from "protons-runtime";
import type { Uint8ArrayList } from "uint8arraylist";

export enum MemberState {
  ALIVE = "ALIVE",
  SUSPECT = "SUSPECT",
  FAILED = "FAILED",
}

enum __MemberStateValues {
  ALIVE = 0,
  SUSPECT = 1,
  FAILED = 2,
}

export namespace MemberState {
  export const codec = (): Codec<MemberState, MemberState> => {
    return enumeration<MemberState>(__MemberStateValues);
  };
}

export interface MemberUpdate {
  peerId: Uint8Array<ArrayBuffer>;
  state: MemberState;
  incarnation: bigint;
  origin?: Uint8Array<ArrayBuffer>;
}

export namespace MemberUpdate {
  let _codec: Codec<MemberUpdate, MemberUpdate>;

  export const codec = (): Codec<MemberUpdate, MemberUpdate> => {
    if (_codec == null) {
      _codec = message<MemberUpdate, MemberUpdate>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.peerId != null && obj.peerId.byteLength > 0) {
            w.uint32(10);
            w.bytes(obj.peerId);
          }

          if (obj.state != null && __MemberStateValues[obj.state] !== 0) {
            w.uint32(16);
            MemberState.codec().encode(obj.state, w);
          }

          if (obj.incarnation != null && obj.incarnation !== 0n) {
            w.uint32(24);
            w.uint64(obj.incarnation);
          }

          if (obj.origin != null) {
            w.uint32(34);
            w.bytes(obj.origin);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            peerId: uint8ArrayAlloc(0),
            state: MemberState.ALIVE,
            incarnation: 0n,
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
                obj.state = MemberState.codec().decode(reader);
                break;
              }
              case 3: {
                obj.incarnation = reader.uint64();
                break;
              }
              case 4: {
                obj.origin = reader.bytes();
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
                  field: `${prefix}.peerId`,
                  value: reader.bytes(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.state`,
                  value: MemberState.codec().decode(reader),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.incarnation`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.origin`,
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

  export interface MemberUpdatePeerIdFieldEvent {
    field: "$.peerId";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface MemberUpdateStateFieldEvent {
    field: "$.state";
    value: MemberState;
  }

  export interface MemberUpdateIncarnationFieldEvent {
    field: "$.incarnation";
    value: bigint;
  }

  export interface MemberUpdateOriginFieldEvent {
    field: "$.origin";
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<MemberUpdate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as MemberUpdate, MemberUpdate.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberUpdate>): MemberUpdate {
    return decodeMessage(buf, MemberUpdate.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<MemberUpdate>,
  ): Generator<
    | MemberUpdatePeerIdFieldEvent
    | MemberUpdateStateFieldEvent
    | MemberUpdateIncarnationFieldEvent
    | MemberUpdateOriginFieldEvent
  > {
    return streamMessage(buf, MemberUpdate.codec(), opts);
  }
}

export interface Probe {
  seq: bigint;
  target: Uint8Array<ArrayBuffer>;
  incarnation: bigint;
  load: number;
  capacity: number;
  updates: MemberUpdate[];
  state: MemberUpdate[];
}

export namespace Probe {
  let _codec: Codec<Probe, Probe>;

  export const codec = (): Codec<Probe, Probe> => {
    if (_codec == null) {
      _codec = message<Probe, Probe>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.seq != null && obj.seq !== 0n) {
            w.uint32(8);
            w.uint64(obj.seq);
          }

          if (obj.target != null && obj.target.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.target);
          }

          if (obj.incarnation != null && obj.incarnation !== 0n) {
            w.uint32(24);
            w.uint64(obj.incarnation);
          }

          if (obj.load != null && obj.load !== 0) {
            w.uint32(32);
            w.uint32(obj.load);
          }

          if (obj.capacity != null && obj.capacity !== 0) {
            w.uint32(40);
            w.uint32(obj.capacity);
          }

          if (obj.updates != null && obj.updates.length > 0) {
            for (const value of obj.updates) {
              w.uint32(50);
              MemberUpdate.codec().encode(value, w);
            }
          }

          if (obj.state != null && obj.state.length > 0) {
            for (const value of obj.state) {
              w.uint32(58);
              MemberUpdate.codec().encode(value, w);
            }
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            seq: 0n,
            target: uint8ArrayAlloc(0),
            incarnation: 0n,
            load: 0,
            capacity: 0,
            updates: [],
            state: [],
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
                obj.target = reader.bytes();
                break;
              }
              case 3: {
                obj.incarnation = reader.uint64();
                break;
              }
              case 4: {
                obj.load = reader.uint32();
                break;
              }
              case 5: {
                obj.capacity = reader.uint32();
                break;
              }
              case 6: {
                if (opts.limits?.updates != null && obj.updates.length === opts.limits.updates) {
                  throw new MaxLengthError('Decode error - repeated field "updates" had too many elements');
                }

                obj.updates.push(
                  MemberUpdate.codec().decode(reader, reader.uint32(), {
                    limits: opts.limits?.updates$,
                  }),
                );
                break;
              }
              case 7: {
                if (opts.limits?.state != null && obj.state.length === opts.limits.state) {
                  throw new MaxLengthError('Decode error - repeated field "state" had too many elements');
                }

                obj.state.push(
                  MemberUpdate.codec().decode(reader, reader.uint32(), {
                    limits: opts.limits?.state$,
                  }),
                );
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
            updates: 0,
            state: 0,
          };

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
                  field: `${prefix}.target`,
                  value: reader.bytes(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.incarnation`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.load`,
                  value: reader.uint32(),
                };
                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.capacity`,
                  value: reader.uint32(),
                };
                break;
              }
              case 6: {
                if (opts.limits?.updates != null && obj.updates === opts.limits.updates) {
                  throw new MaxLengthError('Streaming decode error - repeated field "updates" had too many elements');
                }

                for (const evt of MemberUpdate.codec().stream(reader, reader.uint32(), `${prefix}.updates[]`, {
                  limits: opts.limits?.updates$,
                })) {
                  yield {
                    ...evt,
                    index: obj.updates,
                  };
                }

                obj.updates++;

                break;
              }
              case 7: {
                if (opts.limits?.state != null && obj.state === opts.limits.state) {
                  throw new MaxLengthError('Streaming decode error - repeated field "state" had too many elements');
                }

                for (const evt of MemberUpdate.codec().stream(reader, reader.uint32(), `${prefix}.state[]`, {
                  limits: opts.limits?.state$,
                })) {
                  yield {
                    ...evt,
                    index: obj.state,
                  };
                }

                obj.state++;

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

  export interface ProbeSeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export interface ProbeTargetFieldEvent {
    field: "$.target";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface ProbeIncarnationFieldEvent {
    field: "$.incarnation";
    value: bigint;
  }

  export interface ProbeLoadFieldEvent {
    field: "$.load";
    value: number;
  }

  export interface ProbeCapacityFieldEvent {
    field: "$.capacity";
    value: number;
  }

  export interface ProbeUpdatesPeerIdFieldEvent {
    field: "$.updates[].peerId";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface ProbeUpdatesStateFieldEvent {
    field: "$.updates[].state";
    value: MemberState;
    index: number;
  }

  export interface ProbeUpdatesIncarnationFieldEvent {
    field: "$.updates[].incarnation";
    value: bigint;
    index: number;
  }

  export interface ProbeUpdatesOriginFieldEvent {
    field: "$.updates[].origin";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface ProbeStatePeerIdFieldEvent {
    field: "$.state[].peerId";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface ProbeStateStateFieldEvent {
    field: "$.state[].state";
    value: MemberState;
    index: number;
  }

  export interface ProbeStateIncarnationFieldEvent {
    field: "$.state[].incarnation";
    value: bigint;
    index: number;
  }

  export interface ProbeStateOriginFieldEvent {
    field: "$.state[].origin";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export function encode(obj: Partial<Probe>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as Probe, Probe.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Probe>): Probe {
    return decodeMessage(buf, Probe.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Probe>,
  ): Generator<
    | ProbeSeqFieldEvent
    | ProbeTargetFieldEvent
    | ProbeIncarnationFieldEvent
    | ProbeLoadFieldEvent
    | ProbeCapacityFieldEvent
    | ProbeUpdatesPeerIdFieldEvent
    | ProbeUpdatesStateFieldEvent
    | ProbeUpdatesIncarnationFieldEvent
    | ProbeUpdatesOriginFieldEvent
    | ProbeStatePeerIdFieldEvent
    | ProbeStateStateFieldEvent
    | ProbeStateIncarnationFieldEvent
    | ProbeStateOriginFieldEvent
  > {
    return streamMessage(buf, Probe.codec(), opts);
  }
}

export interface Ack {
  seq: bigint;
  reached: boolean;
  incarnation: bigint;
  load: number;
  capacity: number;
  updates: MemberUpdate[];
  state: MemberUpdate[];
}

export namespace Ack {
  let _codec: Codec<Ack, Ack>;

  export const codec = (): Codec<Ack, Ack> => {
    if (_codec == null) {
      _codec = message<Ack, Ack>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.seq != null && obj.seq !== 0n) {
            w.uint32(8);
            w.uint64(obj.seq);
          }

          if (obj.reached != null && obj.reached !== false) {
            w.uint32(16);
            w.bool(obj.reached);
          }

          if (obj.incarnation != null && obj.incarnation !== 0n) {
            w.uint32(24);
            w.uint64(obj.incarnation);
          }

          if (obj.load != null && obj.load !== 0) {
            w.uint32(32);
            w.uint32(obj.load);
          }

          if (obj.capacity != null && obj.capacity !== 0) {
            w.uint32(40);
            w.uint32(obj.capacity);
          }

          if (obj.updates != null && obj.updates.length > 0) {
            for (const value of obj.updates) {
              w.uint32(50);
              MemberUpdate.codec().encode(value, w);
            }
          }

          if (obj.state != null && obj.state.length > 0) {
            for (const value of obj.state) {
              w.uint32(58);
              MemberUpdate.codec().encode(value, w);
            }
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            seq: 0n,
            reached: false,
            incarnation: 0n,
            load: 0,
            capacity: 0,
            updates: [],
            state: [],
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
                obj.reached = reader.bool();
                break;
              }
              case 3: {
                obj.incarnation = reader.uint64();
                break;
              }
              case 4: {
                obj.load = reader.uint32();
                break;
              }
              case 5: {
                obj.capacity = reader.uint32();
                break;
              }
              case 6: {
                if (opts.limits?.updates != null && obj.updates.length === opts.limits.updates) {
                  throw new MaxLengthError('Decode error - repeated field "updates" had too many elements');
                }

                obj.updates.push(
                  MemberUpdate.codec().decode(reader, reader.uint32(), {
                    limits: opts.limits?.updates$,
                  }),
                );
                break;
              }
              case 7: {
                if (opts.limits?.state != null && obj.state.length === opts.limits.state) {
                  throw new MaxLengthError('Decode error - repeated field "state" had too many elements');
                }

                obj.state.push(
                  MemberUpdate.codec().decode(reader, reader.uint32(), {
                    limits: opts.limits?.state$,
                  }),
                );
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
            updates: 0,
            state: 0,
          };

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
                  field: `${prefix}.reached`,
                  value: reader.bool(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.incarnation`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.load`,
                  value: reader.uint32(),
                };
                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.capacity`,
                  value: reader.uint32(),
                };
                break;
              }
              case 6: {
                if (opts.limits?.updates != null && obj.updates === opts.limits.updates) {
                  throw new MaxLengthError('Streaming decode error - repeated field "updates" had too many elements');
                }

                for (const evt of MemberUpdate.codec().stream(reader, reader.uint32(), `${prefix}.updates[]`, {
                  limits: opts.limits?.updates$,
                })) {
                  yield {
                    ...evt,
                    index: obj.updates,
                  };
                }

                obj.updates++;

                break;
              }
              case 7: {
                if (opts.limits?.state != null && obj.state === opts.limits.state) {
                  throw new MaxLengthError('Streaming decode error - repeated field "state" had too many elements');
                }

                for (const evt of MemberUpdate.codec().stream(reader, reader.uint32(), `${prefix}.state[]`, {
                  limits: opts.limits?.state$,
                })) {
                  yield {
                    ...evt,
                    index: obj.state,
                  };
                }

                obj.state++;

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

  export interface AckSeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export interface AckReachedFieldEvent {
    field: "$.reached";
    value: boolean;
  }

  export interface AckIncarnationFieldEvent {
    field: "$.incarnation";
    value: bigint;
  }

  export interface AckLoadFieldEvent {
    field: "$.load";
    value: number;
  }

  export interface AckCapacityFieldEvent {
    field: "$.capacity";
    value: number;
  }

  export interface AckUpdatesPeerIdFieldEvent {
    field: "$.updates[].peerId";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface AckUpdatesStateFieldEvent {
    field: "$.updates[].state";
    value: MemberState;
    index: number;
  }

  export interface AckUpdatesIncarnationFieldEvent {
    field: "$.updates[].incarnation";
    value: bigint;
    index: number;
  }

  export interface AckUpdatesOriginFieldEvent {
    field: "$.updates[].origin";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface AckStatePeerIdFieldEvent {
    field: "$.state[].peerId";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface AckStateStateFieldEvent {
    field: "$.state[].state";
    value: MemberState;
    index: number;
  }

  export interface AckStateIncarnationFieldEvent {
    field: "$.state[].incarnation";
    value: bigint;
    index: number;
  }

  export interface AckStateOriginFieldEvent {
    field: "$.state[].origin";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export function encode(obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as Ack, Ack.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
    return decodeMessage(buf, Ack.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Ack>,
  ): Generator<
    | AckSeqFieldEvent
    | AckReachedFieldEvent
    | AckIncarnationFieldEvent
    | AckLoadFieldEvent
    | AckCapacityFieldEvent
    | AckUpdatesPeerIdFieldEvent
    | AckUpdatesStateFieldEvent
    | AckUpdatesIncarnationFieldEvent
    | AckUpdatesOriginFieldEvent
    | AckStatePeerIdFieldEvent
    | AckStateStateFieldEvent
    | AckStateIncarnationFieldEvent
    | AckStateOriginFieldEvent
  > {
    return streamMessage(buf, Ack.codec(), opts);
  }
}
