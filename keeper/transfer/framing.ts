/**
 * Length-prefixed frames: an unsigned varint (LEB128) length then that many bytes. The length is checked
 * against the maximum as soon as the prefix is complete, before any of the body is buffered, so an
 * oversized frame costs the reader at most the few bytes of its prefix.
 */
import type { Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";

import { MAX_VARINT_LENGTH } from "./constants.ts";
import { FrameTooLargeError, MalformedFrameError, StreamTruncatedError } from "./errors.ts";

export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  let o = 0;
  while (value >= 0x80) {
    out[o++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[o] = value;
  return out;
}

/** `body` prefixed with its varint length, without copying the body. */
export function encodeFrame(body: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeVarint(body.length), body);
}

/**
 * A ProviderFrame{part: Part{index, seq, compression, ciphertext}} framed for the wire, built from the
 * ciphertext chunks without copying them (a protobuf encoder would copy each 1 MiB part once more). The bytes
 * are exactly what the protons encoder produces for the same message.
 */
export function encodePartFrame(
  index: number,
  seq: bigint,
  compression: number,
  ciphertext: Uint8Array[],
): Uint8ArrayList {
  const cipherLength = ciphertext.reduce((n, c) => n + c.length, 0);
  const head: number[] = [];
  const varint = (v: number | bigint) => {
    let x = BigInt(v);
    while (x >= 0x80n) {
      head.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    head.push(Number(x));
  };
  // Part fields; proto3 omits zero values.
  const fields: number[] = [];
  const partHead = () => {
    if (index !== 0) (head.push(0x08), varint(index));
    if (seq !== 0n) (head.push(0x10), varint(seq));
    if (compression !== 0) (head.push(0x18), varint(compression));
    head.push(0x22);
    varint(cipherLength);
  };
  partHead();
  fields.push(...head);
  const partLength = fields.length + cipherLength;
  head.length = 0;
  head.push(0x12); // ProviderFrame.part, field 2, length-delimited
  varint(partLength);
  const envelope = head.slice();
  const bodyLength = envelope.length + partLength;
  return new Uint8ArrayList(encodeVarint(bodyLength), Uint8Array.from([...envelope, ...fields]), ...ciphertext);
}

/** Sends one frame, waiting for the stream to drain when it signals backpressure. */
export async function sendFrame(
  stream: Stream,
  body: Uint8Array | Uint8ArrayList,
  options?: { signal?: AbortSignal },
): Promise<void> {
  const frame = body instanceof Uint8ArrayList ? body : encodeFrame(body);
  if (!stream.send(frame)) await stream.onDrain(options);
}

type Source = AsyncIterable<Uint8Array | Uint8ArrayList>;

export class FrameReader {
  private readonly buffer = new Uint8ArrayList();
  private readonly source: AsyncIterator<Uint8Array | Uint8ArrayList>;
  private ended = false;

  constructor(
    source: Source,
    private readonly maxFrameSize: number,
  ) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** Bytes read but not yet returned as frames. */
  get buffered(): number {
    return this.buffer.byteLength;
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    let r: IteratorResult<Uint8Array | Uint8ArrayList>;
    try {
      r = await this.source.next();
    } catch (err) {
      this.ended = true;
      throw new StreamTruncatedError((err as Error).message ?? String(err));
    }
    if (r.done === true) {
      this.ended = true;
      return false;
    }
    this.buffer.append(r.value);
    return true;
  }

  /** Parses the varint at the head of the buffer: [length, prefixBytes], or undefined if incomplete. */
  private prefix(): [number, number] | undefined {
    let value = 0;
    let scale = 1;
    const available = Math.min(this.buffer.byteLength, MAX_VARINT_LENGTH);
    for (let i = 0; i < available; i++) {
      const byte = this.buffer.get(i);
      value += (byte & 0x7f) * scale;
      if (value > this.maxFrameSize) throw new FrameTooLargeError(value, this.maxFrameSize);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw new MalformedFrameError("non-minimal varint length");
        return [value, i + 1];
      }
      scale *= 128;
    }
    if (available === MAX_VARINT_LENGTH) throw new MalformedFrameError("varint length prefix too long");
    return undefined;
  }

  /** The next frame's body, or undefined when the stream ended cleanly between frames. */
  async next(): Promise<Uint8ArrayList | undefined> {
    let head = this.prefix();
    while (head === undefined) {
      if (!(await this.pull())) {
        if (this.buffer.byteLength === 0) return undefined;
        throw new StreamTruncatedError("stream ended inside a frame's length prefix");
      }
      head = this.prefix();
    }
    const [length, prefixBytes] = head;
    while (this.buffer.byteLength < prefixBytes + length) {
      if (!(await this.pull())) {
        throw new StreamTruncatedError(
          `stream ended after ${this.buffer.byteLength - prefixBytes} of a frame's ${length} bytes`,
        );
      }
    }
    const body = this.buffer.sublist(prefixBytes, prefixBytes + length);
    this.buffer.consume(prefixBytes + length);
    return body;
  }
}

/** A Part frame read without copying its ciphertext: the ciphertext is a list of views into the stream's chunks. */
export interface PartView {
  index: number;
  seq: bigint;
  compression: number;
  ciphertext: Uint8Array[];
  ciphertextLength: number;
}

/**
 * Reads a ProviderFrame body laid out as every encoder of ours and protons lays a Part out — `part` the only
 * field, its `ciphertext` last and running to the end of the body — without copying the ciphertext. Returns
 * undefined for any other layout (an Error frame, fields in another order, unknown fields), which the caller
 * then decodes in full with the protobuf decoder, so both paths accept the same messages.
 */
export function readPartView(body: Uint8ArrayList): PartView | undefined {
  const total = body.byteLength;
  let o = 0;
  const varint = (): number | undefined => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && o < total; i++) {
      const b = body.get(o++);
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return undefined;
  };
  if (total === 0 || body.get(o++) !== 0x12) return undefined;
  const partLength = varint();
  if (partLength === undefined || o + partLength !== total) return undefined;
  let index = 0;
  let seq = 0;
  let compression = 0;
  while (o < total) {
    const tag = body.get(o++);
    const value = varint();
    if (value === undefined) return undefined;
    if (tag === 0x08) index = value;
    else if (tag === 0x10) seq = value;
    else if (tag === 0x18) compression = value;
    else if (tag === 0x22) {
      // ciphertext: must be the last field and end the body
      if (o + value !== total || !Number.isSafeInteger(seq) || index > 0xffffffff) return undefined;
      const ciphertext = [...body.sublist(o, total)];
      return { index, seq: BigInt(seq), compression, ciphertext, ciphertextLength: value };
    } else return undefined;
  }
  return undefined;
}
