/**
 * The provider side of /lumora/transfer/2.0.0: answers a Hello with its ephemeral key and the manifest,
 * then serves part requests strictly in the order received, each compressed when it pays, sealed under the
 * session key with the next sequence number, and sent with backpressure. Requests are read concurrently but
 * at most MAX_PIPELINED_REQUESTS are queued per session.
 */
import { open, type FileHandle } from "node:fs/promises";

import type { Connection, Stream } from "@libp2p/interface";
import type { Uint8ArrayList } from "uint8arraylist";

import type { Logger } from "../logger.ts";
import {
  ConsumerDebts,
  CREDIT_CACHE_TTL_MS,
  CREDIT_READS_PER_SECOND,
  CreditCache,
  DEFAULT_UNFUNDED_BUDGET_BYTES,
  DEFAULT_UNFUNDED_BUDGET_WINDOW_MS,
  FUNDING_WAIT_MS,
  MAX_CONSUMER_DEBTS,
  MAX_CREDIT_ENTRIES,
  UnfundedBudget,
  PaymentError,
  SessionLedger,
  StaleVoucherError,
  type LedgerTerms,
  type PaymentStore,
} from "../payment/index.ts";
import { COMPRESSION_CODE, compressPart } from "./compression.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_INBOUND_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_CONNECTION,
  DEFAULT_WRITE_TIMEOUT,
  MAX_CONSUMER_FRAME_SIZE,
  MAX_PIPELINED_REQUESTS,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { deriveTransferKey, generateEphemeralKeyPair, sealPart } from "./crypto.ts";
import { MalformedFrameError, SessionTimeoutError, StreamTruncatedError, TransferError } from "./errors.ts";
import { encodeFrame, encodePartFrame, readTransferFrame, sendBuiltFrame } from "./framing.ts";
import { partLength, toHex, type Manifest } from "./manifest.ts";
import { Compression, ConsumerFrame, ErrorCode, ProviderFrame } from "./pb/transfer.ts";

/** Test-only fault injection; never set in production. */
export interface TransferTestHooks {
  /** Rewrites a part's plaintext just before compression and encryption (e.g. to flip a bit). */
  tamper?(partIndex: number, bytes: Uint8Array, objectId: string): Uint8Array;
  /** Awaited before each part is served (e.g. to slow a provider down). */
  beforeServe?(objectId: string, partIndex: number): Promise<void> | void;
  /** Called after each part was handed to the stream. */
  onPartServed?(objectId: string, partIndex: number, consumer: string): void;
}

export interface PublishedObject {
  objectId: string;
  idBytes: Uint8Array;
  path: string;
  manifest: Manifest;
  /** One bit per part: set once a part proved incompressible, so it is never tried again. */
  incompressible: Uint8Array;
}

export interface ProviderComponents {
  peerId: string;
  logger: Logger;
  lookup(objectId: string): PublishedObject | undefined;
  /** Paid demand: the terms this provider serves under and where it keeps the vouchers; absent, it takes none. */
  payment?: { terms: LedgerTerms; store: PaymentStore };
  testHooks?: TransferTestHooks;
}

export interface ProviderStats {
  sessions: number;
  /** Sessions open now. */
  activeSessions: number;
  /** Sessions answered BUSY: the provider-wide cap (`maxSessions`) or the per-connection cap was hit. */
  sessionsRefused: number;
  /** …of which because of the per-connection cap (`maxSessionsPerConnection`). */
  sessionsRefusedPerConnection: number;
  /** Sessions ended because the consumer did not read a frame within `writeTimeoutMs`. */
  writeTimeouts: number;
  /** Sessions ended because no part was requested within `idleTimeoutMs`. */
  idleTimeouts: number;
  partsServed: number;
  /** Plaintext bytes of the parts served. */
  bytesServed: number;
  /** Sealed bytes sent for them (after compression). */
  bytesSent: number;
  /** Vouchers kept (each above its channel's highest), and refused (forged, another channel, or not higher). */
  vouchersAccepted: number;
  vouchersRejected: number;
  /** Sessions closed for more voucher frames than parts served plus VOUCHER_FRAME_SLACK (ERR_TOO_MANY_VOUCHERS). */
  voucherFramesRefused: number;
  /** Deposit reads not sent because the read rate was spent (CREDIT_READS_PER_SECOND). */
  creditReadsLimited: number;
  /** Sessions cut off: the consumer owed more than the unpaid allowance, or its deposit did not cover its voucher. */
  sessionsUnpaid: number;
  /** …of which an unfunded consumer's, because the provider's unfunded budget was spent (all consumers together). */
  unfundedBudgetRefused: number;
  /** Bytes sent to consumers without a funded voucher (charged to the unfunded budget). */
  unfundedBytes: number;
}

