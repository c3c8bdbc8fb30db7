/** Tunables of the operator API. */

/** Server-sent status pushes: once a second is live enough for people and cheap for SQLite. */
export const STATUS_PUSH_INTERVAL_MS = 1_000;
/** Finished tasks listed on /api/tasks and the dashboard (the rest are in the store). */
export const RECENT_TASKS = 50;
/** Downloads listed (newest first). */
export const RECENT_TRANSFERS = 20;
/** Throughput is averaged over at least this window, so one big part does not read as a spike. */
export const THROUGHPUT_WINDOW_MS = 5_000;
/** Most concurrent /events clients; more get 503 (each costs a snapshot per push). */
export const MAX_EVENT_CLIENTS = 32;
