/**
 * A deliberately tiny, independent protobuf (proto3) encoder/decoder for the conformance tests. It knows only the
 * three wire types Lumora uses — varint (0), length-delimited (2), 64-bit and 32-bit fixed (1, 5) — and is driven
 * by the field numbers copied from docs/PROTOCOL.md, never by the keeper's generated code.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** Unsigned LEB128 of a non-negative integer (minimal encoding). */
export function uvarint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError("uvarint of a negative value");
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const utf8 = new TextEncoder();

/** One field of a message to encode. `undefined` values and proto3 defaults are still written when given. */
export type Field =
  | { n: number; varint: number | bigint | boolean }
  | { n: number; bytes: Uint8Array | string }
  | { n: number; fixed64: bigint }
  | { n: number; fixed32: number };

export function tag(n: number, wireType: number): Uint8Array {
  return uvarint((n << 3) | wireType);
}

/** Encodes fields in the order given (repeated fields: list the field several times). */
export function encode(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if ("varint" in f) {
      const v = typeof f.varint === "boolean" ? (f.varint ? 1 : 0) : f.varint;
      parts.push(tag(f.n, VARINT), uvarint(v));
    } else if ("bytes" in f) {
      const b = typeof f.bytes === "string" ? utf8.encode(f.bytes) : f.bytes;
      parts.push(tag(f.n, LEN), uvarint(b.length), b);
    } else if ("fixed64" in f) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, f.fixed64, true);
      parts.push(tag(f.n, FIXED64), b);
    } else {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, f.fixed32, true);
      parts.push(tag(f.n, FIXED32), b);
    }
  }
  return concat(...parts);
}

/** A decoded field: varints as bigint, length-delimited as bytes, fixed as bigint. */
export interface DecodedField {
  n: number;
  wireType: number;
  value: bigint | Uint8Array;
}

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    v |= BigInt(buf[i]! & 0x7f) << shift;
    if ((buf[i]! & 0x80) === 0) return [v, i + 1];
    shift += 7n;
  }
  throw new Error("truncated or overlong varint");
}

/** Decodes every field of a message body, in wire order; throws on anything malformed. */
export function decode(buf: Uint8Array): DecodedField[] {
  const out: DecodedField[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    at = next;
    const n = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (n === 0) throw new Error("field number 0");
    if (wireType === VARINT) {
      const [v, after] = readVarint(buf, at);
      out.push({ n, wireType, value: v });
      at = after;
    } else if (wireType === LEN) {
      const [len, after] = readVarint(buf, at);
      const end = after + Number(len);
      if (end > buf.length) throw new Error("length-delimited field runs past the end");
      out.push({ n, wireType, value: buf.subarray(after, end) });
      at = end;
    } else if (wireType === FIXED64 || wireType === FIXED32) {
      const size = wireType === FIXED64 ? 8 : 4;
      if (at + size > buf.length) throw new Error("fixed field runs past the end");
      const view = new DataView(buf.buffer, buf.byteOffset + at, size);
      out.push({ n, wireType, value: size === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true)) });
      at += size;
    } else {
      throw new Error(`unsupported wire type ${wireType}`);
    }
  }
  return out;
}

/** A decoded message as a lookup: the last value of each singular field, all values of repeated ones. */
export class Message {
  constructor(readonly fields: DecodedField[]) {}

  static of(buf: Uint8Array): Message {
    return new Message(decode(buf));
  }

  private last(n: number, wireType: number): DecodedField | undefined {
    const f = this.fields.filter((x) => x.n === n);
    const found = f.at(-1);
    if (found !== undefined && found.wireType !== wireType) {
      throw new Error(`field ${n} has wire type ${found.wireType}, expected ${wireType}`);
    }
    return found;
  }

  /** A varint field (0 when absent, proto3's default). */
  uint(n: number): bigint {
    return (this.last(n, VARINT)?.value as bigint | undefined) ?? 0n;
  }

  bool(n: number): boolean {
    return this.uint(n) !== 0n;
  }

  bytes(n: number): Uint8Array {
    return (this.last(n, LEN)?.value as Uint8Array | undefined) ?? new Uint8Array();
  }

  string(n: number): string {
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes(n));
  }

  /** A nested message field, or undefined when absent. */
  message(n: number): Message | undefined {
    const f = this.last(n, LEN);
    return f === undefined ? undefined : Message.of(f.value as Uint8Array);
  }

  repeatedBytes(n: number): Uint8Array[] {
    return this.fields.filter((x) => x.n === n && x.wireType === LEN).map((x) => x.value as Uint8Array);
  }

  has(n: number): boolean {
    return this.fields.some((x) => x.n === n);
  }
}
