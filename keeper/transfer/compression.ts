/**
 * Adaptive per-part compression: a part is compressed only when a small sample shows it pays, and sent
 * compressed only when the whole part shrinks enough; incompressible data costs one 16 KiB trial per part.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";

import { COMPRESSION_MAX_RATIO, COMPRESSION_SAMPLE, COMPRESSION_SAMPLE_MAX_RATIO, ZSTD_LEVEL } from "./constants.ts";
import { DecompressionFailedError } from "./errors.ts";
import { Compression } from "./pb/transfer.ts";

const ZSTD_PARAMS = { params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } };

/** Wire code of each codec (the protobuf enum value), used in the AEAD additional data. */
export const COMPRESSION_CODE: Record<Compression, number> = { [Compression.NONE]: 0, [Compression.ZSTD]: 1 };

/** Whether a sample of `data` compresses well enough to be worth compressing the whole. */
export function samplePays(data: Uint8Array): boolean {
  if (data.length === 0) return false;
  const sample = data.subarray(0, COMPRESSION_SAMPLE);
  return zstdCompressSync(sample, ZSTD_PARAMS).length < sample.length * COMPRESSION_SAMPLE_MAX_RATIO;
}

export interface Compressed {
  compression: Compression;
  data: Uint8Array;
}

/** Compresses `data` with `codec` when it pays; otherwise returns it as is with Compression.NONE. */
export function compressPart(codec: Compression, data: Uint8Array, trySample = true): Compressed {
  if (codec !== Compression.ZSTD || (trySample && !samplePays(data))) {
    return { compression: Compression.NONE, data };
  }
  const out = zstdCompressSync(data, ZSTD_PARAMS);
  if (out.length >= data.length * COMPRESSION_MAX_RATIO) return { compression: Compression.NONE, data };
  return { compression: Compression.ZSTD, data: out };
}

/** Decompresses one part, refusing output beyond its declared size (no decompression bombs). */
export function decompressPart(
  compression: Compression,
  data: Uint8Array,
  expected: number,
  index: number,
): Uint8Array {
  if (compression === Compression.NONE) return data;
  let out: Buffer;
  try {
    out = zstdDecompressSync(data, { maxOutputLength: Math.max(expected, 1) });
  } catch {
    throw new DecompressionFailedError(index);
  }
  if (out.length !== expected) throw new DecompressionFailedError(index);
  return out;
}
