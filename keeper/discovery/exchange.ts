/**
 * The directory exchange, `/lumora/directory/1.0.0` (docs/PROTOCOL.md §4a): push-pull anti-entropy of signed
 * peer records between two keepers, as memberlist's push-pull state sync. Three messages on one stream:
 *
 *   1. initiator → responder: the initiator's digest (peer id, seq of every unexpired record it holds, its own
 *      included) and its own signed record;
 *   2. responder → initiator: the responder's digest, and the records it holds that the initiator lacks or holds
 *      with a lower seq;
 *   3. initiator → responder: the records it holds that the responder lacks or holds older;
 *
 * then both close. A received record is parsed first and skipped without a signature check when its seq is not
 * above the one held; the others are verified (`verifyPeerRecord`, as `Discovery.accept`), at most
 * DIRECTORY_MAX_VERIFIED_PER_MESSAGE per message. A record whose signature, key or structure is wrong could only
 * come from a hostile sender (every honest keeper verified it before passing it on): the stream is reset and the
 * sender penalised (§2, §11). An expired record or a field out of bounds (a clock apart) is skipped and counted.
 *
 * This module runs the protocol and schedules it (on identify, and one random keeper every
 * DIRECTORY_SYNC_INTERVAL_MS); the directory itself stays Discovery's, seen through `DirectoryView`.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import { base58btc } from "multiformats/bases/base58";
import * as Digest from "multiformats/hashes/digest";

import { PeerBudget, RelayBudget } from "../health/relay-budget.ts";
import type { Logger } from "../logger.ts";
import { anySignal } from "../p2p/bootstrap.ts";
import type { LumoraNode } from "../p2p/node.ts";
import { CAPABILITIES } from "../types.ts";
import { InvalidFieldError, MalformedMessageError, readFrame, sendFrame, WireError } from "../wire/index.ts";
import {
  DIRECTORY_EXCHANGE_CONCURRENCY,
  DIRECTORY_EXCHANGE_MAX_QUEUE,
  DIRECTORY_EXCHANGE_PEER_INTERVAL_MS,
  DIRECTORY_EXCHANGE_TIMEOUT_MS,
  DIRECTORY_FIRST_MESSAGE_TIMEOUT_MS,
  DIRECTORY_IDLE_TIMEOUT_MS,
  DIRECTORY_MAX_DIGEST_ENTRIES,
  DIRECTORY_MAX_INVALID_PER_MESSAGE,
  DIRECTORY_MAX_PEER_ID_BYTES,
  DIRECTORY_MAX_MESSAGE_BYTES,
  DIRECTORY_MAX_RECORDS_PER_MESSAGE,
  DIRECTORY_MAX_SERVING,
  DIRECTORY_MAX_STREAMS,
  DIRECTORY_MAX_VERIFIED_PER_MESSAGE,
  DIRECTORY_PROTOCOL,
  DIRECTORY_SERVE_MAX_PEERS,
  DIRECTORY_SERVE_PER_PEER_BURST,
  DIRECTORY_SERVE_PER_PEER_INTERVAL_MS,
  DIRECTORY_SERVED_PER_SECOND,
  DIRECTORY_SYNC_INTERVAL_MS,
  MAX_RECORD_ADDRS,
  MAX_SIGNED_RECORD_BYTES,
} from "./constants.ts";
import { RecordError, type RecordErrorCode } from "./errors.ts";
import { DirectorySync, type Entry } from "./pb/directory.ts";
import { PeerRecord, SignedPeerRecord } from "./pb/peer-record.ts";
import { verifyPeerRecord, type PeerRecordData } from "./record.ts";

/** What the exchange sees of Discovery's directory. */
export interface DirectoryView {
  /** This keeper's peer id. */
  readonly self: string;
  /** Seq of the unexpired record held for `peerId`, if any. */
  seqOf(peerId: string): bigint | undefined;
  /** Unexpired records held (their `signed` bytes are what is sent), this keeper's own first. */
  records(): PeerRecordData[];
  /** Whether the directory holds as many records as it may take from third parties (MAX_DIRECTORY_RECORDS). */
  full(): boolean;
  /** Keeps a verified record (unless one as new is held, or it is relayed and the directory full): whether kept. */
  take(record: PeerRecordData, relayed: boolean): Promise<boolean>;
}

