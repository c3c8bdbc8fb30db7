/**
 * `/lumora/epoch/1.0.0`: keepers hand the signed evidence they hold to the keeper that closes an epoch.
 *
 * The consumer of a transfer (usually the executor that fetched it) stores the receipts it signed; the submitter
 * of an epoch needs all of them to compute C_i. Before it closes an epoch, it asks every keeper it knows for the
 * receipts stored before the close; each receipt carries the consumer's signature, so a keeper cannot invent
 * or inflate one (the collector verifies every signature and counts a receipt once, by its hash).
 *
 * Request (one frame, ≤ 1 KiB, JSON): `{"v":1,"toMs":<unix ms>}` for receipts, or
 * `{"v":1,"kind":"tasks","fromMs":<unix ms>,"toMs":<unix ms>}` for the task records the peer coordinated that
 * ended in [fromMs, toMs) (so TaskLog holds every coordinator's tasks, not only the closing keeper's).
 * Response: frames of ≤ 1 MiB, JSON `{"receipts":[{"provider":"<peer id>","body":"<base64>","signature":"<base64>"},…]}`
 * or `{"tasks":[[taskId, consumer, executor, "bytes", "startedAt", "endedAt", status, dataSha256, attempts,
 * evidence],…]}` (at most RECEIPTS_PER_FRAME entries each), then `{"done":true}`; or `{"error":"…"}`.
 */
import { createHash } from "node:crypto";

import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../logger.ts";
import type { LumoraNode } from "../p2p/node.ts";
import type { Store } from "../store/index.ts";
import { readFrame, writeFrame } from "../wire/framing.ts";
import type { RawReceipt } from "./collect.ts";
import type { TaskRecordValue } from "./types.ts";

export const EPOCH_PROTOCOL = "/lumora/epoch/1.0.0";
/** A request is one small JSON object. */
export const MAX_EXCHANGE_REQUEST_BYTES = 1024;
/** A response frame: 256 receipts of ~300 bytes base64-encoded fit well under it. */
export const MAX_EXCHANGE_RESPONSE_BYTES = 1024 * 1024;
/** Receipts per response frame. */
export const RECEIPTS_PER_FRAME = 256;
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
  /** The receipts this keeper signed as a consumer and stored before `toMs`. */
  ownReceipts(toMs: number): RawReceipt[];
  /** The task records this keeper coordinated that ended in [fromMs, toMs). */
  ownTasks?(fromMs: number, toMs: number): TaskRecordValue[];
  penalise?(peerId: PeerId, err: Error): void;
}

export class EpochExchange {
  private readonly log: Logger;

  constructor(private readonly components: EpochExchangeComponents) {
    this.log = components.logger.child("epoch-exchange");
  }

  async start(): Promise<void> {
    await this.components.node.handle(EPOCH_PROTOCOL, (s, c) => this.onStream(s, c), { maxInboundStreams: 8 });
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(EPOCH_PROTOCOL).catch(() => {});
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS);
    try {
      const body = await readFrame(stream, MAX_EXCHANGE_REQUEST_BYTES, { signal });
      if (body === undefined) throw new EpochExchangeError("stream ended before the request", false);
      const req = parse(body);
      if (req.v !== 1 || typeof req.toMs !== "number" || !Number.isSafeInteger(req.toMs) || req.toMs < 0) {
        throw new EpochExchangeError("request needs v = 1 and a non-negative integer toMs", true);
      }
      let field: "receipts" | "tasks";
      let entries: unknown[];
      if (req.kind === "tasks") {
        if (
          typeof req.fromMs !== "number" ||
          !Number.isSafeInteger(req.fromMs) ||
          req.fromMs < 0 ||
          req.fromMs > req.toMs
        ) {
          throw new EpochExchangeError("a tasks request needs an integer fromMs in [0, toMs]", true);
        }
        field = "tasks";
        entries = (this.components.ownTasks?.(req.fromMs, req.toMs) ?? []).map((v) =>
          v.map((x) => (typeof x === "bigint" ? x.toString() : x)),
        );
      } else if (req.kind === undefined || req.kind === "receipts") {
        field = "receipts";
        entries = this.components.ownReceipts(req.toMs).map((r) => ({
          provider: r.provider,
          body: Buffer.from(r.body).toString("base64"),
          signature: Buffer.from(r.signature).toString("base64"),
        }));
      } else {
        throw new EpochExchangeError("kind must be receipts or tasks", true);
      }
      for (let i = 0; i < entries.length; i += RECEIPTS_PER_FRAME) {
        const chunk = JSON.stringify({ [field]: entries.slice(i, i + RECEIPTS_PER_FRAME) });
        await writeFrame(stream, encoder.encode(chunk), MAX_EXCHANGE_RESPONSE_BYTES, { signal });
      }
      await writeFrame(stream, encoder.encode(JSON.stringify({ done: true })), MAX_EXCHANGE_RESPONSE_BYTES, { signal });
      await stream.close({ signal }).catch(() => {});
    } catch (err) {
      const e = err as Error & { penalise?: boolean };
      this.log.warn("epoch exchange request rejected", { peer: connection.remotePeer.toString(), reason: e.message });
      await writeFrame(
        stream,
        encoder.encode(JSON.stringify({ error: e.message.slice(0, 200) })),
        MAX_EXCHANGE_RESPONSE_BYTES,
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
    await this.exchange(
      peer,
      { v: 1, kind: "tasks", fromMs, toMs },
      "tasks",
      (entry) => out.push(toTaskValue(entry)),
      options,
    );
    return out;
  }

  private async exchange(
    peer: PeerId | string,
    request: object,
    field: "receipts" | "tasks",
    onEntry: (entry: unknown) => void,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    const signal = AbortSignal.any([
      AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      ...(options.signal ? [options.signal] : []),
    ]);
    const stream = await this.components.node.dialProtocol(id, EPOCH_PROTOCOL, { signal });
    try {
      await writeFrame(stream, encoder.encode(JSON.stringify(request)), MAX_EXCHANGE_REQUEST_BYTES, { signal });
      for (;;) {
        const body = await readFrame(stream, MAX_EXCHANGE_RESPONSE_BYTES, { signal });
        if (body === undefined) throw new EpochExchangeError("peer ended the stream before done", false);
        const msg = parse(body);
        if (msg.done === true) break;
        if (typeof msg.error === "string") throw new EpochExchangeError(`peer refused: ${msg.error}`, false);
        const entries = msg[field];
        if (!Array.isArray(entries) || entries.length > RECEIPTS_PER_FRAME) {
          throw new EpochExchangeError(`response frame without a ${field} array of allowed size`, true);
        }
        for (const e of entries) onEntry(e);
      }
      await stream.close().catch(() => {});
    } catch (err) {
      stream.abort(err as Error);
      const e = err as Error & { penalise?: boolean };
      if (e.penalise === true) this.components.penalise?.(id, e);
      throw err;
    }
  }

  /** Asks `peer` for the receipts it stored before `toMs`. */
  async pull(peer: PeerId | string, toMs: number, options: { signal?: AbortSignal } = {}): Promise<RawReceipt[]> {
    const out: RawReceipt[] = [];
    await this.exchange(peer, { v: 1, toMs }, "receipts", (entry) => out.push(toReceipt(entry)), options);
    return out;
  }
}

export function epochExchange(): (components: EpochExchangeComponents) => EpochExchange {
  return (components) => new EpochExchange(components);
}
