/**
 * CPU time per MiB of each stage a transfer cannot skip, measured one at a time on one core with the same
 * calls the transfer module makes, over random (incompressible) parts of the default size. CPU time is the process's user +
 * system time (every thread: the libuv pool's file reads and writes count), so the figures add up to what a
 * side spends per MiB. docs/transfer.md does the arithmetic with them.
 */
import { createHash, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { Wallet } from "ethers";

import { signVoucher, verifyVoucher } from "../../../keeper/payment/voucher.ts";
import { COMPRESSION_CODE, compressPart } from "../../../keeper/transfer/compression.ts";
import { DEFAULT_PART_SIZE as PART, VOUCHER_EVERY_BYTES } from "../../../keeper/transfer/constants.ts";
import { openPart, openPartHashed, sealPart } from "../../../keeper/transfer/crypto.ts";
import { Compression } from "../../../keeper/transfer/pb/transfer.ts";

const MiB = 1024 * 1024;
const REPEATS = 3;

/** CPU milliseconds (user + system, all threads) that `fn` takes, per MiB of `mib`: the least of `REPEATS`
 * runs, since on a shared machine other work only ever adds to a run's time. */
export async function cpuMsPerMib(mib: number, fn: () => unknown): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000 / mib);
  }
  return best;
}

export interface StageFigures {
  /** provider: read a part from the published file (page cache) */
  read: number;
  /** provider: the 16 KiB zstd trial that finds a random part incompressible (paid once per part) */
  compress: number;
  /** provider: AES-256-GCM seal */
  encrypt: number;
  /** consumer: AES-256-GCM open alone */
  decrypt: number;
  /** consumer: one SHA-256 pass alone */
  hash: number;
  /** consumer: open + hash fused in one pass over the stream's chunks (what the consumer runs) */
  decrypt_hash: number;
  /** consumer: vectored write at the part's offset, then one fdatasync at the end */
  write: number;
  /** consumer, paid demand: signing vouchers, one per VOUCHER_EVERY_BYTES (`voucher.per_part`: one per part, before) */
  voucher: number;
  "voucher.per_part": number;
  /** provider, paid demand: checking them (digest + recover), one per voucher received */
  voucher_verify: number;
  "voucher_verify.per_part": number;
}

/** CPU ms to sign, and to verify, one voucher (the least of REPEATS runs of `n` each). */
async function voucherMs(n = 16): Promise<{ sign: number; verify: number }> {
  const wallet = Wallet.createRandom();
  const domain = { chainId: 31337n, vault: Wallet.createRandom().address };
  const provider = Wallet.createRandom().address;
  const peer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
  const signed = await Promise.all(
    Array.from({ length: n }, (_, i) => signVoucher(wallet, domain, provider, BigInt(i + 1), peer)),
  );
  const sign = await cpuMsPerMib(n, async () => {
    for (let i = 0; i < n; i++) await signVoucher(wallet, domain, provider, BigInt(i + 1), peer);
  });
  const verify = await cpuMsPerMib(n, () => signed.forEach((v) => verifyVoucher(domain, v, provider)));
  return { sign, verify };
}

/** Measures every stage over `mib` MiB of random parts, using `dir` for the file stages. */
export async function measureStages(dir: string, mib = 64): Promise<StageFigures> {
  const n = (mib * MiB) / PART;
  const parts = Array.from({ length: n }, () => randomBytes(PART));
  const key = randomBytes(32);
  const id = randomBytes(32);
  const none = COMPRESSION_CODE[Compression.NONE];
  // The stream hands the consumer ≈ 64 KiB chunks (noise messages); the fused open runs over those.
  const sealed = parts.map((p, i) => sealPart(key, BigInt(i), id, i, none, p));
  const chunked = sealed.map(([body, tag]) => {
    const all = Buffer.concat([body, tag]);
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < all.length; o += 65_519) chunks.push(all.subarray(o, o + 65_519));
    return chunks;
  });
  const plainChunks = parts.map((p) =>
    Array.from({ length: PART / 65536 }, (_, k) => p.subarray(k * 65536, (k + 1) * 65536)),
  );
  const joined = sealed.map(([body, tag]) => Buffer.concat([body, tag]));

  const path = join(dir, "stages.bin");
  const fh = await open(path, "w+");
  try {
    for (const [i, p] of parts.entries()) await fh.write(p, 0, p.length, i * PART);
    await fh.datasync();
    const buf = Buffer.allocUnsafe(PART);
    const read = await cpuMsPerMib(mib, async () => {
      for (let i = 0; i < n; i++) await fh.read(buf, 0, PART, i * PART);
    });
    const compress = await cpuMsPerMib(mib, () => parts.forEach((p) => compressPart(Compression.ZSTD, p)));
    const encrypt = await cpuMsPerMib(mib, () => parts.forEach((p, i) => sealPart(key, BigInt(i), id, i, none, p)));
    const decrypt = await cpuMsPerMib(mib, () => joined.forEach((s, i) => openPart(key, BigInt(i), id, i, none, s)));
    const hash = await cpuMsPerMib(mib, () => parts.forEach((p) => createHash("sha256").update(p).digest()));
    const decrypt_hash = await cpuMsPerMib(mib, () =>
      chunked.forEach((c, i) => openPartHashed(key, BigInt(i), id, i, none, c, PART + 16)),
    );
    const out = await open(join(dir, "stages-out.bin"), "w");
    const write = await cpuMsPerMib(mib, async () => {
      for (let i = 0; i < n; i++) await out.writev(plainChunks[i], i * PART);
      await out.datasync();
    });
    await out.close();
    const v = await voucherMs();
    return {
      read,
      compress,
      encrypt,
      decrypt,
      hash,
      decrypt_hash,
      write,
      voucher: (v.sign * MiB) / VOUCHER_EVERY_BYTES,
      "voucher.per_part": (v.sign * MiB) / PART,
      voucher_verify: (v.verify * MiB) / VOUCHER_EVERY_BYTES,
      "voucher_verify.per_part": (v.verify * MiB) / PART,
    };
  } finally {
    await fh.close();
  }
}
