/**
 * `/lumora/epoch/1.0.0`: keepers hand the signed evidence they hold to the keeper that closes an epoch.
 *
 * The consumer of a transfer (usually the executor that fetched it) stores the receipts it signed; the submitter
 * of an epoch needs all of them to compute C_i. Before it closes an epoch, it asks every keeper it knows for the
 * receipts stored before the close; each receipt carries the consumer's signature, so a keeper cannot invent
 * or inflate one (the collector verifies every signature and counts a receipt once, by its hash).
 *
 * Only registered keepers are answered: a peer without a valid signed peer record in discovery (`isKeeper`)
 * gets `{"error":"not a registered keeper"}` and nothing else — receipts and task records are transfer history.
 *
 * Request (one frame, ≤ 1 KiB, JSON): `{"v":1,"kind":"receipts","fromMs":<unix ms>,"toMs":<unix ms>,"cursor":n}`
 * for the receipts stored in [fromMs, toMs), or `{"v":1,"kind":"tasks",…}` (same fields) for the task records the
 * peer coordinated that ended in [fromMs, toMs) (so TaskLog holds every coordinator's tasks, not only the closing
 * keeper's). `kind` defaults to receipts, `fromMs` (receipts only) to `toMs − maxWindowMs`, `cursor` to 0. The
 * server refuses a window longer than `maxWindowMs` (MAX_EXCHANGE_WINDOW_MS) and answers at most
 * `maxEntriesPerResponse` (MAX_ENTRIES_PER_RESPONSE) entries from `cursor` on.
 * Response: frames of ≤ 1 MiB, JSON `{"receipts":[{"provider":"<peer id>","body":"<base64>","signature":"<base64>"},…]}`
 * or `{"tasks":[[taskId, consumer, executor, "bytes", "startedAt", "endedAt", status, dataSha256, attempts,
 * evidence],…]}` (at most RECEIPTS_PER_FRAME entries each), then `{"done":true}` — with `"next":<cursor>` when
 * entries remain, which the client asks for in its next request (at most `maxPages` pages per pull); or
 * `{"error":"…"}`. A pull therefore reaches back at most `maxWindowMs` before the close: evidence older than that
 * (a week by default, against hourly epochs) is no longer gathered.
 */
import { createHash } from "node:crypto";

import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../../logger.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import type { Store } from "../../store/index.ts";
import { readFrame, writeFrame } from "../../wire/framing.ts";
import type { RawReceipt } from "../collect/collector.ts";
import type { TaskRecordValue } from "../types.ts";

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
const MAX_RECEIPT_PART_BYTES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class EpochExchangeError extends Error {
  override readonly name = "EpochExchangeError";
  constructor(
    message: string,
    readonly penalise: boolean,
  ) {
    super(message);
  }
}

function parse(body: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(decoder.decode(body)) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new EpochExchangeError("message is not a JSON object", true);
}

