/**
 * Receipts: the consumer's signed statement that it verified the listed parts of an object served by a provider
 * during an epoch, and that the provider sent `bytes` bytes for them (their ciphertext as it crossed the wire,
 * after compression): the credit. `plainBytes`, their plaintext size, is informational. Receipts are the only
 * evidence a provider's contribution counts with.
 * Signed bytes: RECEIPT_DOMAIN ‖ protobuf(ReceiptBody), with the consumer's libp2p private key.
 */
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

import { fromWire, type SignedVoucher } from "../payment/index.ts";
import { RECEIPT_DOMAIN } from "./constants.ts";
import { InvalidInputError } from "./errors.ts";
import { toHex } from "./manifest.ts";
import { ReceiptBody } from "./pb/transfer.ts";

export { ReceiptBody };

export interface SignedReceipt {
  /** protobuf-encoded ReceiptBody, exactly as signed. */
  body: Uint8Array;
  signature: Uint8Array;
}

export interface Receipt {
  objectId: string;
  provider: string;
  consumer: string;
  epoch: bigint;
  /** Bytes carried: what the provider sent for the verified parts. The credit. */
  bytes: bigint;
  /** Plaintext size of the verified parts (never credited). */
  plainBytes: bigint;
  parts: number[];
  issuedAtMs: bigint;
  /**
   * The consumer's highest voucher on the provider's channel when it signed (decoded, its own signature NOT checked:
   * that needs the vault's domain, payment/voucher.ts `verifyVoucher`); undefined when the receipt carries none.
   */
  voucher?: SignedVoucher;
}

const domain = new TextEncoder().encode(RECEIPT_DOMAIN);

function signedBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + body.length);
  out.set(domain, 0);
  out.set(body, domain.length);
  return out;
}

/** Signs a receipt; `plainBytes` may be left out (it is informational, and absent means 0). */
export async function signReceipt(
  privateKey: PrivateKey,
  body: Omit<ReceiptBody, "plainBytes"> & { plainBytes?: bigint },
): Promise<SignedReceipt> {
  const encoded = ReceiptBody.encode(body);
  const signature = await privateKey.sign(signedBytes(encoded));
  return { body: encoded, signature };
}

/** Decodes a receipt and checks its signature against the consumer's key (embedded in its peer id). */
export async function verifyReceipt(receipt: SignedReceipt): Promise<Receipt> {
  let body: ReceiptBody;
  try {
    body = ReceiptBody.decode(receipt.body);
  } catch {
    throw new InvalidInputError("receipt body does not decode");
  }
  let publicKey;
  try {
    publicKey = peerIdFromString(body.consumer).publicKey;
  } catch {
    throw new InvalidInputError("receipt consumer is not a peer id");
  }
  if (publicKey === undefined) throw new InvalidInputError("receipt consumer's peer id does not embed its key");
  if (!(await publicKey.verify(signedBytes(receipt.body), receipt.signature))) {
    throw new InvalidInputError("receipt signature does not verify");
  }
  let voucher: SignedVoucher | undefined;
  try {
    // The voucher is bound to the peer that signed the receipt: shown with another peer's receipt it does not verify.
    voucher = body.voucher === undefined ? undefined : fromWire(body.voucher, body.consumer);
  } catch (err) {
    throw new InvalidInputError(`receipt voucher: ${(err as Error).message}`);
  }
  return {
    objectId: toHex(body.objectId),
    provider: body.provider,
    consumer: body.consumer,
    epoch: body.epoch,
    bytes: body.bytes,
    plainBytes: body.plainBytes,
    parts: body.parts,
    issuedAtMs: body.issuedAtMs,
    ...(voucher !== undefined && { voucher }),
  };
}

/**
 * What a task's receipts prove, as one hash (its TaskLog `evidence`): keccak256 of their ids, ascending, concatenated.
 * Each receipt carries its channel's latest voucher inside its signed body, so the hash covers the vouchers too.
 * Undefined for no receipts.
 */
export function receiptsEvidence(receipts: readonly SignedReceipt[]): string | undefined {
  if (receipts.length === 0) return undefined;
  const ids = receipts.map((r) => receiptId(r.body)).sort();
  return "0x" + bytesToHex(keccak_256(Buffer.concat(ids.map((id) => Buffer.from(id.slice(2), "hex")))));
}

/** A receipt's id everywhere (deduplication, evidence, TaskLog): keccak256 of its signed body, 0x-hex. */
export function receiptId(body: Uint8Array): string {
  return "0x" + bytesToHex(keccak_256(body));
}