export interface DirectoryExchangeComponents {
  node: LumoraNode;
  logger: Logger;
  directory: DirectoryView;
  /** Called for protocol violations and hostile records; the composition bans the peer (§11). */
  penalise?: (peerId: PeerId, err: Error) => void;
  /** Called after an exchange that brought new records (how many). */
  onRecords?: (added: number) => void;
}

export interface DirectoryExchangeInit {
  /** Periodic sync with one random keeper, ms (DIRECTORY_SYNC_INTERVAL_MS, jittered ±25%); 0 turns it off. */
  syncIntervalMs?: number;
  /** Exchanges served per second, whoever asks (DIRECTORY_SERVED_PER_SECOND). */
  servedPerSecond?: number;
  /** One served exchange per peer per this long, on average (DIRECTORY_SERVE_PER_PEER_INTERVAL_MS). */
  servePerPeerIntervalMs?: number;
  /** An identified peer is not exchanged with again on identify within this (DIRECTORY_EXCHANGE_PEER_INTERVAL_MS). */
  peerIntervalMs?: number;
}

/** Counters since start (Discovery exposes them; /metrics shows them). */
export interface DirectoryExchangeStats {
  /** Exchanges this keeper started, completed and that failed (refused, timed out, reset, violation). */
  started: number;
  completed: number;
  failed: number;
  /** Exchanges served, and refused over the per-peer or global budget. */
  served: number;
  refused: number;
  /** Records received in exchanges (both sides). */
  received: number;
  /** Signatures checked (records newer than the one held). */
  verified: number;
  /** Records kept (new, or newer than the one held). */
  accepted: number;
  /** Records not newer than the one held (no signature check), or our own. */
  skipped: number;
  /** Records newer than held but beyond the per-message verification bound (they come in a later exchange). */
  unverified: number;
  /** Records that failed verification harmlessly: expired, or a field out of bounds (clocks apart). */
  invalid: number;
  /** Records with a bad signature, key or structure: the stream was reset and the sender penalised. */
  rejected: number;
  /** Relayed newcomers dropped because the directory was full. */
  droppedOverCap: number;
  /** Identified peers not exchanged with because the queue was full. */
  queueDropped: number;
}

/** What verifying a record can find that only a hostile sender produces (signature validity needs no clock). */
const HOSTILE: ReadonlySet<RecordErrorCode> = new Set<RecordErrorCode>([
  "ERR_RECORD_TOO_LARGE",
  "ERR_RECORD_MALFORMED",
  "ERR_RECORD_UNSIGNED",
  "ERR_RECORD_KEY_MISMATCH",
  "ERR_RECORD_BAD_SIGNATURE",
]);

/** Peer id and seq of a record without checking its signature; throws RecordError when it does not parse. */
function peek(bytes: Uint8Array): { peerId: string; seq: bigint; ed25519: boolean } {
  if (bytes.byteLength > MAX_SIGNED_RECORD_BYTES)
    throw new RecordError("ERR_RECORD_TOO_LARGE", `record of ${bytes.byteLength} bytes`);
  try {
    const record = PeerRecord.decode(SignedPeerRecord.decode(bytes).record, {
      limits: { capabilities: CAPABILITIES.length, addrs: MAX_RECORD_ADDRS },
    });
    const id = peerIdFromMultihash(Digest.decode(record.peerId));
    return { peerId: id.toString(), seq: record.seq, ed25519: id.type === "Ed25519" };
  } catch (err) {
    throw new RecordError("ERR_RECORD_MALFORMED", `record does not parse: ${(err as Error).message}`);
  }
}

/** A peer id string as the multihash bytes a digest carries (the string is base58btc of them). */
function peerIdBytes(peerId: string): Uint8Array<ArrayBuffer> {
  return base58btc.baseDecode(peerId) as Uint8Array<ArrayBuffer>;
}

