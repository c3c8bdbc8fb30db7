/**
 * Per-transfer encryption: an ephemeral X25519 exchange, HKDF-SHA-256 bound to both peer ids and the object,
 * and AES-256-GCM per part with a nonce built from the provider's per-session frame counter. Every session
 * draws fresh ephemeral keys on both sides, so a key is never reused across sessions; within a session the
 * counter never repeats, so no (key, nonce) pair is ever used twice. Keys live only in memory.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from "node:crypto";

import { KEY_INFO, TAG_LENGTH } from "./constants.ts";
import { AuthenticationFailedError, MalformedFrameError } from "./errors.ts";

const X25519_KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
/** Raw X25519 public key = the last 32 bytes of its SPKI DER encoding. */
const SPKI_X25519_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export interface EphemeralKeyPair {
  /** Raw 32-byte public key, sent on the wire. */
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

export function generateEphemeralKeyPair(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const der = publicKey.export({ format: "der", type: "spki" });
  return { publicKey: new Uint8Array(der.subarray(der.length - X25519_KEY_LENGTH)), privateKey };
}

/** The session key. `consumer`/`provider` are the peer ids as strings; order is fixed by role. */
export interface KeyContext {
  consumer: string;
  provider: string;
  objectId: Uint8Array;
  consumerEphemeral: Uint8Array;
  providerEphemeral: Uint8Array;
}

function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.length);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

export function deriveTransferKey(ownPrivate: KeyObject, remotePublic: Uint8Array, ctx: KeyContext): Uint8Array {
  if (remotePublic.length !== X25519_KEY_LENGTH) {
    throw new MalformedFrameError(`ephemeral key must be ${X25519_KEY_LENGTH} bytes, got ${remotePublic.length}`);
  }
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519_PREFIX, remotePublic]),
    format: "der",
    type: "spki",
  });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: ownPrivate, publicKey });
  } catch {
    // OpenSSL refuses low-order points (an all-zero shared secret).
    throw new MalformedFrameError("ephemeral key is a low-order point");
  }
  const enc = new TextEncoder();
  const salt = Buffer.concat([ctx.consumerEphemeral, ctx.providerEphemeral]);
  const info = lengthPrefixed([enc.encode(KEY_INFO), enc.encode(ctx.consumer), enc.encode(ctx.provider), ctx.objectId]);
  const key = new Uint8Array(hkdfSync("sha256", shared, salt, info, 32));
  shared.fill(0);
  return key;
}

/** 12-byte GCM nonce: 4 zero bytes then the frame sequence number, big-endian. */
export function partNonce(seq: bigint): Buffer {
  const nonce = Buffer.alloc(NONCE_LENGTH);
  nonce.writeBigUInt64BE(seq, 4);
  return nonce;
}

/** Additional data: object id ‖ part index (u32 BE) ‖ compression code (u8). */
export function partAad(objectId: Uint8Array, index: number, compression: number): Buffer {
  const aad = Buffer.alloc(objectId.length + 5);
  aad.set(objectId, 0);
  aad.writeUInt32BE(index, objectId.length);
  aad.writeUInt8(compression, objectId.length + 4);
  return aad;
}

/**
 * Encrypts one part; returns [ciphertext, 16-byte tag] without joining them: the provider frames the two as
 * they are (encodePartFrame), and a caller that wants ciphertext ‖ tag in one buffer concatenates them.
 */
export function sealPart(
  key: Uint8Array,
  seq: bigint,
  objectId: Uint8Array,
  index: number,
  compression: number,
  data: Uint8Array,
): [Uint8Array, Uint8Array] {
  const cipher = createCipheriv("aes-256-gcm", key, partNonce(seq), { authTagLength: TAG_LENGTH });
  cipher.setAAD(partAad(objectId, index, compression));
  const body = cipher.update(data);
  const final = cipher.final();
  return [final.length === 0 ? body : Buffer.concat([body, final]), cipher.getAuthTag()];
}

/** Authenticates and decrypts one part; throws AuthenticationFailedError on any mismatch. */
export function openPart(
  key: Uint8Array,
  seq: bigint,
  objectId: Uint8Array,
  index: number,
  compression: number,
  sealed: Uint8Array,
): Buffer {
  if (sealed.length < TAG_LENGTH) throw new AuthenticationFailedError(index);
  const decipher = createDecipheriv("aes-256-gcm", key, partNonce(seq), { authTagLength: TAG_LENGTH });
  decipher.setAAD(partAad(objectId, index, compression));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  try {
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    const final = decipher.final();
    return final.length === 0 ? body : Buffer.concat([body, final]);
  } catch {
    throw new AuthenticationFailedError(index);
  }
}

/**
 * Authenticates, decrypts and hashes one uncompressed part in a single pass over its ciphertext chunks, as
 * they came off the stream (no joining copy): each chunk is decrypted and its plaintext hashed while still in
 * cache. Returns the plaintext chunks and their SHA-256; nothing is returned unless the GCM tag verifies
 * (AuthenticationFailedError). The caller compares the digest with the manifest.
 */
export function openPartHashed(
  key: Uint8Array,
  seq: bigint,
  objectId: Uint8Array,
  index: number,
  compression: number,
  sealed: readonly Uint8Array[],
  sealedLength: number,
): { plain: Buffer[]; digest: Buffer } {
  if (sealedLength < TAG_LENGTH) throw new AuthenticationFailedError(index);
  const decipher = createDecipheriv("aes-256-gcm", key, partNonce(seq), { authTagLength: TAG_LENGTH });
  decipher.setAAD(partAad(objectId, index, compression));
  const tag = Buffer.allocUnsafe(TAG_LENGTH);
  const hash = createHash("sha256");
  const plain: Buffer[] = [];
  const bodyLength = sealedLength - TAG_LENGTH;
  let offset = 0;
  try {
    for (const chunk of sealed) {
      const end = offset + chunk.length;
      const body = end <= bodyLength ? chunk : chunk.subarray(0, Math.max(0, bodyLength - offset));
      if (end > bodyLength) tag.set(chunk.subarray(body.length), Math.max(0, offset - bodyLength));
      if (body.length > 0) {
        const out = decipher.update(body);
        hash.update(out);
        plain.push(out);
      }
      offset = end;
    }
    decipher.setAuthTag(tag);
    const final = decipher.final();
    if (final.length > 0) {
      hash.update(final);
      plain.push(final);
    }
  } catch {
    throw new AuthenticationFailedError(index);
  }
  return { plain, digest: hash.digest() };
}
