/**
 * Manifests: built once per published object by hashing the file part by part (one pass), validated field
 * by field when received from a provider. The object id is the root of the part hashes (docs/PROTOCOL.md §7,
 * "Identifiers"):
 *
 *   object_id = SHA-256( "lumora/object/2" ‖ u64_be(size) ‖ u32_be(part_size) ‖ part_hash_0 ‖ … ‖ part_hash_n−1 )
 *
 * so a manifest is checked against the id before any part is requested, and every byte is then hashed once:
 * by its part's check. In the API ids are lowercase hex, on the wire 32 raw bytes, in the DHT a CIDv1 (raw
 * codec, sha2-256 multihash whose digest is the id).
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "./constants.ts";
import { samplePays } from "./compression.ts";
import { InvalidInputError, InvalidManifestError } from "./errors.ts";
import { Compression, Manifest } from "./pb/transfer.ts";

export { Manifest };

const SHA256_LENGTH = 32;
/** Domain separator in front of the object id's preimage: an id is never the plain SHA-256 of some bytes. */
const OBJECT_ID_DOMAIN = new TextEncoder().encode("lumora/object/2");
const RAW_CODEC = 0x55;
const SHA2_256_CODE = 0x12;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function objectIdFromHex(objectId: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(objectId)) throw new InvalidInputError(`object id must be 64 lowercase hex digits`);
  return new Uint8Array(Buffer.from(objectId, "hex"));
}

/** The CID a published object is announced under in the DHT. */
export function objectCid(objectId: Uint8Array): CID {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256_CODE, objectId));
}

export function partCount(size: number, partSize: number): number {
  return Math.ceil(size / partSize);
}

/** Plaintext length of part `index`. */
export function partLength(manifest: Manifest, index: number): number {
  const size = Number(manifest.size);
  return Math.min(manifest.partSize, size - index * manifest.partSize);
}

/** The object id committed to by (size, part size, part hashes). */
export function objectIdOf(size: bigint, partSize: number, partHashes: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const head = Buffer.alloc(12);
  head.writeBigUInt64BE(size, 0);
  head.writeUInt32BE(partSize, 8);
  const h = createHash("sha256").update(OBJECT_ID_DOMAIN).update(head);
  for (const p of partHashes) h.update(p);
  return new Uint8Array(h.digest());
}

export function checkPartSize(partSize: number): void {
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new InvalidInputError(`part size must be an integer in [${MIN_PART_SIZE}, ${MAX_PART_SIZE}]`);
  }
}

export interface BuildManifestOptions {
  partSize?: number;
  /** Force a codec; by default ZSTD when any part's sample compresses, else NONE. */
  compression?: Compression;
  signal?: AbortSignal;
}

/** The part size an object of `size` bytes is published with when none is given: DEFAULT_PART_SIZE, doubled
 * while the object would have more than MAX_PARTS parts (up to MAX_PART_SIZE, beyond which publish refuses it). */
export function defaultPartSize(size: number): number {
  let partSize = DEFAULT_PART_SIZE;
  while (partSize < MAX_PART_SIZE && partCount(size, partSize) > MAX_PARTS) partSize *= 2;
  return partSize;
}

/** Hashes `path` part by part (one part in memory at a time) into a manifest. */
export async function buildManifest(path: string, options: BuildManifestOptions = {}): Promise<Manifest> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const partSize = options.partSize ?? defaultPartSize(size);
    checkPartSize(partSize);
    const parts = partCount(size, partSize);
    if (parts > MAX_PARTS) {
      throw new InvalidInputError(`${size} bytes make ${parts} parts of ${partSize}; the maximum is ${MAX_PARTS}`);
    }
    const partHashes: Uint8Array<ArrayBuffer>[] = [];
    let compressible = false;
    const buf = Buffer.allocUnsafe(partSize);
    for (let i = 0; i < parts; i++) {
      options.signal?.throwIfAborted();
      const length = Math.min(partSize, size - i * partSize);
      const { bytesRead } = await fh.read(buf, 0, length, i * partSize);
      if (bytesRead !== length) throw new InvalidInputError(`${path} changed while it was being published`);
      const part = buf.subarray(0, length);
      partHashes.push(new Uint8Array(createHash("sha256").update(part).digest()));
      if (!compressible && options.compression === undefined) compressible = samplePays(part);
    }
    return {
      objectId: objectIdOf(BigInt(size), partSize, partHashes),
      size: BigInt(size),
      partSize,
      partHashes,
      compression: options.compression ?? (compressible ? Compression.ZSTD : Compression.NONE),
    };
  } finally {
    await fh.close();
  }
}

/** Checks every field of a manifest received for `objectId`; throws InvalidManifestError. */
export function validateManifest(manifest: Manifest | undefined, objectId: Uint8Array): Manifest {
  if (manifest === undefined) throw new InvalidManifestError("missing");
  if (manifest.objectId.length !== SHA256_LENGTH || !Buffer.from(manifest.objectId).equals(objectId)) {
    throw new InvalidManifestError("object id differs from the one requested");
  }
  const { partSize } = manifest;
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new InvalidManifestError(`part size ${partSize} outside [${MIN_PART_SIZE}, ${MAX_PART_SIZE}]`);
  }
  if (manifest.size > BigInt(MAX_PARTS) * BigInt(partSize)) {
    throw new InvalidManifestError(`size ${manifest.size} exceeds ${MAX_PARTS} parts`);
  }
  const parts = partCount(Number(manifest.size), partSize);
  if (manifest.partHashes.length !== parts) {
    throw new InvalidManifestError(`${manifest.partHashes.length} part hashes for ${parts} parts`);
  }
  for (const h of manifest.partHashes) {
    if (h.length !== SHA256_LENGTH) throw new InvalidManifestError("part hash is not 32 bytes");
  }
  if (manifest.compression !== Compression.NONE && manifest.compression !== Compression.ZSTD) {
    throw new InvalidManifestError(`unknown compression ${String(manifest.compression)}`);
  }
  // The whole-object check: with this, a part that matches its hash is the object's part at that index.
  if (!Buffer.from(objectIdOf(manifest.size, partSize, manifest.partHashes)).equals(objectId)) {
    throw new InvalidManifestError("part hashes do not hash to the object id");
  }
  return manifest;
}