function toReceipt(v: unknown): RawReceipt {
  const r = v as { provider?: unknown; body?: unknown; signature?: unknown };
  if (typeof r?.provider !== "string" || typeof r.body !== "string" || typeof r.signature !== "string") {
    throw new EpochExchangeError("receipt entry lacks provider, body or signature", true);
  }
  peerIdFromString(r.provider);
  const body = Buffer.from(r.body, "base64");
  const signature = Buffer.from(r.signature, "base64");
  if (
    body.byteLength === 0 ||
    body.byteLength > MAX_RECEIPT_PART_BYTES ||
    signature.byteLength > MAX_RECEIPT_PART_BYTES
  ) {
    throw new EpochExchangeError("receipt entry out of size bounds", true);
  }
  return { provider: r.provider, body: new Uint8Array(body), signature: new Uint8Array(signature) };
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^\d{1,20}$/;

/** Checks one task record entry from a peer, field by field. */
function toTaskValue(v: unknown): TaskRecordValue {
  const bad = (what: string) => new EpochExchangeError(`task record entry: ${what}`, true);
  if (!Array.isArray(v) || v.length !== 10) throw bad("not an array of 10 fields");
  const [taskId, consumer, executor, bytes, startedAt, endedAt, status, dataSha256, attempts, evidence] =
    v as unknown[];
  if (typeof taskId !== "string" || !HEX32.test(taskId)) throw bad("taskId");
  if (typeof consumer !== "string" || !ADDRESS.test(consumer)) throw bad("consumer");
  if (typeof executor !== "string" || !ADDRESS.test(executor)) throw bad("executor");
  for (const [name, x] of [
    ["bytesMoved", bytes],
    ["startedAt", startedAt],
    ["endedAt", endedAt],
  ] as const) {
    if (typeof x !== "string" || !UINT.test(x) || BigInt(x) >= 2n ** 64n) throw bad(name);
  }
  if (typeof status !== "number" || ![1, 2, 3].includes(status)) throw bad("status");
  if (typeof dataSha256 !== "string" || !HEX32.test(dataSha256)) throw bad("dataSha256");
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 0 || attempts > 65535)
    throw bad("attempts");
  if (typeof evidence !== "string" || !HEX32.test(evidence)) throw bad("evidence");
  return [
    taskId,
    consumer,
    executor,
    BigInt(bytes as string),
    BigInt(startedAt as string),
    BigInt(endedAt as string),
    status,
    dataSha256,
    attempts,
    evidence,
  ];
}

/**
 * Task records pulled from the other coordinators. A record belongs to the epoch during which it ARRIVED here
 * (like a receipt), and is kept once by task id: a record that ended on a peer just as an epoch closed is logged
 * in the next epoch instead of being lost between two pull windows. Per peer, the end of the last pulled window
 * is remembered; the next pull asks again from a little before it (PULL_OVERLAP_MS) so records the peer committed
 * late are not missed — re-sent ones are ignored by task id.
 */
export class RemoteTasks {
  constructor(private readonly store: Store) {
    store.migrate("epoch-exchange-tasks", [
      {
        version: 1,
        up:
          "CREATE TABLE remote_tasks (task_id TEXT PRIMARY KEY, stored_at INTEGER NOT NULL, value TEXT NOT NULL);" +
          "CREATE TABLE remote_task_pulls (peer_id TEXT PRIMARY KEY, to_ms INTEGER NOT NULL)",
      },
    ]);
  }

  /** Stores new records (a task id already held is ignored); returns how many. */
  add(values: readonly TaskRecordValue[], now = Date.now()): number {
    const insert = this.store.db.prepare(
      "INSERT OR IGNORE INTO remote_tasks (task_id, stored_at, value) VALUES (?, ?, ?)",
    );
    let added = 0;
    this.store.transaction(() => {
      for (const v of values) {
        const json = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
        added += Number(insert.run(v[0], now, json).changes);
      }
    });
    return added;
  }

  /** Records that arrived in [fromMs, toMs). */
  between(fromMs: number, toMs: number): TaskRecordValue[] {
    return (
      this.store.db
        .prepare("SELECT value FROM remote_tasks WHERE stored_at >= ? AND stored_at < ? ORDER BY stored_at, task_id")
        .all(fromMs, toMs) as Array<{ value: string }>
    ).map((r) => toTaskValue(JSON.parse(r.value)));
  }

  /** Where the next pull from `peerId` starts: a little before the end of the last window pulled from it. */
  nextPullFrom(peerId: string): number {
    const row = this.store.db.prepare("SELECT to_ms FROM remote_task_pulls WHERE peer_id = ?").get(peerId) as
      { to_ms: number } | undefined;
    return row === undefined ? 0 : Math.max(0, row.to_ms - PULL_OVERLAP_MS);
  }

  /** Records that a pull from `peerId` covered everything that ended before `toMs`. */
  pulled(peerId: string, toMs: number): void {
    this.store.db
      .prepare(
        "INSERT INTO remote_task_pulls (peer_id, to_ms) VALUES (?, ?) ON CONFLICT (peer_id) DO UPDATE SET to_ms = excluded.to_ms",
      )
      .run(peerId, toMs);
  }
}