/** A digest as peer id → seq (entries that name no peer id we could hold simply never match). */
function digestMap(digest: readonly Entry[]): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const e of digest) m.set(base58btc.baseEncode(e.peerId), e.seq);
  return m;
}

/** Bytes one repeated field element adds at most beyond its own: tag, length varint (≤ 1 MiB: 3 bytes). */
const FIELD_OVERHEAD = 4;

export class DirectoryExchange {
  readonly stats: DirectoryExchangeStats = {
    started: 0,
    completed: 0,
    failed: 0,
    served: 0,
    refused: 0,
    received: 0,
    verified: 0,
    accepted: 0,
    skipped: 0,
    unverified: 0,
    invalid: 0,
    rejected: 0,
    droppedOverCap: 0,
    queueDropped: 0,
  };
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private readonly servingRate: RelayBudget;
  private readonly perPeer: PeerBudget;
  private readonly syncIntervalMs: number;
  private readonly peerIntervalMs: number;
  /** Peers exchanged with on identify, until when not again (insertion order ≈ time; bounded). */
  private readonly recent = new Map<string, number>();
  private readonly queue: Array<{ peerId: string; resolve: (r: ExchangeResult) => void }> = [];
  /** Identify exchanges queued or running, by peer: a second identify of the peer waits for the same one. */
  private readonly pending = new Map<string, Promise<ExchangeResult>>();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<unknown> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Peers whose exchange we are serving now (at most DIRECTORY_MAX_SERVING). */
  private readonly serving = new Set<string>();

  constructor(
    private readonly components: DirectoryExchangeComponents,
    init: DirectoryExchangeInit = {},
  ) {
    this.log = components.logger.child("directory");
    const rate = init.servedPerSecond ?? DIRECTORY_SERVED_PER_SECOND;
    this.servingRate = new RelayBudget(DIRECTORY_MAX_SERVING, rate);
    this.perPeer = new PeerBudget(
      1_000 / (init.servePerPeerIntervalMs ?? DIRECTORY_SERVE_PER_PEER_INTERVAL_MS),
      DIRECTORY_SERVE_PER_PEER_BURST,
      DIRECTORY_SERVE_MAX_PEERS,
    );
    this.syncIntervalMs = init.syncIntervalMs ?? DIRECTORY_SYNC_INTERVAL_MS;
    this.peerIntervalMs = init.peerIntervalMs ?? DIRECTORY_EXCHANGE_PEER_INTERVAL_MS;
  }

  /** Exchanges being served now (at most one per peer). */
  get servingNow(): number {
    return this.serving.size;
  }

  /** Registers the handler (before anything dials: identify then lists the protocol). Idempotent. */
  async listen(): Promise<void> {
    if (this.components.node.getProtocols().includes(DIRECTORY_PROTOCOL)) return;
    await this.components.node.handle(DIRECTORY_PROTOCOL, (s, c) => this.track(this.onStream(s, c)), {
      maxInboundStreams: DIRECTORY_MAX_STREAMS,
      maxOutboundStreams: DIRECTORY_MAX_STREAMS,
    });
  }

