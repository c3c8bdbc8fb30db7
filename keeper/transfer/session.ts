/**
 * One consumer-side session with one provider: the Hello/Welcome handshake, then pipelined part requests.
 * The provider answers in request order, so each Part frame must carry the index at the head of the pending
 * queue and the next sequence number; anything else (a replayed, reordered or unrequested part) ends the
 * session. A part is accepted only after AES-GCM authentication, decompression to its exact size and a
 * SHA-256 match with the manifest (whose part hashes were checked against the object id at the handshake).
 * An uncompressed part is decrypted and hashed in one pass over the stream's chunks, never joined or copied.
 * Any failure ends the session and rejects every pending request.
 */
import { createHash } from "node:crypto";

import type { Connection, Stream } from "@libp2p/interface";
import type { Uint8ArrayList } from "uint8arraylist";

import { decompressPart, COMPRESSION_CODE } from "./compression.ts";
import { MAX_FRAME_SIZE, PROTOCOL, PROTOCOL_VERSION, TAG_LENGTH } from "./constants.ts";
import { deriveTransferKey, generateEphemeralKeyPair, openPart, openPartHashed } from "./crypto.ts";
import {
  MalformedFrameError,
  PartChecksumError,
  PartTimeoutError,
  RemoteError,
  StreamTruncatedError,
  UnexpectedPartError,
} from "./errors.ts";
import { readPartView, readTransferFrame, sendFrame, type PartView } from "./framing.ts";
import { partLength, validateManifest } from "./manifest.ts";
import { Compression, ConsumerFrame, Manifest, ProviderFrame, type Voucher } from "./pb/transfer.ts";

/** A verified part's plaintext, as the chunks it was decrypted in (their concatenation is the part). */
export type PlainPart = readonly Uint8Array[];

/** A verified part: its plaintext and the bytes its provider sent for it (the Part's ciphertext, after
 * compression, tag included), which is what the part is credited at. */
export interface VerifiedPartData {
  plain: PlainPart;
  wireBytes: number;
}

/** Codec of each wire code (the inverse of COMPRESSION_CODE). */
const CODE_COMPRESSION: Record<number, Compression | undefined> = { 0: Compression.NONE, 1: Compression.ZSTD };

interface Pending {
  index: number;
  resolve(part: VerifiedPartData): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export interface SessionOptions {
  self: string;
  objectId: Uint8Array;
  partTimeoutMs: number;
  handshakeTimeoutMs: number;
  signal?: AbortSignal;
}

function decodeProviderFrame(body: Uint8Array | Uint8ArrayList): ProviderFrame {
  try {
    return ProviderFrame.decode(body);
  } catch (err) {
    throw new MalformedFrameError((err as Error).message);
  }
}

export class ProviderSession {
  readonly peerId: string;
  manifest!: Manifest;
  /** Encoded manifest, to compare byte for byte with other providers'. */
  manifestBytes!: Uint8Array;
  /** The provider's reward account (0x-hex) when it takes vouchers (its Welcome named one), else undefined. */
  paymentAccount: string | undefined;
  /** Bytes the provider said it sends beyond what vouchers paid (Welcome.unpaid_allowance; 0 when it said none). */
  unpaidAllowance = 0;
  /** Vouchers are sent one after the other, in the order they were signed. */
  private vouchers: Promise<void> = Promise.resolve();
  private vouchersPending = 0;
  private key: Uint8Array | undefined;
  private readonly pending: Pending[] = [];
  private nextSeq = 0n;
  private failure: unknown;
  private closed = false;

  private constructor(
    private readonly stream: Stream,
    connection: Connection,
    private readonly options: SessionOptions,
  ) {
    this.peerId = connection.remotePeer.toString();
  }

