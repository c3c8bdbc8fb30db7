/**
 * Transfer frames on the wire framing layer (keeper/wire/framing.ts): reads map its errors to the transfer's
 * own (which decide who is penalised), and the one frame with a layout of its own, the Part, is built and read
 * without copying its ciphertext. Every varint is the wire layer's.
 */
import type { Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";

import {
  decodeVarint,
  encodeVarint,
  frameList,
  MalformedMessageError,
  MessageTooLargeError,
  readFrameList,
  UnexpectedEofError,
} from "../wire/index.ts";
import { FrameTooLargeError, MalformedFrameError, StreamTruncatedError, TransferError } from "./errors.ts";

export { frameList as encodeFrame, sendFrame } from "../wire/framing.ts";

/**
 * The next frame body on `stream` (views into its chunks), or undefined when the stream ended cleanly between
 * frames. A length above `maxSize` is refused from the prefix alone, before any of the body is buffered.
 */
export async function readTransferFrame(
  stream: AsyncIterable<Uint8Array | Uint8ArrayList>,
  maxSize: number,
  options: { signal?: AbortSignal } = {},
): Promise<Uint8ArrayList | undefined> {
  try {
    return await readFrameList(stream, maxSize, options);
  } catch (err) {
    if (err instanceof MessageTooLargeError) throw new FrameTooLargeError(err.size, err.maxSize);
    if (err instanceof MalformedMessageError) throw new MalformedFrameError(err.message);
    if (err instanceof UnexpectedEofError) {
      throw new StreamTruncatedError(`stream ended ${err.receivedBytes} bytes into a frame`);
    }
    if (err instanceof TransferError || options.signal?.aborted === true) throw err;
    throw new StreamTruncatedError((err as Error).message ?? String(err));
  }
}

/** Sends a frame already built with its prefix (encodePartFrame's), honouring backpressure. */
export async function sendBuiltFrame(
  stream: Stream,
  frame: Uint8ArrayList,
  options?: { signal?: AbortSignal },
): Promise<void> {
  options?.signal?.throwIfAborted();
  if (!stream.send(frame)) await stream.onDrain(options);
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
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`sequence ${seq} out of range`);
  const cipherLength = ciphertext.reduce((n, c) => n + c.length, 0);
  // Part fields; proto3 omits zero values. The ciphertext's tag and length end the head.
  const fields = new Uint8ArrayList();
  if (index !== 0) fields.append(Uint8Array.of(0x08), encodeVarint(index));
  if (seq !== 0n) fields.append(Uint8Array.of(0x10), encodeVarint(Number(seq)));
  if (compression !== 0) fields.append(Uint8Array.of(0x18), encodeVarint(compression));
  fields.append(Uint8Array.of(0x22), encodeVarint(cipherLength));
  const partLength = fields.byteLength + cipherLength;
  // ProviderFrame.part: field 2, length-delimited.
  const envelope = new Uint8ArrayList(Uint8Array.of(0x12), encodeVarint(partLength));
  const bodyLength = envelope.byteLength + partLength;
  return new Uint8ArrayList(encodeVarint(bodyLength), envelope.subarray(), fields.subarray(), ...ciphertext);
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
    const v = decodeVarint(body, o);
    if (v === undefined) return undefined;
    o += v.bytes;
    return v.value;
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
