/**
 * Length-prefixed framing for every `/lumora/*` protocol: each message is an unsigned LEB128 varint
 * length (at most 5 bytes, minimal encoding) followed by that many bytes of protobuf.
 *
 * Reads are buffered per stream (a WeakMap keyed by the stream), so several `readMessage` calls on one
 * stream never lose bytes that arrived together.
 */
import type { Stream } from "@libp2p/interface";
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

/** Minimal unsigned LEB128 encoding of a non-negative safe integer. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot varint-encode ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Decodes a varint prefix; `undefined` when more bytes are needed. */
export function decodeVarint(buf: Uint8ArrayList): { value: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < buf.byteLength; i++) {
    if (i >= MAX_VARINT_LENGTH_BYTES) throw new MalformedMessageError("length prefix longer than 5 bytes");
    const byte = buf.get(i);
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) throw new MalformedMessageError("non-minimal length prefix");
      return { value, bytes: i + 1 };
    }
  }
  if (buf.byteLength >= MAX_VARINT_LENGTH_BYTES) throw new MalformedMessageError("length prefix longer than 5 bytes");
  return undefined;
}

class FrameReader {
  private readonly buffer = new Uint8ArrayList();
  private readonly source: AsyncIterator<Uint8Array | Uint8ArrayList>;
  private pending: Promise<IteratorResult<Uint8Array | Uint8ArrayList>> | undefined;
  private ended = false;

  constructor(stream: AsyncIterable<Uint8Array | Uint8ArrayList>) {
    this.source = stream[Symbol.asyncIterator]();
  }

  /** Pulls one chunk into the buffer; false at end of stream. */
  private async pull(signal?: AbortSignal): Promise<boolean> {
    if (this.ended) return false;
    // A read interrupted by an abort leaves its `next()` pending; the next read reuses it, never races it.
    this.pending ??= this.source.next();
    const result = await raceAbort(this.pending, signal);
    this.pending = undefined;
    if (result.done === true) {
      this.ended = true;
      return false;
    }
    this.buffer.append(result.value);
    return true;
  }

  async read(maxSize: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    let prefix = decodeVarint(this.buffer);
    while (prefix === undefined) {
      if (!(await this.pull(signal))) {
        if (this.buffer.byteLength === 0) return undefined;
        throw new UnexpectedEofError(this.buffer.byteLength);
      }
      prefix = decodeVarint(this.buffer);
    }
    if (prefix.value > maxSize) throw new MessageTooLargeError(prefix.value, maxSize);
    const total = prefix.bytes + prefix.value;
    while (this.buffer.byteLength < total) {
      if (!(await this.pull(signal))) throw new UnexpectedEofError(this.buffer.byteLength);
    }
    const body = this.buffer.subarray(prefix.bytes, total);
    this.buffer.consume(total);
    return body;
  }
}

const readers = new WeakMap<object, FrameReader>();

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
 * Reads one raw frame body. Returns `undefined` on a clean end of stream (no partial frame).
 * Throws MessageTooLargeError before buffering an oversized body, MalformedMessageError on a bad prefix,
 * UnexpectedEofError when the stream ends mid-frame.
 */
export async function readFrame(
  stream: AsyncIterable<Uint8Array | Uint8ArrayList>,
  maxSize: number,
  options: WireOptions = {},
): Promise<Uint8Array | undefined> {
  if (maxSize > ABSOLUTE_MAX_MESSAGE_BYTES) throw new RangeError(`maxSize ${maxSize} above the absolute limit`);
  let reader = readers.get(stream);
  if (reader === undefined) {
    reader = new FrameReader(stream);
    readers.set(stream, reader);
  }
  return reader.read(maxSize, options.signal);
}

/**
 * Reads and decodes one message; throws UnexpectedEofError when the stream ends before a message and
 * MalformedMessageError when the body is not valid protobuf for `codec`. Field validation is the
 * caller's job (each protocol has its own rules).
 */
export async function readMessage<T>(
  stream: AsyncIterable<Uint8Array | Uint8ArrayList>,
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

/** Frames `body` with its varint length. */
export function frame(body: Uint8Array): Uint8Array {
  const prefix = encodeVarint(body.byteLength);
  const out = new Uint8Array(prefix.byteLength + body.byteLength);
  out.set(prefix, 0);
  out.set(body, prefix.byteLength);
  return out;
}

/** Sends one already-encoded frame body, honouring backpressure. */
export async function writeFrame(
  stream: Pick<Stream, "send" | "onDrain">,
  body: Uint8Array,
  maxSize: number,
  options: WireOptions = {},
): Promise<void> {
  if (body.byteLength > maxSize) throw new MessageTooLargeError(body.byteLength, maxSize);
  options.signal?.throwIfAborted();
  if (!stream.send(frame(body))) await stream.onDrain({ signal: options.signal });
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