  /** Listens, and starts the periodic sync. */
  async start(): Promise<void> {
    await this.listen();
    if (this.syncIntervalMs > 0) this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort(new Error("directory exchange stopped"));
    for (const q of this.queue.splice(0)) q.resolve({ ok: false, added: 0 });
    await Promise.allSettled([...this.inFlight]);
    await this.components.node.unhandle(DIRECTORY_PROTOCOL).catch(() => {});
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private schedule(): void {
    if (this.controller.signal.aborted) return;
    const delay = this.syncIntervalMs * (0.75 + 0.5 * Math.random());
    this.timer = setTimeout(() => {
      this.syncing = this.track(this.sync().catch(() => 0));
      void this.syncing.finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  /**
   * One periodic round: an exchange with one random connected peer that is in the directory and speaks the
   * protocol. Resolves with the records it brought (0 when there was nobody to ask or it failed).
   */
  async sync(): Promise<number> {
    const { node, directory } = this.components;
    const peers = node.getPeers().filter((p) => directory.seqOf(p.toString()) !== undefined);
    for (let i = peers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [peers[i], peers[j]] = [peers[j]!, peers[i]!];
    }
    for (const p of peers) {
      if (this.controller.signal.aborted) return 0;
      const protocols = await node.peerStore
        .get(p)
        .then((peer) => peer.protocols)
        .catch(() => [] as string[]);
      if (!protocols.includes(DIRECTORY_PROTOCOL)) continue;
      const r = await this.run(p.toString());
      return r.added;
    }
    return 0;
  }

  /**
   * A peer that speaks the protocol completed identify: one exchange with it, unless one ran on identify within
   * the peer interval; queued behind DIRECTORY_EXCHANGE_CONCURRENCY running ones (DIRECTORY_EXCHANGE_MAX_QUEUE
   * waiting, newcomers beyond dropped). One already queued or running for the peer is waited for. Never rejects;
   * `ok` is false when none ran or it failed.
   */
  onPeerIdentified(peerId: string): Promise<ExchangeResult> {
    const now = Date.now();
    const running = this.pending.get(peerId);
    if (running !== undefined) return running;
    if (this.controller.signal.aborted) return Promise.resolve({ ok: false, added: 0 });
    const until = this.recent.get(peerId);
    if (until !== undefined && until > now) return Promise.resolve({ ok: false, added: 0 });
    if (this.queue.length >= DIRECTORY_EXCHANGE_MAX_QUEUE) {
      this.stats.queueDropped++;
      return Promise.resolve({ ok: false, added: 0 });
    }
    this.recent.delete(peerId);
    this.recent.set(peerId, now + this.peerIntervalMs);
    for (const [id, t] of this.recent) {
      if (t > now && this.recent.size <= DIRECTORY_SERVE_MAX_PEERS) break;
      this.recent.delete(id);
    }
    const done = new Promise<ExchangeResult>((resolve) => {
      this.queue.push({ peerId, resolve });
    });
    this.pending.set(peerId, done);
    void done.then(() => this.pending.delete(peerId));
    this.pump();
    return done;
  }

  private pump(): void {
    while (this.running < DIRECTORY_EXCHANGE_CONCURRENCY && this.queue.length > 0) {
      const { peerId, resolve } = this.queue.shift()!;
      this.running++;
      void this.run(peerId)
        .then(resolve)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  /** One exchange as initiator, never rejecting (failures are counted and logged). */
  private async run(peerId: string): Promise<ExchangeResult> {
    // Only over a connection that is still open: a peer that identified and left is not dialled (at addresses it
    // chose) while it holds one of the few exchange slots.
    if (this.components.node.getConnections(peerIdFromString(peerId)).length === 0) return { ok: false, added: 0 };
    try {
      return { ok: true, added: await this.track(this.exchangeWith(peerId)) };
    } catch (err) {
      this.log.throttled("directory exchange failed", "debug", "directory exchange failed", {
        peer: peerId,
        error: err as Error,
      });
      return { ok: false, added: 0 };
    }
  }

  /** One exchange with `peerId` as initiator: resolves with the records it brought; throws when it fails. */
  async exchangeWith(peerId: PeerId | string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const id = typeof peerId === "string" ? peerIdFromString(peerId) : peerId;
    const from = id.toString();
    const signal = anySignal(
      AbortSignal.timeout(DIRECTORY_EXCHANGE_TIMEOUT_MS),
      this.controller.signal,
      options.signal,
    );
    this.stats.started++;
    let stream: Stream | undefined;
    try {
      stream = await this.components.node.dialProtocol(id, DIRECTORY_PROTOCOL, { signal });
      const own = this.components.directory.records().find((r) => r.peerId === this.components.directory.self);
      await this.send(stream, this.digest(), own?.signed === undefined ? [] : [own.signed], signal);
      const answer = await this.read(stream, signal, false);
      const added = await this.ingest(answer.records, from);
      await this.send(stream, [], this.missing(digestMap(answer.digest)), signal);
      await stream.close({ signal }).catch(() => {});
      this.stats.completed++;
      if (added > 0) this.components.onRecords?.(added);
      return added;
    } catch (err) {
      this.stats.failed++;
      this.fail(stream, id, err);
      throw err;
    }
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    // One exchange served per peer at a time (a peer cannot hold every slot with silent streams); the peer's
    // budget before the global one, so that one peer's refused attempts never drain everyone's.
    const admitted =
      !this.controller.signal.aborted && !this.serving.has(from) && this.perPeer.take(from) && this.servingRate.take();
    if (!admitted) {
      this.stats.refused++;
      this.log.throttled("directory exchange refused", "debug", "directory exchange refused (over budget)", {
        peer: from,
      });
      stream.abort(new Error("directory exchange over budget"));
      return;
    }
    this.serving.add(from);
    const signal = anySignal(AbortSignal.timeout(DIRECTORY_EXCHANGE_TIMEOUT_MS), this.controller.signal);
    try {
      const first = await this.read(stream, signal, false, DIRECTORY_FIRST_MESSAGE_TIMEOUT_MS);
      this.stats.served++;
      // Their records first: our digest then says we hold them, and they are not sent back in the third message.
      let added = await this.ingest(first.records, from);
      await this.send(stream, this.digest(), this.missing(digestMap(first.digest)), signal);
      const last = await this.read(stream, signal, true);
      added += await this.ingest(last.records, from);
      await stream.close({ signal }).catch(() => {});
      if (added > 0) this.components.onRecords?.(added);
    } catch (err) {
      this.fail(stream, connection.remotePeer, err);
    } finally {
      this.serving.delete(from);
      this.servingRate.release();
    }
  }

  /** Resets the stream; a violation or a hostile record is logged (rate-limited) and penalised. */
  private fail(stream: Stream | undefined, peer: PeerId, err: unknown): void {
    const e = err as Error;
    stream?.abort(e);
    const hostile = (err instanceof WireError && err.penalise) || (err instanceof RecordError && HOSTILE.has(err.code));
    if (!hostile || this.controller.signal.aborted) return;
    this.log.throttled("directory exchange rejected", "warn", "directory exchange rejected", {
      peer: peer.toString(),
      code: (err as { code?: string }).code,
      reason: e.message,
    });
    this.components.penalise?.(peer, e);
  }

  /** Our digest: every unexpired record held, ours first, at most DIRECTORY_MAX_DIGEST_ENTRIES. */
  private digest(): Entry[] {
    return this.components.directory
      .records()
      .slice(0, DIRECTORY_MAX_DIGEST_ENTRIES)
      .map((r) => ({ peerId: peerIdBytes(r.peerId), seq: r.seq }));
  }

  /** Records we hold that `theirs` lacks or holds older, ours first, within the record and byte caps. */
  private missing(theirs: ReadonlyMap<string, bigint>): Uint8Array[] {
    // Room left beside a full digest (~55 bytes an entry) in one message.
    let room = DIRECTORY_MAX_MESSAGE_BYTES - DIRECTORY_MAX_DIGEST_ENTRIES * 64;
    const out: Uint8Array[] = [];
    for (const r of this.components.directory.records()) {
      if (out.length >= DIRECTORY_MAX_RECORDS_PER_MESSAGE) break;
      if (r.signed === undefined) continue;
      const held = theirs.get(r.peerId);
      if (held !== undefined && held >= r.seq) continue;
      if (r.signed.byteLength + FIELD_OVERHEAD > room) continue;
      room -= r.signed.byteLength + FIELD_OVERHEAD;
      out.push(r.signed);
    }
    return out;
  }

  private async send(stream: Stream, digest: Entry[], records: Uint8Array[], signal: AbortSignal): Promise<void> {
    const body = DirectorySync.encode({ digest, records: records as Uint8Array<ArrayBuffer>[] });
    // Ours too large would be our bug, never the peer's fault: not a WireError, so nobody is penalised for it.
    if (body.byteLength > DIRECTORY_MAX_MESSAGE_BYTES)
      throw new Error(`directory message of ${body.byteLength} bytes above ${DIRECTORY_MAX_MESSAGE_BYTES}`);
    await sendFrame(stream, body, { signal });
  }

  /** Reads one message within the idle timeout; with `endOk` a clean end of stream is an empty message. */
  private async read(
    stream: Stream,
    signal: AbortSignal,
    endOk: boolean,
    timeoutMs = DIRECTORY_IDLE_TIMEOUT_MS,
  ): Promise<DirectorySync> {
    const body = await readFrame(stream, DIRECTORY_MAX_MESSAGE_BYTES, {
      signal: anySignal(AbortSignal.timeout(timeoutMs), signal),
    });
    if (body === undefined) {
      if (endOk) return { digest: [], records: [] };
      throw new WireError("ERR_UNEXPECTED_EOF", "stream ended before a directory message", false);
    }
    let message: DirectorySync;
    try {
      message = DirectorySync.decode(body, {
        limits: { digest: DIRECTORY_MAX_DIGEST_ENTRIES, records: DIRECTORY_MAX_RECORDS_PER_MESSAGE },
      });
    } catch (err) {
      throw new MalformedMessageError((err as Error).message);
    }
    // Before any entry is used: an id is base58-encoded to be looked up, at a cost quadratic in its length.
    for (const e of message.digest)
      if (e.peerId.byteLength > DIRECTORY_MAX_PEER_ID_BYTES)
        throw new InvalidFieldError(
          "digest.peer_id",
          `${e.peerId.byteLength} bytes, above ${DIRECTORY_MAX_PEER_ID_BYTES}`,
        );
    return message;
  }

  /**
   * Takes the records of one message from `from`: parsed first, skipped when not newer than the one held (no
   * signature check), the rest verified up to the per-message bound. Throws the RecordError of a hostile record
   * (the caller resets and penalises); returns how many records were kept.
   */
  private async ingest(records: readonly Uint8Array[], from: string): Promise<number> {
    const { directory } = this.components;
    let verified = 0;
    let invalid = 0;
    let added = 0;
    const seen = new Set<string>();
    for (const bytes of records) {
      this.stats.received++;
      let head;
      try {
        head = peek(bytes);
      } catch (err) {
        this.stats.rejected++;
        throw err;
      }
      const held = directory.seqOf(head.peerId);
      // One record per peer a message (a second copy or seq would only cost a check), and keepers' Ed25519 keys
      // only (other key types verify slowly in JavaScript); neither is a violation, both cost nothing.
      if (head.peerId === directory.self || (held !== undefined && held >= head.seq) || seen.has(head.peerId)) {
        this.stats.skipped++;
        continue;
      }
      seen.add(head.peerId);
      if (!head.ed25519) {
        this.stats.invalid++;
        continue;
      }
      const relayed = head.peerId !== from;
      if (relayed && held === undefined && directory.full()) {
        this.stats.droppedOverCap++;
        continue;
      }
      if (verified >= DIRECTORY_MAX_VERIFIED_PER_MESSAGE || invalid >= DIRECTORY_MAX_INVALID_PER_MESSAGE) {
        this.stats.unverified++;
        continue;
      }
      verified++;
      this.stats.verified++;
      let record: PeerRecordData;
      try {
        record = await verifyPeerRecord(undefined, bytes);
      } catch (err) {
        // Only a peer's own record can convict it: a relayed one it may have taken in good faith (under another
        // version's rules, say), so that one is skipped, and counts towards the message's bound.
        if (err instanceof RecordError && (relayed || !HOSTILE.has(err.code))) {
          invalid++;
          this.stats.invalid++;
          this.log.throttled("directory record invalid", "debug", "relayed record skipped", {
            peer: from,
            claimed: head.peerId,
            code: err.code,
          });
          continue;
        }
        this.stats.rejected++;
        throw err;
      }
      if (await directory.take(record, relayed)) {
        this.stats.accepted++;
        added++;
      } else if (relayed && directory.full()) this.stats.droppedOverCap++;
      else this.stats.skipped++;
    }
    return added;
  }
}

export interface ExchangeResult {
  /** Whether an exchange ran and completed. */
  ok: boolean;
  /** Records it brought. */
  added: number;
}
