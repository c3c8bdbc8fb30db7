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
 *
 * `{"v":1,"kind":"observations","epoch":E,"cursor":n}` asks for the signed health observations of epoch E the peer
 * holds (its own and those it gathered; observe/), paged the same way as `{"observations":[…]}` frames; a keeper
 * that has not frozen E yet answers `{"error":"epoch E not frozen here yet"}` (ask again).
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../../logger.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import { linkSignals } from "../../signals.ts";
import { readFrame, writeFrame } from "../../wire/framing.ts";
import type { RawReceipt } from "../collect/collector.ts";
import { ObservationsNotReadyError } from "../observe/errors.ts";
import { encodeObservation, type SignedObservation } from "../observe/observation.ts";
import type { TaskRecordValue } from "../types.ts";
import {
  EPOCH_PROTOCOL,
  EXCHANGE_MAX_INBOUND_STREAMS,
  EXCHANGE_TIMEOUT_MS,
  MAX_ENTRIES_PER_RESPONSE,
  MAX_EXCHANGE_REQUEST_BYTES,
  MAX_EXCHANGE_RESPONSE_BYTES,
  MAX_EXCHANGE_WINDOW_MS,
  MAX_PAGES_PER_PULL,
  RECEIPTS_PER_FRAME,
  STRANGER_READ_TIMEOUT_MS,
} from "./constants.ts";
import { EpochExchangeError, EpochNotFrozenError, NotAKeeperError } from "./errors.ts";
import {
  parseObject,
  parseObservationEntry,
  parseReceipt,
  parseRequest,
  parseResponseFrame,
  parseTaskRecord,
  type ExchangeKind,
  type ExchangeRequest,
} from "./schema.ts";

const encoder = new TextEncoder();