  /** Opens a stream on `connection` and runs the handshake. */
  static async open(connection: Connection, options: SessionOptions): Promise<ProviderSession> {
    const signal = AbortSignal.any([
      AbortSignal.timeout(options.handshakeTimeoutMs),
      ...(options.signal !== undefined ? [options.signal] : []),
    ]);
    const stream = await connection.newStream(PROTOCOL, { signal });
    const session = new ProviderSession(stream, connection, options);
    try {
      await session.handshake(signal);
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
    session.readLoop();
    return session;
  }

  private async handshake(signal: AbortSignal): Promise<void> {
    const eph = generateEphemeralKeyPair();
    await sendFrame(
      this.stream,
      ConsumerFrame.encode({
        hello: {
          version: PROTOCOL_VERSION,
          objectId: this.options.objectId as Uint8Array<ArrayBuffer>,
          ephemeralKey: eph.publicKey as Uint8Array<ArrayBuffer>,
        },
      }),
      { signal },
    );
    const onAbort = () => this.stream.abort(new StreamTruncatedError("no welcome in time"));
    signal.addEventListener("abort", onAbort, { once: true });
    let body;
    try {
      body = await readTransferFrame(this.stream, MAX_FRAME_SIZE);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (body === undefined) throw new StreamTruncatedError("stream ended before welcome");
    const frame = decodeProviderFrame(body);
    if (frame.error !== undefined) throw new RemoteError(frame.error.code, frame.error.message);
    if (frame.welcome === undefined) throw new MalformedFrameError("first frame is not a welcome");
    this.manifest = validateManifest(frame.welcome.manifest, this.options.objectId);
    this.manifestBytes = Manifest.encode(this.manifest);
    const account = frame.welcome.paymentAccount;
    if (account.length !== 0 && account.length !== 20) throw new MalformedFrameError("payment account is not 20 bytes");
    this.paymentAccount = account.length === 20 ? "0x" + Buffer.from(account).toString("hex") : undefined;
    const allowance = frame.welcome.unpaidAllowance;
    this.unpaidAllowance = allowance > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(allowance);
    this.key = deriveTransferKey(eph.privateKey, frame.welcome.ephemeralKey, {
      consumer: this.options.self,
      provider: this.peerId,
      objectId: this.options.objectId,
      consumerEphemeral: eph.publicKey,
      providerEphemeral: frame.welcome.ephemeralKey,
    });
  }

  get inFlight(): number {
    return this.pending.length;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Requests part `index`; resolves with its verified plaintext and the bytes it took on the wire. */
  request(index: number): Promise<VerifiedPartData> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<VerifiedPartData>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new PartTimeoutError(this.options.partTimeoutMs)),
        this.options.partTimeoutMs,
      );
      this.pending.push({ index, resolve, reject, timer });
      sendFrame(this.stream, ConsumerFrame.encode({ request: { index } }), { signal: this.options.signal }).catch(
        (err) => this.fail(new StreamTruncatedError((err as Error).message)),
      );
    });
  }

  /**
   * Sends a voucher to the provider after the ones sent before it; resolves once it is handed to the stream. A failed
   * send fails the session like a failed request.
   */
  sendVoucher(voucher: Voucher): Promise<void> {
    this.vouchersPending++;
    this.vouchers = this.vouchers.then(async () => {
      try {
        if (this.failure !== undefined || this.closed) return;
        await sendFrame(this.stream, ConsumerFrame.encode({ voucher }), { signal: this.options.signal }).catch((err) =>
          this.fail(new StreamTruncatedError((err as Error).message)),
        );
      } finally {
        this.vouchersPending--;
      }
    });
    return this.vouchers;
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const body = await readTransferFrame(this.stream, MAX_FRAME_SIZE);
        if (body === undefined) {
          if (this.pending.length > 0 || !this.closed) {
            throw new StreamTruncatedError(`provider closed with ${this.pending.length} parts owed`);
          }
          return;
        }
        let part = readPartView(body);
        if (part === undefined) {
          const frame = decodeProviderFrame(body);
          if (frame.error !== undefined) throw new RemoteError(frame.error.code, frame.error.message);
          if (frame.part === undefined) throw new MalformedFrameError("expected a part");
          const { index, seq, compression, ciphertext } = frame.part;
          const code = COMPRESSION_CODE[compression] ?? -1;
          part = { index, seq, compression: code, ciphertext: [ciphertext], ciphertextLength: ciphertext.length };
        }
        this.accept(part);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private accept(part: PartView): void {
    const head = this.pending[0];
    const seq = this.nextSeq;
    if (head === undefined || part.index !== head.index || part.seq !== seq) {
      throw new UnexpectedPartError({ index: head?.index ?? -1, seq }, { index: part.index, seq: part.seq });
    }
    const compression = CODE_COMPRESSION[part.compression];
    if (compression !== Compression.NONE && compression !== this.manifest.compression) {
      throw new MalformedFrameError(
        `part compressed with ${compression ?? part.compression}, manifest says ${this.manifest.compression}`,
      );
    }
    const expected = partLength(this.manifest, head.index);
    // Bound the work a provider can cause before authentication: a sealed part is never larger than the
    // plaintext (compression is only used when it shrinks) plus the tag.
    if (part.ciphertextLength > expected + TAG_LENGTH) {
      throw new MalformedFrameError(`part ${head.index} is larger than declared`);
    }
    const code = part.compression;
    let plain: PlainPart;
    let digest: Buffer;
    if (compression === Compression.NONE) {
      ({ plain, digest } = openPartHashed(
        this.key!,
        seq,
        this.options.objectId,
        head.index,
        code,
        part.ciphertext,
        part.ciphertextLength,
      ));
      if (part.ciphertextLength - TAG_LENGTH !== expected) throw new PartChecksumError(head.index);
    } else {
      const sealed = part.ciphertext.length === 1 ? part.ciphertext[0] : Buffer.concat(part.ciphertext);
      const opened = openPart(this.key!, seq, this.options.objectId, head.index, code, sealed);
      const whole = decompressPart(compression, opened, expected, head.index);
      if (whole.length !== expected) throw new PartChecksumError(head.index);
      plain = [whole];
      digest = createHash("sha256").update(whole).digest();
    }
    if (!digest.equals(this.manifest.partHashes[head.index])) throw new PartChecksumError(head.index);
    this.pending.shift();
    this.nextSeq++;
    clearTimeout(head.timer);
    head.resolve({ plain, wireBytes: part.ciphertextLength });
  }

  /** Ends the session with `err`: rejects all pending requests and aborts the stream. */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.key?.fill(0);
    this.stream.abort(err instanceof Error ? err : new Error(String(err)));
  }

  /** Ends the session cleanly (no requests pending). */
  async close(options?: { signal?: AbortSignal }): Promise<void> {
    // The last vouchers go out before the write side closes (a session that pays nothing closes at once).
    if (this.vouchersPending > 0) await this.vouchers;
    this.closed = true;
    this.key?.fill(0);
    if (this.failure !== undefined) return;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new StreamTruncatedError("session closed"));
    }
    try {
      await this.stream.close(options);
    } catch {
      this.stream.abort(new Error("close failed"));
    }
  }
}
