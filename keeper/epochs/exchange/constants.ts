/**
 * Tunables and limits of the evidence exchange `/lumora/epoch/1.0.0`, each once, with its unit and reason.
 */

/** The evidence exchange protocol id. */
export const EPOCH_PROTOCOL = "/lumora/epoch/1.0.0";
/** A request is one small JSON object. */
export const MAX_EXCHANGE_REQUEST_BYTES = 1024;
/** A response frame: 256 receipts of ~300 bytes base64-encoded fit well under it. */
export const MAX_EXCHANGE_RESPONSE_BYTES = 1024 * 1024;
/** Receipts per response frame. */
export const RECEIPTS_PER_FRAME = 256;
/** Longest [fromMs, toMs) window a request may ask for: a week covers any gather of an hourly epoch with room for
 * a keeper that was down for days, while bounding what one request makes the server read. */
export const MAX_EXCHANGE_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** Entries (receipts or task records) in one response, over RECEIPTS_PER_FRAME-sized frames: 16 frames, ≤ 16 MiB. */
export const MAX_ENTRIES_PER_RESPONSE = 16 * RECEIPTS_PER_FRAME;
/** Pages one pull follows: bounds what a registered but hostile keeper can make a client hold (1 M entries). */
export const MAX_PAGES_PER_PULL = 256;
/** How long a peer that is not a registered keeper may take to send its request before it is refused. */
export const STRANGER_READ_TIMEOUT_MS = 1_000;
/** A whole exchange; a slow or dead peer must not hold an epoch close up for long. */
export const EXCHANGE_TIMEOUT_MS = 10_000;
/** How far back each task pull reaches before the previous window's end: a task is stamped when it ends but
 * committed at the end of the task manager's tick, so a pull may run between the two. */
export const PULL_OVERLAP_MS = 60_000;
/** Largest receipt body and signature accepted from a peer (a receipt is ~200 bytes). */
export const MAX_RECEIPT_PART_BYTES = 4096;

/** Concurrent inbound exchange streams per connection: a keeper asks one peer at a time per close. */
export const EXCHANGE_MAX_INBOUND_STREAMS = 8;
