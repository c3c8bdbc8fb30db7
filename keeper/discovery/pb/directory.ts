import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from "protons-runtime";
import { alloc as uint8ArrayAlloc } from "uint8arrays/alloc";
import type { Codec, DecodeOptions } from "protons-runtime";
import type { Uint8ArrayList } from "uint8arraylist";

export interface Entry {
  peerId: Uint8Array<ArrayBuffer>;
  seq: bigint;
}

export namespace Entry {
  let _codec: Codec<Entry, Entry>;

  export const codec = (): Codec<Entry, Entry> => {
    if (_codec == null) {
      _codec = message<Entry, Entry>(
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

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            peerId: uint8ArrayAlloc(0),
            seq: 0n,
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
                  field: `${prefix}.seq`,
                  value: reader.uint64(),
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

  export interface EntryPeerIdFieldEvent {
    field: "$.peerId";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface EntrySeqFieldEvent {
    field: "$.seq";
    value: bigint;
  }

  export function encode(obj: Partial<Entry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as Entry, Entry.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>): Entry {
    return decodeMessage(buf, Entry.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Entry>,
  ): Generator<EntryPeerIdFieldEvent | EntrySeqFieldEvent> {
    return streamMessage(buf, Entry.codec(), opts);
  }
}

export interface DirectorySync {
  digest: Entry[];
  records: Uint8Array<ArrayBuffer>[];
}

export namespace DirectorySync {
  let _codec: Codec<DirectorySync, DirectorySync>;

  export const codec = (): Codec<DirectorySync, DirectorySync> => {
    if (_codec == null) {
      _codec = message<DirectorySync, DirectorySync>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.digest != null && obj.digest.length > 0) {
            for (const value of obj.digest) {
              w.uint32(10);
              Entry.codec().encode(value, w);
            }
          }

          if (obj.records != null && obj.records.length > 0) {
            for (const value of obj.records) {
              w.uint32(18);
              w.bytes(value);
            }
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            digest: [],
            records: [],
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                if (opts.limits?.digest != null && obj.digest.length === opts.limits.digest) {
                  throw new MaxLengthError('Decode error - repeated field "digest" had too many elements');
                }

                obj.digest.push(
                  Entry.codec().decode(reader, reader.uint32(), {
                    limits: opts.limits?.digest$,
                  }),
                );
                break;
              }
              case 2: {
                if (opts.limits?.records != null && obj.records.length === opts.limits.records) {
                  throw new MaxLengthError('Decode error - repeated field "records" had too many elements');
                }

                obj.records.push(reader.bytes());
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
            digest: 0,
            records: 0,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                if (opts.limits?.digest != null && obj.digest === opts.limits.digest) {
                  throw new MaxLengthError('Streaming decode error - repeated field "digest" had too many elements');
                }

                for (const evt of Entry.codec().stream(reader, reader.uint32(), `${prefix}.digest[]`, {
                  limits: opts.limits?.digest$,
                })) {
                  yield {
                    ...evt,
                    index: obj.digest,
                  };
                }

                obj.digest++;

                break;
              }
              case 2: {
                if (opts.limits?.records != null && obj.records === opts.limits.records) {
                  throw new MaxLengthError('Streaming decode error - repeated field "records" had too many elements');
                }

                yield {
                  field: `${prefix}.records[]`,
                  index: obj.records,
                  value: reader.bytes(),
                };

                obj.records++;

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

  export interface DirectorySyncDigestPeerIdFieldEvent {
    field: "$.digest[].peerId";
    value: Uint8Array<ArrayBuffer>;
    index: number;
  }

  export interface DirectorySyncDigestSeqFieldEvent {
    field: "$.digest[].seq";
    value: bigint;
    index: number;
  }

  export interface DirectorySyncRecordsFieldEvent {
    field: "$.records[]";
    index: number;
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<DirectorySync>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as DirectorySync, DirectorySync.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DirectorySync>): DirectorySync {
    return decodeMessage(buf, DirectorySync.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<DirectorySync>,
  ): Generator<
    DirectorySyncDigestPeerIdFieldEvent | DirectorySyncDigestSeqFieldEvent | DirectorySyncRecordsFieldEvent
  > {
    return streamMessage(buf, DirectorySync.codec(), opts);
  }
}
