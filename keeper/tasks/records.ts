/**
 * An epoch's finished tasks as TaskLog `TaskRecord` values (contracts/TaskLog.sol), ready for the epochs
 * module to put in a StandardMerkleTree with TASK_RECORD_LEAF_TYPES.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

import type { TaskRow, TaskStore } from "./store.ts";

/** TaskLog status codes. */
export const TASK_LOG_STATUS = { succeeded: 1, failed: 2, expired: 3 } as const;

/**
 * Leaf types of TaskLog's StandardMerkleTree, in TaskRecord field order: (task id, consumer, executor, bytes,
 * start, end, status, data SHA-256, attempts, receipt hash). Defined once, here beside `toLeafValue` which
 * produces values in this order; the epochs module's tree builder uses it as TASK_LEAF_ENCODING.
 */
export const TASK_RECORD_LEAF_TYPES = [
  "bytes32",
  "address",
  "address",
  "uint64",
  "uint64",
  "uint64",
  "uint8",
  "bytes32",
  "uint16",
  "bytes32",
] as const;

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
export const ZERO_BYTES32 = "0x" + "0".repeat(64);

export interface TaskLogRecord {
  /** keccak256 of the task id string (UTF-8). */
  taskId: string;
  consumer: string;
  executor: string;
  bytesMoved: bigint;
  /** Unix seconds. */
  startedAt: bigint;
  endedAt: bigint;
  status: 1 | 2 | 3;
  dataSha256: string;
  attempts: number;
  evidence: string;
}

export interface RecordOptions {
  /** The on-chain address of a peer (from its signed peer record); undefined when unknown. */
  addressOf: (peerId: string) => string | undefined;
}

/** TaskLog's `taskId` for a keeper task id. */
export function taskLogId(id: string): string {
  return "0x" + bytesToHex(keccak_256(utf8ToBytes(id)));
}

export function toTaskLogRecord(row: TaskRow, options: RecordOptions): TaskLogRecord {
  const status = TASK_LOG_STATUS[row.status as keyof typeof TASK_LOG_STATUS];
  if (status === undefined) throw new RangeError(`task ${row.id} is not finished (status ${row.status})`);
  const succeeded = status === TASK_LOG_STATUS.succeeded;
  return {
    taskId: taskLogId(row.id),
    consumer: options.addressOf(row.consumer) ?? ZERO_ADDRESS,
    executor: row.executor !== null ? (options.addressOf(row.executor) ?? ZERO_ADDRESS) : ZERO_ADDRESS,
    bytesMoved: BigInt(succeeded ? (row.bytes ?? 0) : 0),
    startedAt: BigInt(Math.floor((row.started_at ?? 0) / 1000)),
    endedAt: BigInt(Math.floor((row.ended_at ?? 0) / 1000)),
    status,
    dataSha256: row.sha256 !== null ? "0x" + row.sha256 : ZERO_BYTES32,
    attempts: row.attempts,
    evidence: row.evidence ?? ZERO_BYTES32,
  };
}

/** The record as the positional leaf value array for StandardMerkleTree.of(values, TASK_RECORD_LEAF_TYPES). */
export function toLeafValue(
  r: TaskLogRecord,
): [string, string, string, bigint, bigint, bigint, number, string, number, string] {
  return [
    r.taskId,
    r.consumer,
    r.executor,
    r.bytesMoved,
    r.startedAt,
    r.endedAt,
    r.status,
    r.dataSha256,
    r.attempts,
    r.evidence,
  ];
}

/**
 * Records of the tasks that finished in the epoch window `[fromMs, toMs)` (the epochs module owns the window),
 * ordered by end time then id.
 */
export function epochTaskRecords(
  store: TaskStore,
  window: { fromMs: number; toMs: number },
  options: RecordOptions,
): TaskLogRecord[] {
  return store.finishedBetween(window.fromMs, window.toMs).map((row) => toTaskLogRecord(row, options));
}
