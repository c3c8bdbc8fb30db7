/**
 * The one framing layer of every `/lumora/*` protocol (docs/PROTOCOL.md §2): each message is an unsigned
 * LEB128 varint length (minimal, at most 5 bytes) followed by that many bytes.
 *
 * Reading goes through `it-length-prefixed-stream` (one `lpStream` per stream, kept in a WeakMap, so several
 * reads on one stream never lose bytes that arrived together) with our own length decoder: it refuses an
 * overlong or non-minimal prefix and checks the length against the read's maximum as soon as the prefix is
 * complete, before any of the body is buffered. Every varint is `uint8-varint`'s, the one lpStream uses.
 *
 * Writing does not go through lpStream's `write`: it copies a Uint8ArrayList into one buffer (which would cost
 * the transfer a copy of every part) and queues writes behind a pushable, so a frame sent without awaiting it
 * could be overtaken. A frame here is the prefix and the body as one list, handed to `stream.send` at once.
 */
import type { Stream } from "@libp2p/interface";
import { lpStream, type LengthPrefixedStream } from "it-length-prefixed-stream";
import * as varint from "uint8-varint";
import { Uint8ArrayList } from "uint8arraylist";

import { ABSOLUTE_MAX_MESSAGE_BYTES, MAX_VARINT_LENGTH_BYTES } from "./constants.ts";
import { MalformedMessageError, MessageTooLargeError, UnexpectedEofError } from "./errors.ts";

/** What protons generates per message (`Heartbeat.encode/decode`): pass the message namespace itself. */
export interface MessageCodec<T> {
  encode(obj: T): Uint8Array;
  decode(buf: Uint8Array): T;
}

export interface WireOptions {
  signal?: AbortSignal;
}

type Source = AsyncIterable<Uint8Array | Uint8ArrayList>;

/** Minimal unsigned LEB128 encoding of a non-negative safe integer. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot varint-encode ${value}`);
  return varint.encode(value);
}

/** Bytes of the minimal varint encoding of `value`. */
export const varintLength: (value: number) => number = varint.encodingLength;

/**
 * Decodes the varint at `offset` of `buf`: its value and length in bytes, or undefined when `buf` ends first
 * (or the varint runs past 8 bytes, which no length of ours needs).
 */