/** Receipts pulled from other keepers, kept until the epoch that counts them is frozen. */
export class RemoteReceipts {
  constructor(private readonly store: Store) {
    store.migrate("epoch-exchange", [
      {
        version: 1,
        up:
          "CREATE TABLE remote_receipts (hash TEXT PRIMARY KEY, provider TEXT NOT NULL, body BLOB NOT NULL, " +
          "signature BLOB NOT NULL, stored_at INTEGER NOT NULL)",
      },
    ]);
  }

  /** Stores new receipts (a receipt already held, by the hash of its body, is ignored); returns how many. */
  add(receipts: readonly RawReceipt[], now = Date.now()): number {
    const insert = this.store.db.prepare(
      "INSERT OR IGNORE INTO remote_receipts (hash, provider, body, signature, stored_at) VALUES (?, ?, ?, ?, ?)",
    );
    let added = 0;
    this.store.transaction(() => {
      for (const r of receipts) {
        const hash = createHash("sha256").update(r.body).digest("hex");
        added += Number(insert.run(hash, r.provider, r.body, r.signature, now).changes);
      }
    });
    return added;
  }

  between(fromMs: number, toMs: number): RawReceipt[] {
    return (
      this.store.db
        .prepare(
          "SELECT provider, body, signature FROM remote_receipts WHERE stored_at >= ? AND stored_at < ? ORDER BY stored_at, hash",
        )
        .all(fromMs, toMs) as Array<{ provider: string; body: Uint8Array; signature: Uint8Array }>
    ).map((r) => ({ provider: r.provider, body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) }));
  }
}

export interface EpochExchangeComponents {
  node: LumoraNode;
  logger: Logger;
  /** The receipts this keeper signed as a consumer and stored in [fromMs, toMs). */
  ownReceipts(fromMs: number, toMs: number): RawReceipt[];
  /** The task records this keeper coordinated that ended in [fromMs, toMs). */
  ownTasks?(fromMs: number, toMs: number): TaskRecordValue[];
  /** Whether `peerId` is a registered keeper (a valid signed peer record in discovery); nobody is when absent. */
  isKeeper?(peerId: string): boolean;
  penalise?(peerId: PeerId, err: Error): void;
}

export interface EpochExchangeInit {
  /** Longest window served, ms (MAX_EXCHANGE_WINDOW_MS); the client never asks for more. */
  maxWindowMs?: number;
  /** Entries per response (MAX_ENTRIES_PER_RESPONSE). */
  maxEntriesPerResponse?: number;
  /** Pages followed per pull (MAX_PAGES_PER_PULL). */
  maxPages?: number;
}

export interface EpochExchangeStats {
  /** Requests refused because the peer is not a registered keeper. */
  refusedStrangers: number;
  /** Requests refused for a window over `maxWindowMs`. */
  refusedWindow: number;
  /** Responses cut at `maxEntriesPerResponse` (the client pages on). */
  truncated: number;
}

class NotAKeeperError extends EpochExchangeError {
  constructor() {
    super("not a registered keeper", false);
  }
}

export class EpochExchange {
  readonly stats: EpochExchangeStats = { refusedStrangers: 0, refusedWindow: 0, truncated: 0 };
  private readonly log: Logger;
  private readonly maxWindowMs: number;
  private readonly maxEntries: number;
  private readonly maxPages: number;

  constructor(
    private readonly components: EpochExchangeComponents,
    init: EpochExchangeInit = {},
  ) {
    this.log = components.logger.child("epoch-exchange");
    this.maxWindowMs = init.maxWindowMs ?? MAX_EXCHANGE_WINDOW_MS;
    this.maxEntries = init.maxEntriesPerResponse ?? MAX_ENTRIES_PER_RESPONSE;
    this.maxPages = init.maxPages ?? MAX_PAGES_PER_PULL;
  }

