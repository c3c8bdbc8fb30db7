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
/** Largest request body the write routes read: their bodies are a path or a few multiaddrs. */
export const MAX_BODY_BYTES = 64 * 1024;
/** File in the data folder holding the write routes' token (mode 0600, new at every `start`). */
export const API_TOKEN_FILE = "api.token";
/** Random bytes of that token: 256 bits, beyond guessing. */
export const API_TOKEN_BYTES = 32;
/** Providers one transfer request may name: enough for redundancy, small enough to dial them all. */
export const MAX_TRANSFER_PROVIDERS = 16;
/** Epochs the dashboard and `epochs` show, newest first: a few weeks of daily epochs. */
export const EPOCHS_SHOWN = 50;
