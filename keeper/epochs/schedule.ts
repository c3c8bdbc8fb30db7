/**
 * The epoch schedule: a node-cron task that closes the open epoch at every tick of the configured expression
 * (5 fields = minute precision, 6 fields = with seconds), builds its trees and hands the result to `onClosed`
 * (publication and submission, wired by the composition). Ticks never overlap; a tick that fires while the
 * previous close is still running is skipped (the next one closes both windows' worth of work).
 */
import cron, { type ScheduledTask } from "node-cron";

import { libraryLogger, type Logger } from "../logger.ts";
import { buildEpoch, type BuildEpochOptions } from "./build.ts";
import type { EpochCollector } from "./collect.ts";
import { DEFAULT_EPOCH_CRON } from "./epoch-constants.ts";
import { EpochScheduleError } from "./epoch-errors.ts";
import type { BuiltEpoch } from "./types.ts";

export interface EpochScheduleInit {
  /** Cron expression (default DEFAULT_EPOCH_CRON, hourly). */
  cron?: string;
  /** IANA time zone of the expression (default: the host's). */
  timezone?: string;
  build?: Omit<BuildEpochOptions, "signal">;
}

export interface EpochScheduleComponents {
  collector: EpochCollector;
  logger: Logger;
  /** Called before each close (e.g. to pull the epoch's records from the other keepers). Errors are logged and
   * the close goes on with what this keeper has. */
  beforeClose?: (options: { signal: AbortSignal }) => Promise<void>;
  /** Called with every closed epoch, in order (publish, submit). Errors are logged; the epoch stays closed. */
  onClosed?: (built: BuiltEpoch, options: { signal: AbortSignal }) => Promise<void>;
}

export class EpochSchedule extends EventTarget {
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private controller = new AbortController();
  private running: Promise<void> | undefined;
  readonly expression: string;

  constructor(
    private readonly components: EpochScheduleComponents,
    private readonly init: EpochScheduleInit = {},
  ) {
    super();
    this.log = components.logger.child("epoch-schedule");
    this.expression = init.cron ?? DEFAULT_EPOCH_CRON;
    if (!cron.validate(this.expression)) throw new EpochScheduleError(this.expression);
  }

  /** Finalizes epochs a crash left frozen, then starts the schedule. */
  async start(): Promise<void> {
    this.controller = new AbortController();
    for (const epoch of this.components.collector.unfinalizedEpochs()) {
      await this.handOver(await this.components.collector.finalize(epoch, { signal: this.controller.signal }));
    }
    this.task = cron.schedule(this.expression, () => this.tick(), {
      name: "lumora-epoch",
      noOverlap: true,
      logger: libraryLogger(this.log.child("node-cron")),
      ...(this.init.timezone !== undefined && { timezone: this.init.timezone }),
    });
    this.log.info("epoch schedule started", { cron: this.expression, next: this.task.getNextRun()?.toISOString() });
  }

  /** Stops the schedule and waits for a close in progress (aborting its chain reads and hand-over). */
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

  /** Closes the open epoch now (what a tick does). */
  closeNow(): Promise<void> {
    this.running ??= this.closeOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async tick(): Promise<void> {
    if (this.running !== undefined) {
      this.log.warn("epoch close still running; tick skipped");
      return;
    }
    await this.closeNow();
  }

  private async closeOnce(): Promise<void> {
    const signal = this.controller.signal;
    try {
      await this.components.beforeClose?.({ signal }).catch((err: unknown) => {
        this.log.warn("gathering records before the close failed; closing with ours", { err: err as Error });
      });
      const bundle = await this.components.collector.close({ signal });
      await this.handOver(bundle);
    } catch (err) {
      this.log.error("epoch close failed", { err: err as Error });
    }
  }

  private async handOver(bundle: Awaited<ReturnType<EpochCollector["close"]>>): Promise<void> {
    const signal = this.controller.signal;
    const built = await buildEpoch(bundle, { ...this.init.build, signal });
    this.dispatchEvent(new CustomEvent("epoch:closed", { detail: built }));
    try {
      await this.components.onClosed?.(built, { signal });
    } catch (err) {
      this.log.error("epoch hand-over failed", { epoch: bundle.epoch, err: err as Error });
    }
  }
}

/** Service factory (composition in keeper/index.ts). */
export function epochSchedule(init: EpochScheduleInit = {}): (components: EpochScheduleComponents) => EpochSchedule {
  return (components) => new EpochSchedule(components, init);
}