  async start(): Promise<void> {
    await this.components.node.handle(EPOCH_PROTOCOL, (s, c) => this.onStream(s, c), { maxInboundStreams: 8 });
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(EPOCH_PROTOCOL).catch(() => {});
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS);
    const peer = connection.remotePeer.toString();
    try {
      const keeper = this.components.isKeeper?.(peer) === true;
      // A stranger gets a second to send its frame, not the whole exchange's 10 s.
      const readSignal = keeper ? signal : AbortSignal.timeout(STRANGER_READ_TIMEOUT_MS);
      const body = await readFrame(stream, MAX_EXCHANGE_REQUEST_BYTES, { signal: readSignal }).catch((err: unknown) => {
        if (keeper) throw err;
        return undefined;
      });
      // Strangers learn nothing, not even whether their request parses: one bounded frame is read (so the answer
      // reaches them in order) and refused unseen.
      if (!keeper) {
        this.stats.refusedStrangers++;
        throw new NotAKeeperError();
      }
      if (body === undefined) throw new EpochExchangeError("stream ended before the request", false);
      const req = parse(body);
      const isInt = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
      if (req.v !== 1 || !isInt(req.toMs)) {
        throw new EpochExchangeError("request needs v = 1 and a non-negative integer toMs", true);
      }
      const kind = req.kind ?? "receipts";
      if (kind !== "receipts" && kind !== "tasks") throw new EpochExchangeError("kind must be receipts or tasks", true);
      const fromMs = req.fromMs ?? (kind === "receipts" ? Math.max(0, req.toMs - this.maxWindowMs) : undefined);
      if (!isInt(fromMs) || fromMs > req.toMs) {
        throw new EpochExchangeError(`a ${kind} request needs an integer fromMs in [0, toMs]`, true);
      }
      const cursor = req.cursor ?? 0;
      if (!isInt(cursor)) throw new EpochExchangeError("cursor must be a non-negative integer", true);
      if (req.toMs - fromMs > this.maxWindowMs) {
        this.stats.refusedWindow++;
        throw new EpochExchangeError(`window longer than ${this.maxWindowMs} ms`, false);
      }
      const all: unknown[] =
        kind === "tasks"
          ? (this.components.ownTasks?.(fromMs, req.toMs) ?? []).map((v) =>
              v.map((x) => (typeof x === "bigint" ? x.toString() : x)),
            )
          : this.components.ownReceipts(fromMs, req.toMs).map((r) => ({
              provider: r.provider,
              body: Buffer.from(r.body).toString("base64"),
              signature: Buffer.from(r.signature).toString("base64"),
            }));
      const entries = all.slice(cursor, cursor + this.maxEntries);
      const next = cursor + entries.length < all.length ? cursor + entries.length : undefined;
      if (next !== undefined) this.stats.truncated++;
      for (let i = 0; i < entries.length; i += RECEIPTS_PER_FRAME) {
        const chunk = JSON.stringify({ [kind]: entries.slice(i, i + RECEIPTS_PER_FRAME) });
        await writeFrame(stream, encoder.encode(chunk), MAX_EXCHANGE_RESPONSE_BYTES, { signal });
      }
      const done = next === undefined ? { done: true } : { done: true, next };
      await writeFrame(stream, encoder.encode(JSON.stringify(done)), MAX_EXCHANGE_RESPONSE_BYTES, { signal });
      await stream.close({ signal }).catch(() => {});
    } catch (err) {
      const e = err as Error & { penalise?: boolean };
      if (!(err instanceof NotAKeeperError)) {
        this.log.throttled("request rejected", "warn", "epoch exchange request rejected", { peer, reason: e.message });
      }
      await writeFrame(
        stream,
        encoder.encode(JSON.stringify({ error: e.message.slice(0, 200) })),
        MAX_EXCHANGE_RESPONSE_BYTES,
        { signal },
      ).catch(() => {});
      stream.abort(e);
      if (e.penalise === true) this.components.penalise?.(connection.remotePeer, e);
    }
  }

  /** Asks `peer` for the task records it coordinated that ended in [fromMs, toMs). */
  async pullTasks(
    peer: PeerId | string,
    fromMs: number,
    toMs: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<TaskRecordValue[]> {
    const out: TaskRecordValue[] = [];
    const from = Math.max(fromMs, toMs - this.maxWindowMs, 0);
    await this.pages(peer, { kind: "tasks", fromMs: from, toMs }, (entry) => out.push(toTaskValue(entry)), options);
    return out;
  }

  /** Follows the server's cursor page by page (at most `maxPages`). */
  private async pages(
    peer: PeerId | string,
    request: { kind: "receipts" | "tasks"; fromMs: number; toMs: number },
    onEntry: (entry: unknown) => void,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    let cursor = 0;
    for (let page = 0; page < this.maxPages; page++) {
      const req = { v: 1, ...request, ...(cursor > 0 && { cursor }) };
      const next = await this.exchange(peer, req, request.kind, onEntry, options);
      if (next === undefined) return;
      if (next <= cursor) throw new EpochExchangeError("cursor did not advance", true);
      cursor = next;
    }
    this.log.throttled("pull truncated", "warn", "pull stopped at the page limit", { peer: peer.toString() });
  }

  /** One request, one response; resolves with the server's cursor when entries remain. */
  private async exchange(
    peer: PeerId | string,
    request: object,
    field: "receipts" | "tasks",
    onEntry: (entry: unknown) => void,
    options: { signal?: AbortSignal },
  ): Promise<number | undefined> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    const signal = AbortSignal.any([
      AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      ...(options.signal ? [options.signal] : []),
    ]);
    const stream = await this.components.node.dialProtocol(id, EPOCH_PROTOCOL, { signal });
    try {
      await writeFrame(stream, encoder.encode(JSON.stringify(request)), MAX_EXCHANGE_REQUEST_BYTES, { signal });
      let next: number | undefined;
      for (;;) {
        const body = await readFrame(stream, MAX_EXCHANGE_RESPONSE_BYTES, { signal });
        if (body === undefined) throw new EpochExchangeError("peer ended the stream before done", false);
        const msg = parse(body);
        if (msg.done === true) {
          if (msg.next !== undefined) {
            if (typeof msg.next !== "number" || !Number.isSafeInteger(msg.next) || msg.next < 0) {
              throw new EpochExchangeError("next must be a non-negative integer cursor", true);
            }
            next = msg.next;
          }
          break;
        }
        if (typeof msg.error === "string") throw new EpochExchangeError(`peer refused: ${msg.error}`, false);
        const entries = msg[field];
        if (!Array.isArray(entries) || entries.length > RECEIPTS_PER_FRAME) {
          throw new EpochExchangeError(`response frame without a ${field} array of allowed size`, true);
        }
        for (const e of entries) onEntry(e);
      }
      await stream.close().catch(() => {});
      return next;
    } catch (err) {
      stream.abort(err as Error);
      const e = err as Error & { penalise?: boolean };
      if (e.penalise === true) this.components.penalise?.(id, e);
      throw err;
    }
  }

  /** Asks `peer` for the receipts it stored before `toMs` (at most `maxWindowMs` back), page by page. */
  async pull(peer: PeerId | string, toMs: number, options: { signal?: AbortSignal } = {}): Promise<RawReceipt[]> {
    const out: RawReceipt[] = [];
    const fromMs = Math.max(0, toMs - this.maxWindowMs);
    await this.pages(peer, { kind: "receipts", fromMs, toMs }, (entry) => out.push(toReceipt(entry)), options);
    return out;
  }
}

export function epochExchange(init: EpochExchangeInit = {}): (components: EpochExchangeComponents) => EpochExchange {
  return (components) => new EpochExchange(components, init);
}
