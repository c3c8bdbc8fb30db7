/**
 * Task manager: priority queue, load-balanced assignment through routing, redundancy (primary + backups),
 * bounded reassignment, and a crash-safe record of every task for the epoch's TaskLog.
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./types.ts";
export { runsBefore, TaskQueue } from "./queue.ts";
export { TASK_MIGRATIONS, TASKS_NAMESPACE, TaskStore, type AttemptRow, type TaskRow } from "./store.ts";
export {
  TaskManager,
  taskManager,
  type TaskManagerComponents,
  type TaskManagerEvents,
  type TaskManagerInit,
} from "./manager.ts";
export {
  epochTaskRecords,
  TASK_LOG_STATUS,
  TASK_RECORD_LEAF_TYPES,
  taskLogId,
  toLeafValue,
  toTaskLogRecord,
  type RecordOptions,
  type TaskLogRecord,
} from "./records.ts";