export function decodeVarint(buf: Uint8ArrayList, offset = 0): { value: number; bytes: number } | undefined {
  try {
    const value = varint.decode(buf, offset);
    let bytes = 1;
    while (buf.get(offset + bytes - 1) & 0x80) bytes++;
    return { value, bytes };
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/** One stream's reader: lpStream over the stream, with the maximum of the read in progress. */
class FrameReader {
  private readonly lp: LengthPrefixedStream;
  /** Maximum body of the read in progress, which the length decoder checks. */
  private limit = 0;
  /** Prefix bytes seen by the read in progress (0 at its end of stream means a clean end). */
  private prefixBytes = 0;
  /** A read whose caller gave up (abort): the next read takes its frame, so no byte is lost. */
  private pending: Promise<Uint8ArrayList | undefined> | undefined;
  private reading = false;

  constructor(source: Source) {
    // lpStream wants a duplex; reading needs only the source. Writes never go through it (see the header).
    const duplex = { source, sink: async () => {} };
    this.lp = lpStream(duplex, { lengthDecoder: (prefix) => this.decodeLength(prefix) });
  }

  /** Called by lpStream after each prefix byte: RangeError asks for another byte, anything else ends the read. */
  private decodeLength(prefix: Uint8ArrayList): number {
    this.prefixBytes = prefix.byteLength;
    const last = prefix.get(prefix.byteLength - 1);
    if (last & 0x80) {
      if (prefix.byteLength >= MAX_VARINT_LENGTH_BYTES) {
        throw new MalformedMessageError(`length prefix longer than ${MAX_VARINT_LENGTH_BYTES} bytes`);
      }
      throw new RangeError("length prefix incomplete");
    }
    if (prefix.byteLength > 1 && last === 0) throw new MalformedMessageError("non-minimal length prefix");
    const length = varint.decode(prefix);
    if (length > this.limit) throw new MessageTooLargeError(length, this.limit);
    return length;
  }

  private async readOnce(): Promise<Uint8ArrayList | undefined> {
    this.prefixBytes = 0;
    try {
      return await this.lp.read();
    } catch (err) {
      if ((err as Error).name !== "UnexpectedEOFError") throw err;
      if (this.prefixBytes === 0) return undefined; // ended cleanly between frames
      throw new UnexpectedEofError(this.prefixBytes);
    }
  }

  async read(maxSize: number, signal?: AbortSignal): Promise<Uint8ArrayList | undefined> {
    if (this.reading) throw new Error("concurrent reads on one stream");
    signal?.throwIfAborted();
    if (this.pending === undefined) {
      this.limit = maxSize;
      this.pending = this.readOnce();
      this.pending.catch(() => {}); // awaited below, or by the next read after an abort
    }
    const read = this.pending;
    this.reading = true;
    try {
      const body = await raceAbort(read, signal);
      this.pending = undefined;
      return body;
    } catch (err) {
      // An abort rejects this call only: lpStream's read goes on, and the next call takes its frame.
      if (signal?.aborted !== true || err !== signal.reason) this.pending = undefined;
      throw err;
    } finally {
      this.reading = false;
    }
  }
}

const readers = new WeakMap<object, FrameReader>();

function readerOf(stream: Source): FrameReader {
  let reader = readers.get(stream);
  if (reader === undefined) {
    reader = new FrameReader(stream);
    readers.set(stream, reader);
  }
  return reader;
}

function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Reads one frame body as views into the stream's chunks (no copy). Returns `undefined` on a clean end of
 * stream (no partial frame). Throws MessageTooLargeError before buffering a body above `maxSize`,
 * MalformedMessageError on a bad prefix, UnexpectedEofError when the stream ends mid-frame; an error of the
 * stream itself (a reset) passes through.
 */
export function readFrameList(
  stream: Source,
  maxSize: number,
  options: WireOptions = {},
): Promise<Uint8ArrayList | undefined> {
  return readerOf(stream).read(maxSize, options.signal);
}

/** readFrameList for the message protocols, whose maximum is at most ABSOLUTE_MAX_MESSAGE_BYTES: one buffer. */
export async function readFrame(
  stream: Source,
  maxSize: number,
  options: WireOptions = {},
): Promise<Uint8Array | undefined> {
  if (maxSize > ABSOLUTE_MAX_MESSAGE_BYTES) throw new RangeError(`maxSize ${maxSize} above the absolute limit`);
  return (await readFrameList(stream, maxSize, options))?.subarray();
}

/**
 * Reads and decodes one message; throws UnexpectedEofError when the stream ends before a message and
 * MalformedMessageError when the body is not valid protobuf for `codec`. Field validation is the
 * caller's job (each protocol has its own rules).
 */
export async function readMessage<T>(
  stream: Source,
  codec: MessageCodec<T>,
  maxSize: number,
  options: WireOptions = {},
): Promise<T> {
  const body = await readFrame(stream, maxSize, options);
  if (body === undefined) throw new UnexpectedEofError(0);
  return decodeBody(body, codec);
}

export function decodeBody<T>(body: Uint8Array, codec: MessageCodec<T>): T {
  try {
    return codec.decode(body);
  } catch (err) {
    throw new MalformedMessageError((err as Error).message);
  }
}

/** `body` prefixed with its varint length, as one list (the body is not copied). */
export function frameList(body: Uint8Array | Uint8ArrayList): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(body.byteLength), body);
}

/** `body` prefixed with its varint length, as one buffer. */
export function frame(body: Uint8Array): Uint8Array {
  return frameList(body).subarray();
}

/** Sends one frame (prefix and body in one `send`), honouring backpressure. */
export async function sendFrame(
  stream: Pick<Stream, "send" | "onDrain">,
  body: Uint8Array | Uint8ArrayList,
  options: WireOptions = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  if (!stream.send(frameList(body))) await stream.onDrain({ signal: options.signal });
}

/** Sends one already-encoded frame body after checking it against the protocol's maximum. */
export async function writeFrame(
  stream: Pick<Stream, "send" | "onDrain">,
  body: Uint8Array,
  maxSize: number,
  options: WireOptions = {},
): Promise<void> {
  if (body.byteLength > maxSize) throw new MessageTooLargeError(body.byteLength, maxSize);
  await sendFrame(stream, body, options);
}

/** Encodes `message` with `codec`, checks the size limit and sends it length-prefixed. */
export async function writeMessage<T>(
  stream: Pick<Stream, "send" | "onDrain">,
  codec: MessageCodec<T>,
  message: T,
  maxSize: number,
  options: WireOptions = {},
): Promise<void> {
  await writeFrame(stream, codec.encode(message), maxSize, options);
}
