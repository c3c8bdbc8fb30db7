/**
 * Failures of the epoch schedule and close (the submodules have their own errors files).
 */

/** The cron expression of the epoch schedule does not parse. */
export class EpochScheduleError extends Error {
  override readonly name = "EpochScheduleError";
  constructor(readonly expression: string) {
    super(`invalid epoch cron expression "${expression}"`);
  }
}
