export * from "./constants.ts";
export * from "./errors.ts";
export * from "./payloads.ts";
export {
  transferPerformer,
  type Perform,
  type PerformComponents,
  type PerformInit,
  type PerformTransfer,
} from "./perform.ts";
export {
  taskExecution,
  TaskExecutionService,
  validateRequest,
  type TaskExecutionComponents,
  type TaskExecutionInit,
  type TaskWork,
} from "./protocol.ts";
export { countedExecution, type CountedExecutionComponents } from "./counted.ts";
export {
  TransferRequests,
  transferRequests,
  type TransferRequest,
  type TransferRequestsComponents,
} from "./requests.ts";
