import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from "protons-runtime";
import { alloc as uint8ArrayAlloc } from "uint8arrays/alloc";
import type { Codec, DecodeOptions } from "protons-runtime";
import type { Uint8ArrayList } from "uint8arraylist";

export interface TaskRequest {
  taskId: string;
  objectId: Uint8Array<ArrayBuffer>;
  size: bigint;
  providers: string[];
  deadlineMs: bigint;
}

export namespace TaskRequest {
  let _codec: Codec<TaskRequest, TaskRequest>;

  export const codec = (): Codec<TaskRequest, TaskRequest> => {
    if (_codec == null) {
      _codec = message<TaskRequest, TaskRequest>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.taskId != null && obj.taskId !== "") {
            w.uint32(10);
            w.string(obj.taskId);
          }

          if (obj.objectId != null && obj.objectId.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.objectId);
          }

          if (obj.size != null && obj.size !== 0n) {
            w.uint32(24);
            w.uint64(obj.size);
          }

          if (obj.providers != null && obj.providers.length > 0) {
            for (const value of obj.providers) {
              w.uint32(34);
              w.string(value);
            }
          }

          if (obj.deadlineMs != null && obj.deadlineMs !== 0n) {
            w.uint32(40);
            w.uint64(obj.deadlineMs);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            taskId: "",
            objectId: uint8ArrayAlloc(0),
            size: 0n,
            providers: [],
            deadlineMs: 0n,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.taskId = reader.string();
                break;
              }
              case 2: {
                obj.objectId = reader.bytes();
                break;
              }
              case 3: {
                obj.size = reader.uint64();
                break;
              }
              case 4: {
                if (opts.limits?.providers != null && obj.providers.length === opts.limits.providers) {
                  throw new MaxLengthError('Decode error - repeated field "providers" had too many elements');
                }

                obj.providers.push(reader.string());
                break;
              }
              case 5: {
                obj.deadlineMs = reader.uint64();
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
            providers: 0,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.taskId`,
                  value: reader.string(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.objectId`,
                  value: reader.bytes(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.size`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                if (opts.limits?.providers != null && obj.providers === opts.limits.providers) {
                  throw new MaxLengthError('Streaming decode error - repeated field "providers" had too many elements');
                }

                yield {
                  field: `${prefix}.providers[]`,
                  index: obj.providers,
                  value: reader.string(),
                };

                obj.providers++;

                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.deadlineMs`,
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

  export interface TaskRequestTaskIdFieldEvent {
    field: "$.taskId";
    value: string;
  }

  export interface TaskRequestObjectIdFieldEvent {
    field: "$.objectId";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface TaskRequestSizeFieldEvent {
    field: "$.size";
    value: bigint;
  }

  export interface TaskRequestProvidersFieldEvent {
    field: "$.providers[]";
    index: number;
    value: string;
  }

  export interface TaskRequestDeadlineMsFieldEvent {
    field: "$.deadlineMs";
    value: bigint;
  }

  export function encode(obj: Partial<TaskRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as TaskRequest, TaskRequest.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): TaskRequest {
    return decodeMessage(buf, TaskRequest.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<TaskRequest>,
  ): Generator<
    | TaskRequestTaskIdFieldEvent
    | TaskRequestObjectIdFieldEvent
    | TaskRequestSizeFieldEvent
    | TaskRequestProvidersFieldEvent
    | TaskRequestDeadlineMsFieldEvent
  > {
    return streamMessage(buf, TaskRequest.codec(), opts);
  }
}

export interface TaskAccepted {
  taskId: string;
}

export namespace TaskAccepted {
  let _codec: Codec<TaskAccepted, TaskAccepted>;

  export const codec = (): Codec<TaskAccepted, TaskAccepted> => {
    if (_codec == null) {
      _codec = message<TaskAccepted, TaskAccepted>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.taskId != null && obj.taskId !== "") {
            w.uint32(10);
            w.string(obj.taskId);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            taskId: "",
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.taskId = reader.string();
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
                  field: `${prefix}.taskId`,
                  value: reader.string(),
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

  export interface TaskAcceptedTaskIdFieldEvent {
    field: "$.taskId";
    value: string;
  }

  export function encode(obj: Partial<TaskAccepted>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as TaskAccepted, TaskAccepted.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskAccepted>): TaskAccepted {
    return decodeMessage(buf, TaskAccepted.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<TaskAccepted>,
  ): Generator<TaskAcceptedTaskIdFieldEvent> {
    return streamMessage(buf, TaskAccepted.codec(), opts);
  }
}

export interface TaskResult {
  taskId: string;
  ok: boolean;
  bytes: bigint;
  sha256: Uint8Array<ArrayBuffer>;
  error: string;
  code: string;
  evidence: Uint8Array<ArrayBuffer>;
}

export namespace TaskResult {
  let _codec: Codec<TaskResult, TaskResult>;

  export const codec = (): Codec<TaskResult, TaskResult> => {
    if (_codec == null) {
      _codec = message<TaskResult, TaskResult>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.taskId != null && obj.taskId !== "") {
            w.uint32(10);
            w.string(obj.taskId);
          }

          if (obj.ok != null && obj.ok !== false) {
            w.uint32(16);
            w.bool(obj.ok);
          }

          if (obj.bytes != null && obj.bytes !== 0n) {
            w.uint32(24);
            w.uint64(obj.bytes);
          }

          if (obj.sha256 != null && obj.sha256.byteLength > 0) {
            w.uint32(34);
            w.bytes(obj.sha256);
          }

          if (obj.error != null && obj.error !== "") {
            w.uint32(42);
            w.string(obj.error);
          }

          if (obj.code != null && obj.code !== "") {
            w.uint32(50);
            w.string(obj.code);
          }

          if (obj.evidence != null && obj.evidence.byteLength > 0) {
            w.uint32(58);
            w.bytes(obj.evidence);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            taskId: "",
            ok: false,
            bytes: 0n,
            sha256: uint8ArrayAlloc(0),
            error: "",
            code: "",
            evidence: uint8ArrayAlloc(0),
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.taskId = reader.string();
                break;
              }
              case 2: {
                obj.ok = reader.bool();
                break;
              }
              case 3: {
                obj.bytes = reader.uint64();
                break;
              }
              case 4: {
                obj.sha256 = reader.bytes();
                break;
              }
              case 5: {
                obj.error = reader.string();
                break;
              }
              case 6: {
                obj.code = reader.string();
                break;
              }
              case 7: {
                obj.evidence = reader.bytes();
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
                  field: `${prefix}.taskId`,
                  value: reader.string(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.ok`,
                  value: reader.bool(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.bytes`,
                  value: reader.uint64(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.sha256`,
                  value: reader.bytes(),
                };
                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.error`,
                  value: reader.string(),
                };
                break;
              }
              case 6: {
                yield {
                  field: `${prefix}.code`,
                  value: reader.string(),
                };
                break;
              }
              case 7: {
                yield {
                  field: `${prefix}.evidence`,
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

  export interface TaskResultTaskIdFieldEvent {
    field: "$.taskId";
    value: string;
  }

  export interface TaskResultOkFieldEvent {
    field: "$.ok";
    value: boolean;
  }

  export interface TaskResultBytesFieldEvent {
    field: "$.bytes";
    value: bigint;
  }

  export interface TaskResultSha256FieldEvent {
    field: "$.sha256";
    value: Uint8Array<ArrayBuffer>;
  }

  export interface TaskResultErrorFieldEvent {
    field: "$.error";
    value: string;
  }

  export interface TaskResultCodeFieldEvent {
    field: "$.code";
    value: string;
  }

  export interface TaskResultEvidenceFieldEvent {
    field: "$.evidence";
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<TaskResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj as TaskResult, TaskResult.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResult>): TaskResult {
    return decodeMessage(buf, TaskResult.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<TaskResult>,
  ): Generator<
    | TaskResultTaskIdFieldEvent
    | TaskResultOkFieldEvent
    | TaskResultBytesFieldEvent
    | TaskResultSha256FieldEvent
    | TaskResultErrorFieldEvent
    | TaskResultCodeFieldEvent
    | TaskResultEvidenceFieldEvent
  > {
    return streamMessage(buf, TaskResult.codec(), opts);
  }
}