export interface EpochExchangeComponents {
  node: LumoraNode;
  logger: Logger;
  /** The receipts this keeper signed as a consumer and stored in [fromMs, toMs). */
  ownReceipts(fromMs: number, toMs: number): RawReceipt[];
  /** The task records this keeper coordinated that ended in [fromMs, toMs). */
  ownTasks?(fromMs: number, toMs: number): TaskRecordValue[];
  /**
   * The signed health observations this keeper holds for `epoch` (observe/observer.ts `served`); undefined while it
   * has not frozen the epoch. Absent: an empty set is served at once (this keeper observes nothing for anyone).
   */
  observations?(epoch: number): SignedObservation[] | undefined;
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
    await this.components.node.handle(EPOCH_PROTOCOL, (s, c) => this.onStream(s, c), {
      maxInboundStreams: EXCHANGE_MAX_INBOUND_STREAMS,
    });
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
      const req = parseRequest(parseObject(body));
      const { kind, cursor } = req;
      const all = this.entriesFor(req);
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
      if (!(err instanceof NotAKeeperError || err instanceof EpochNotFrozenError)) {
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

  /** Everything a request asks for, before paging; throws the refusal a request gets. */
  private entriesFor(req: ExchangeRequest): unknown[] {
    if (req.kind === "observations") {
      // A keeper that keeps no observations (no quorum in its deployment) has none to wait for: an empty set.
      if (this.components.observations === undefined) return [];
      const held = this.components.observations(req.epoch);
      if (held === undefined) throw new EpochNotFrozenError(req.epoch);
      return held.map(encodeObservation);
    }
    const fromMs = req.fromMs ?? Math.max(0, req.toMs - this.maxWindowMs);
    if (req.toMs - fromMs > this.maxWindowMs) {
      this.stats.refusedWindow++;
      throw new EpochExchangeError(`window longer than ${this.maxWindowMs} ms`, false);
    }
    if (req.kind === "tasks")
      return (this.components.ownTasks?.(fromMs, req.toMs) ?? []).map((v) =>
        v.map((x) => (typeof x === "bigint" ? x.toString() : x)),
      );
    return this.components.ownReceipts(fromMs, req.toMs).map((r) => ({
      provider: r.provider,
      body: Buffer.from(r.body).toString("base64"),
      signature: Buffer.from(r.signature).toString("base64"),
    }));
  }

  /**
   * Asks `peer` for the signed health observations it holds for `epoch` (its own and those it gathered); throws
   * ObservationsNotReadyError when it has not frozen the epoch yet. Signatures are not checked here. `maxEntries`
   * (the caller's bound: its quorum's size times what one observer may sign, observe/constants.ts) ends the pull
   * with a penalised EpochExchangeError once exceeded; without it only the page limits bound the pull.
   */
  async pullObservations(
    peer: PeerId | string,
    epoch: number,
    options: { signal?: AbortSignal; maxEntries?: number } = {},
  ): Promise<SignedObservation[]> {
    const out: SignedObservation[] = [];
    const max = options.maxEntries ?? Number.POSITIVE_INFINITY;
    try {
      await this.pages(
        peer,
        { kind: "observations", epoch },
        (entry) => {
          if (out.length >= max)
            throw new EpochExchangeError(`more than ${max} observations of epoch ${epoch} in one pull`, true);
          out.push(parseObservationEntry(entry));
        },
        options,
      );
    } catch (err) {
      // The server's "not frozen" refusal (EpochNotFrozenError's text): the caller asks again later.
      if (
        err instanceof EpochExchangeError &&
        err.message === `peer refused: ${new EpochNotFrozenError(epoch).message}`
      )
        throw new ObservationsNotReadyError(peer.toString(), epoch);
      throw err;
    }
    return out;
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
    await this.pages(peer, { kind: "tasks", fromMs: from, toMs }, (entry) => out.push(parseTaskRecord(entry)), options);
    return out;
  }

  /** Follows the server's cursor page by page (at most `maxPages`). */
  private async pages(
    peer: PeerId | string,
    request: { kind: ExchangeKind } & ({ fromMs: number; toMs: number } | { epoch: number }),
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
    field: ExchangeKind,
    onEntry: (entry: unknown) => void,
    options: { signal?: AbortSignal },
  ): Promise<number | undefined> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    // Linked for this request only: AbortSignal.any on a long-lived caller's signal kept memory per request.
    const link = linkSignals([options.signal], EXCHANGE_TIMEOUT_MS);
    const signal = link.signal;
    let stream;
    try {
      stream = await this.components.node.dialProtocol(id, EPOCH_PROTOCOL, { signal });
    } catch (err) {
      link.clear();
      throw err;
    }
    try {
      await writeFrame(stream, encoder.encode(JSON.stringify(request)), MAX_EXCHANGE_REQUEST_BYTES, { signal });
      let next: number | undefined;
      for (;;) {
        const body = await readFrame(stream, MAX_EXCHANGE_RESPONSE_BYTES, { signal });
        if (body === undefined) throw new EpochExchangeError("peer ended the stream before done", false);
        const frame = parseResponseFrame(parseObject(body), field);
        if (frame.done) {
          next = frame.next;
          break;
        }
        for (const e of frame.entries) onEntry(e);
      }
      await stream.close().catch(() => {});
      return next;
    } catch (err) {
      stream.abort(err as Error);
      const e = err as Error & { penalise?: boolean };
      if (e.penalise === true) this.components.penalise?.(id, e);
      throw err;
    } finally {
      link.clear();
    }
  }

  /** Asks `peer` for the receipts it stored before `toMs` (at most `maxWindowMs` back), page by page. */
  async pull(peer: PeerId | string, toMs: number, options: { signal?: AbortSignal } = {}): Promise<RawReceipt[]> {
    const out: RawReceipt[] = [];
    const fromMs = Math.max(0, toMs - this.maxWindowMs);
    await this.pages(peer, { kind: "receipts", fromMs, toMs }, (entry) => out.push(parseReceipt(entry)), options);
    return out;
  }
}

export function epochExchange(init: EpochExchangeInit = {}): (components: EpochExchangeComponents) => EpochExchange {
  return (components) => new EpochExchange(components, init);
}