function decodeConsumerFrame(body: Uint8Array | Uint8ArrayList): ConsumerFrame {
  try {
    return ConsumerFrame.decode(body);
  } catch (err) {
    throw new MalformedFrameError((err as Error).message);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StreamTruncatedError(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read buffers kept per part size: reads run concurrently only while sessions await the disk, rarely more. */
const READ_BUFFER_POOL = 4;

export interface ProviderInit {
  handshakeTimeoutMs?: number;
  /** Sessions served at once over all connections (DEFAULT_MAX_INBOUND_SESSIONS). */
  maxSessions?: number;
  /** Sessions served at once per connection (DEFAULT_MAX_SESSIONS_PER_CONNECTION). */
  maxSessionsPerConnection?: number;
  /** Longest wait for the consumer to read one frame, ms (DEFAULT_WRITE_TIMEOUT). */
  writeTimeoutMs?: number;
  /** Longest wait for the next part request, ms (DEFAULT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
}

export class TransferProvider {
  readonly stats: ProviderStats = {
    sessions: 0,
    activeSessions: 0,
    sessionsRefused: 0,
    sessionsRefusedPerConnection: 0,
    writeTimeouts: 0,
    idleTimeouts: 0,
    partsServed: 0,
    bytesServed: 0,
    bytesSent: 0,
    vouchersAccepted: 0,
    vouchersRejected: 0,
    voucherFramesRefused: 0,
    creditReadsLimited: 0,
    sessionsUnpaid: 0,
    unfundedBudgetRefused: 0,
    unfundedBytes: 0,
  };
  /** Paid demand: what each consumer owes across sessions, and the vault's credit per channel (payment/limits.ts). */
  private readonly debts = new ConsumerDebts(MAX_CONSUMER_DEBTS);
  private readonly credit: CreditCache | undefined;
  /** Paid demand: bytes sent to unfunded consumers, over all of them (payment/limits.ts). */
  private readonly unfunded: UnfundedBudget | undefined;
  private readonly log: Logger;
  private readonly active = new Set<Stream>();
  /** Sessions open per connection id. */
  private readonly perConnection = new Map<string, number>();
  private readonly maxSessions: number;
  private readonly maxPerConnection: number;
  private readonly writeTimeoutMs: number;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly components: ProviderComponents,
    private readonly init: ProviderInit = {},
  ) {
    this.log = components.logger.child("provider");
    this.maxSessions = init.maxSessions ?? DEFAULT_MAX_INBOUND_SESSIONS;
    this.maxPerConnection = init.maxSessionsPerConnection ?? DEFAULT_MAX_SESSIONS_PER_CONNECTION;
    this.writeTimeoutMs = init.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT;
    this.idleTimeoutMs = init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT;
    const creditOf = components.payment?.terms.creditOf;
    this.credit =
      creditOf &&
      new CreditCache((consumer, account, options) => creditOf(consumer, account, options), {
        ttlMs: CREDIT_CACHE_TTL_MS,
        readsPerSecond: CREDIT_READS_PER_SECOND,
        max: MAX_CREDIT_ENTRIES,
      });
    const terms = components.payment?.terms;
    this.unfunded =
      terms &&
      new UnfundedBudget({
        bytes: terms.unfundedBudget?.bytes ?? DEFAULT_UNFUNDED_BUDGET_BYTES,
        windowMs: terms.unfundedBudget?.windowMs ?? DEFAULT_UNFUNDED_BUDGET_WINDOW_MS,
      });
  }

  /**
   * Plaintext read buffers, pooled by part size: a part is read, compressed and sealed without yielding to other
   * sessions' sends, so a session waiting on a slow consumer holds only its sealed part, not a read buffer too
   * (and sessions reuse buffers instead of allocating a part-sized one each, which keeps GC and RSS low).
   */
  private readonly readBuffers = new Map<number, Buffer[]>();

  private takeReadBuffer(size: number): Buffer {
    return this.readBuffers.get(size)?.pop() ?? Buffer.allocUnsafe(size);
  }

  private returnReadBuffer(buf: Buffer): void {
    const pool = this.readBuffers.get(buf.length) ?? [];
    if (pool.length < READ_BUFFER_POOL) pool.push(buf);
    this.readBuffers.set(buf.length, pool);
  }

  /** What libp2p should allow per connection before our own count answers BUSY (a backstop above ours). */
  get streamLimitPerConnection(): number {
    return this.maxPerConnection * 2;
  }

  /** Sends one frame; a consumer that does not read it within the write timeout ends the session. */
  private async send(stream: Stream, frame: Uint8ArrayList): Promise<void> {
    try {
      await sendBuiltFrame(stream, frame, { signal: AbortSignal.timeout(this.writeTimeoutMs) });
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        this.stats.writeTimeouts++;
        throw new SessionTimeoutError(`consumer read nothing for ${this.writeTimeoutMs} ms`);
      }
      throw err;
    }
  }

  /** Aborts every session in progress (on stop). */
  abortAll(): void {
    for (const s of this.active) s.abort(new Error("provider stopping"));
    this.active.clear();
  }

  async handle(stream: Stream, connection: Connection): Promise<void> {
    const consumer = connection.remotePeer.toString();
    const onConnection = this.perConnection.get(connection.id) ?? 0;
    if (this.active.size >= this.maxSessions || onConnection >= this.maxPerConnection) {
      this.stats.sessionsRefused++;
      const cap = this.active.size >= this.maxSessions ? "maxSessions" : "maxSessionsPerConnection";
      if (cap === "maxSessionsPerConnection") this.stats.sessionsRefusedPerConnection++;
      this.log.throttled("session refused", "info", "transfer session refused: at capacity", { consumer, cap });
      // No read of the Hello, no wait for the consumer: a BUSY frame if it fits the send buffer, then reset.
      try {
        stream.send(encodeFrame(ProviderFrame.encode({ error: { code: ErrorCode.BUSY, message: `${cap} reached` } })));
        await stream.close({ signal: AbortSignal.timeout(1_000) });
      } catch {
        stream.abort(new Error("provider busy"));
      }
      return;
    }
    this.perConnection.set(connection.id, onConnection + 1);
    this.active.add(stream);
    this.stats.sessions++;
    this.stats.activeSessions = this.active.size;
    let key: Uint8Array | undefined;
    let fh: FileHandle | undefined;
    try {
      const first = await withTimeout(
        readTransferFrame(stream, MAX_CONSUMER_FRAME_SIZE),
        this.init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT,
        "hello",
      );
      if (first === undefined) throw new StreamTruncatedError("stream ended before hello");
      const hello = decodeConsumerFrame(first).hello;
      if (hello === undefined) throw new MalformedFrameError("first frame is not a hello");
      if (hello.version !== PROTOCOL_VERSION) {
        await this.refuse(stream, ErrorCode.UNSUPPORTED_VERSION, `version ${PROTOCOL_VERSION} only`);
        return;
      }
      if (hello.objectId.length !== 32) throw new MalformedFrameError("object id is not 32 bytes");
      const object = this.components.lookup(toHex(hello.objectId));
      if (object === undefined) {
        await this.refuse(stream, ErrorCode.NOT_FOUND, "object not published here");
        return;
      }
      const eph = generateEphemeralKeyPair();
      key = deriveTransferKey(eph.privateKey, hello.ephemeralKey, {
        consumer,
        provider: this.components.peerId,
        objectId: object.idBytes,
        consumerEphemeral: hello.ephemeralKey,
        providerEphemeral: eph.publicKey,
      });
      fh = await open(object.path, "r");
      const terms = this.components.payment?.terms;
      await this.send(
        stream,
        encodeFrame(
          ProviderFrame.encode({
            welcome: {
              ephemeralKey: eph.publicKey as Uint8Array<ArrayBuffer>,
              manifest: object.manifest,
              paymentAccount:
                terms === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(terms.account.slice(2), "hex")),
              unpaidAllowance: BigInt(terms?.unpaidAllowanceBytes ?? 0),
            },
          }),
        ),
      );
      this.log.debug("session opened", { consumer, objectId: object.objectId });
      await this.serve(stream, object, key, fh, consumer);
      await stream.close({ signal: AbortSignal.timeout(this.writeTimeoutMs) });
    } catch (err) {
      if (err instanceof PaymentError) {
        // Not paying is not misbehaving; a forged voucher or one for another channel is.
        if (err.penalise)
          this.log.throttled("bad voucher", "warn", "consumer sent a bad voucher", { consumer, error: err });
        else
          (this.stats.sessionsUnpaid++, this.log.info("consumer cut off: unpaid", { consumer, reason: err.message }));
        await this.refuse(stream, ErrorCode.BAD_REQUEST, err.message).catch(() => {});
      } else if (err instanceof TransferError && err.penalise) {
        this.log.throttled("consumer misbehaved", "warn", "consumer misbehaved", {
          consumer,
          code: err.code,
          error: err,
        });
        await this.refuse(stream, ErrorCode.BAD_REQUEST, err.message).catch(() => {});
      } else {
        this.log.debug("session ended early", { consumer, error: err });
      }
      stream.abort(err as Error);
    } finally {
      key?.fill(0);
      await fh?.close();
      this.active.delete(stream);
      this.stats.activeSessions = this.active.size;
      const n = (this.perConnection.get(connection.id) ?? 1) - 1;
      if (n <= 0) this.perConnection.delete(connection.id);
      else this.perConnection.set(connection.id, n);
    }
  }

  private async refuse(stream: Stream, code: ErrorCode, message: string): Promise<void> {
    await this.send(stream, encodeFrame(ProviderFrame.encode({ error: { code, message } })));
    await stream.close({ signal: AbortSignal.timeout(this.writeTimeoutMs) });
  }

  private async serve(
    stream: Stream,
    object: PublishedObject,
    key: Uint8Array,
    fh: FileHandle,
    consumer: string,
  ): Promise<void> {
    const parts = object.manifest.partHashes.length;
    const queue: number[] = [];
    const payment = this.components.payment;
    const ledger =
      payment &&
      new SessionLedger(
        payment.terms,
        {
          store: payment.store,
          logger: this.log,
          stats: this.stats,
          debts: this.debts,
          credit: this.credit,
          unfunded: this.unfunded,
        },
        consumer,
      );
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };

    const readRequests = (async () => {
      try {
        for (;;) {
          const body = await readTransferFrame(stream, MAX_CONSUMER_FRAME_SIZE);
          if (body === undefined) break;
          const frame = decodeConsumerFrame(body);
          if (frame.voucher !== undefined) {
            if (ledger === undefined) throw new MalformedFrameError("voucher sent to a provider that takes none");
            try {
              ledger.accept(frame.voucher);
            } catch (err) {
              // Two sessions of one channel may deliver their vouchers out of order: a lower one is only ignored.
              if (!(err instanceof StaleVoucherError)) throw err;
              this.log.debug("voucher ignored", { consumer, reason: err.message });
            }
            continue;
          }
          const request = frame.request;
          if (request === undefined) throw new MalformedFrameError("expected a part request");
          if (request.index >= parts) throw new MalformedFrameError(`part ${request.index} of ${parts}`);
          if (queue.length >= MAX_PIPELINED_REQUESTS) {
            throw new MalformedFrameError(`more than ${MAX_PIPELINED_REQUESTS} requests in flight`);
          }
          queue.push(request.index);
          notify();
        }
      } catch (err) {
        failure = err;
      } finally {
        ended = true;
        notify();
      }
    })();

    const hooks = this.components.testHooks;
    let seq = 0n;
    for (;;) {
      if (failure !== undefined) throw failure;
      const index = queue.shift();
      if (index === undefined) {
        if (ended) break;
        let idle: NodeJS.Timeout | undefined;
        const timedOut = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          idle = setTimeout(() => resolve(true), this.idleTimeoutMs);
        });
        clearTimeout(idle);
        if (timedOut) {
          this.stats.idleTimeouts++;
          throw new SessionTimeoutError(`no part requested for ${this.idleTimeoutMs} ms`);
        }
        continue;
      }
      await hooks?.beforeServe?.(object.objectId, index);
      await ledger?.awaitFunding(FUNDING_WAIT_MS);
      ledger?.check();
      const length = partLength(object.manifest, index);
      const readBuffer = this.takeReadBuffer(object.manifest.partSize);
      let code: number;
      let sealed: Uint8Array[];
      try {
        const buf = readBuffer.subarray(0, length);
        const { bytesRead } = await fh.read(buf, 0, length, index * object.manifest.partSize);
        if (bytesRead !== length) throw new Error(`published file ${object.path} shrank`);
        const plain = hooks?.tamper?.(index, buf, object.objectId) ?? buf;
        const bit = 1 << (index & 7);
        const skip = (object.incompressible[index >> 3] & bit) !== 0;
        const packed = compressPart(skip ? Compression.NONE : object.manifest.compression, plain);
        if (!skip && packed.compression === Compression.NONE) object.incompressible[index >> 3] |= bit;
        code = COMPRESSION_CODE[packed.compression];
        sealed = sealPart(key, seq, object.idBytes, index, code, packed.data);
      } finally {
        // The ciphertext is new memory: the plaintext buffer is free again before the (possibly long) send.
        this.returnReadBuffer(readBuffer);
      }
      await this.send(stream, encodePartFrame(index, seq, code, sealed));
      seq++;
      this.stats.partsServed++;
      this.stats.bytesServed += length;
      this.stats.bytesSent += sealed[0].length + sealed[1].length;
      ledger?.sentBytes(sealed[0].length + sealed[1].length);
      hooks?.onPartServed?.(object.objectId, index, consumer);
    }
    await readRequests;
  }
}
