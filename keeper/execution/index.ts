export * from "./constants.ts";
export * from "./errors.ts";
export * from "./payloads.ts";
export {
  taskExecution,
  TaskExecutionService,
  validateRequest,
  type TaskExecutionComponents,
  type TaskExecutionInit,
  type TaskWork,
} from "./protocol.ts";
