/**
 * Execution as the task manager calls it, counted: every attempt on an executor is a success or a failure in
 * this epoch's health counters (Reputation's inputs), and an executor that could not be reached at all (dial
 * failed, connection reset) is reported so routing leaves it out for a while. A refusal or a bad result is an
 * answer, not an outage; an attempt aborted by the manager itself (shutdown, no reason) counts for nobody.
 */
import type { ExecuteOn } from "../tasks/index.ts";
import { TaskExecutionError } from "./errors.ts";

export interface CountedExecutionComponents {
  executeOn: ExecuteOn;
  /** The open epoch, which the outcome counts in. */
  currentEpoch: () => number;
  counters: { record(epoch: number, peerId: string, ok: boolean): void };
  /** The executor failed at the connection level. */
  onUnreachable: (peerId: string) => void;
}

export function countedExecution(c: CountedExecutionComponents): ExecuteOn {
  return async (task, peerId, opts) => {
    try {
      const result = await c.executeOn(task, peerId, opts);
      c.counters.record(c.currentEpoch(), peerId, true);
      return result;
    } catch (err) {
      if (!opts.signal.aborted || opts.signal.reason instanceof Error)
        c.counters.record(c.currentEpoch(), peerId, false);
      if (!(err instanceof TaskExecutionError) && !opts.signal.aborted) c.onUnreachable(peerId);
      throw err;
    }
  };
}
