/**
 * The epoch schedule: a node-cron task that asks for a close at every tick of the configured expression
 * (5 fields = minute precision, 6 fields = with seconds). It owns no epoch logic: `close` (the closer) gathers,
 * freezes and builds, and queues the hand-over, which never blocks a tick. A tick that fires while the previous
 * close is still running is skipped — counted (`onSkipped`) and logged, since the next close takes both windows'
 * work — never queued behind it.
 */
import cron, { type ScheduledTask } from "node-cron";

import { libraryLogger, type Logger } from "../logger.ts";
import { DEFAULT_EPOCH_CRON } from "./constants.ts";
import { EpochScheduleError } from "./errors.ts";

export interface EpochScheduleInit {
  /** Cron expression (default DEFAULT_EPOCH_CRON, hourly). */
  cron?: string;
  /** IANA time zone of the expression (default: the host's). */
  timezone?: string;
}

export interface EpochScheduleComponents {
  logger: Logger;
  /** Closes the open epoch (the closer's `closeOnly`); errors are logged, the schedule goes on. */
  close: (options: { signal: AbortSignal }) => Promise<unknown>;
  /** Called for every tick skipped because the previous close was still running. */
  onSkipped?: () => void;
}

export class EpochSchedule {
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private controller = new AbortController();
  private running: Promise<void> | undefined;
  private skipped = 0;
  readonly expression: string;

  constructor(
    private readonly components: EpochScheduleComponents,
    private readonly init: EpochScheduleInit = {},
  ) {
    this.log = components.logger.child("epoch-schedule");
    this.expression = init.cron ?? DEFAULT_EPOCH_CRON;
    if (!cron.validate(this.expression)) throw new EpochScheduleError(this.expression);
  }

  async start(): Promise<void> {
    this.controller = new AbortController();
    // Overlap is handled here (counted and logged through our logger), not by node-cron's noOverlap.
    this.task = cron.schedule(this.expression, () => this.tick(), {
      name: "lumora-epoch",
      logger: libraryLogger(this.log.child("node-cron")),
      ...(this.init.timezone !== undefined && { timezone: this.init.timezone }),
    });
    this.log.info("epoch schedule started", { cron: this.expression, next: this.task.getNextRun()?.toISOString() });
  }

  /** Stops the schedule and waits for a close it started. */
  async stop(): Promise<void> {
    if (this.task !== undefined) {
      await this.task.destroy();
      this.task = undefined;
    }
    this.controller.abort(new Error("epoch schedule stopped"));
    await this.running?.catch(() => {});
  }

  /** The next scheduled close, if running. */
  nextClose(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  /** Ticks skipped since start because a close was still running. */
  get skippedTicks(): number {
    return this.skipped;
  }

  private tick(): void {
    if (this.running !== undefined) {
      this.skipped++;
      this.components.onSkipped?.();
      this.log.warn("epoch close still running; tick skipped", { skipped: this.skipped });
      return;
    }
    this.running = this.components
      .close({ signal: this.controller.signal })
      .then(
        () => undefined,
        (err: unknown) => {
          if (!this.controller.signal.aborted) this.log.error("epoch close failed", { error: err as Error });
        },
      )
      .finally(() => (this.running = undefined));
  }
}

/** Service factory (composed by the keeper). */
export function epochSchedule(init: EpochScheduleInit = {}): (components: EpochScheduleComponents) => EpochSchedule {
  return (components) => new EpochSchedule(components, init);
}
