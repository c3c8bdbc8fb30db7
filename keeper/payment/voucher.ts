/**
 * CreditVault vouchers, defined once for the keeper, the tasks, the tests and the simulations: the EIP-712 domain and
 * type of contracts/CreditVault.sol, signing, verification (the consumer's signature recovered off chain exactly as
 * `CreditVault.settle` recovers it) and the wire form carried by the transfer protocol and inside receipts
 * (docs/PROTOCOL.md §7, `Voucher`).
 *
 * A voucher says "`consumer` owes `cumulativeAmount` in total on its channel to `provider`" (the provider's reward
 * account) "for what its peer `consumerPeer` received": the peer (keccak256 of its peer id, `peerHash`) is not sent on
 * the wire — the verifier takes it from the context (the transfer session's remote peer, the receipt's consumer), so a
 * voucher shown with another peer's receipts does not verify. It is cumulative: the highest one of a channel is worth all the lower ones, and settling it pays only the
 * increase over what the channel settled before.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, keccak256, Signature, TypedDataEncoder, verifyTypedData, type TypedDataDomain } from "ethers";

import { GIB, MAX_AMOUNT_BYTES, SIGNATURE_LENGTH, VOUCHER_DOMAIN_NAME, VOUCHER_DOMAIN_VERSION } from "./constants.ts";
import { InvalidVoucherError } from "./errors.ts";

/** EIP-712 type of CreditVault.Voucher (its VOUCHER_TYPEHASH). */
export const VOUCHER_TYPES = {
  Voucher: [
    { name: "consumer", type: "address" },
    { name: "provider", type: "address" },
    { name: "consumerPeer", type: "bytes32" },
    { name: "cumulativeAmount", type: "uint256" },
  ],
} as const satisfies Record<string, Array<{ name: string; type: string }>>;

/** The vault a voucher is signed for: the chain and CreditVault's address. */
export interface VaultDomain {
  chainId: bigint;
  vault: string;
}

export interface Voucher {
  /** The signer, whose deposit pays. */
  consumer: string;
  /** The provider's reward account: the channel. */
  provider: string;
  /** keccak256 of the consumer's peer id (`peerHash`): the peer whose receipts it pays for. 0x-hex, 32 bytes. */
  consumerPeer: string;
  /** Everything owed on the channel, in token base units. */
  cumulativeAmount: bigint;
}

export interface SignedVoucher extends Voucher {
  /** 65-byte signature (r ‖ s ‖ v), 0x-hex. */
  signature: string;
}

/** Anything that signs EIP-712 data as an externally owned account (an ethers Wallet or signer). */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, Array<{ name: string; type: string }>>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The EIP-712 domain of the vault `d` ("Lumora CreditVault", "1", chain id, vault address). */
export function voucherDomain(d: VaultDomain): TypedDataDomain {
  return {
    name: VOUCHER_DOMAIN_NAME,
    version: VOUCHER_DOMAIN_VERSION,
    chainId: d.chainId,
    verifyingContract: getAddress(d.vault),
  };
}

const types = VOUCHER_TYPES as unknown as Record<string, Array<{ name: string; type: string }>>;

/** The digest a consumer signs (CreditVault.hashVoucher). */
export function voucherDigest(d: VaultDomain, v: Voucher): string {
  return TypedDataEncoder.hash(voucherDomain(d), types, plain(v));
}

function plain(v: Voucher): Record<string, unknown> {
  return {
    consumer: getAddress(v.consumer),
    provider: getAddress(v.provider),
    consumerPeer: v.consumerPeer,
    cumulativeAmount: v.cumulativeAmount,
  };
}

/** keccak256 of a libp2p peer id's multihash bytes: the `consumerPeer` of its vouchers. */
export function peerHash(peerId: string): string {
  let bytes: Uint8Array;
  try {
    bytes = peerIdFromString(peerId).toMultihash().bytes;
  } catch {
    throw new InvalidVoucherError(`${peerId} is not a peer id`);
  }
  return keccak256(bytes);
}

/**
 * Signs `cumulativeAmount` owed on the channel to `provider` with `signer` (the consumer), for what the peer
 * `consumerPeerId` received.
 */
export async function signVoucher(
  signer: TypedDataSigner,
  d: VaultDomain,
  provider: string,
  cumulativeAmount: bigint,
  consumerPeerId: string,
): Promise<SignedVoucher> {
  const v: Voucher = {
    consumer: getAddress(await signer.getAddress()),
    provider: getAddress(provider),
    consumerPeer: peerHash(consumerPeerId),
    cumulativeAmount,
  };
  const signature = await signer.signTypedData(voucherDomain(d), types, plain(v));
  return { ...v, signature };
}

/**
 * Checks a voucher the way CreditVault.settle will: non-zero addresses, a positive amount that fits the vault's
 * accounting, a 65-byte signature recovering to its consumer for vault `d`, and (when given) the expected channel.
 * Throws InvalidVoucherError; returns the voucher with checksummed addresses.
 */
export function verifyVoucher(d: VaultDomain, v: SignedVoucher, expectedProvider?: string): SignedVoucher {
  let consumer: string;
  let provider: string;
  try {
    consumer = getAddress(v.consumer);
    provider = getAddress(v.provider);
  } catch {
    throw new InvalidVoucherError("consumer or provider is not an address");
  }
  const zero = "0x0000000000000000000000000000000000000000";
  if (consumer === zero || provider === zero) throw new InvalidVoucherError("zero address");
  if (expectedProvider !== undefined && provider !== getAddress(expectedProvider))
    throw new InvalidVoucherError(`voucher pays channel ${provider}, not ${getAddress(expectedProvider)}`);
  if (!/^0x[0-9a-f]{64}$/.test(v.consumerPeer)) throw new InvalidVoucherError("consumerPeer is not 32 bytes");
  if (v.cumulativeAmount <= 0n || v.cumulativeAmount >= 1n << BigInt(8 * MAX_AMOUNT_BYTES))
    throw new InvalidVoucherError(`cumulative amount ${v.cumulativeAmount} out of range`);
  if (!/^0x[0-9a-fA-F]*$/.test(v.signature) || v.signature.length !== 2 + 2 * SIGNATURE_LENGTH)
    throw new InvalidVoucherError(`signature is not ${SIGNATURE_LENGTH} bytes`);
  let signer: string;
  try {
    // Recovery rejects a high-s signature as the vault's ECDSA library does.
    if (BigInt(Signature.from(v.signature).s) > SECP256K1_HALF_N) throw new Error("high s");
    signer = verifyTypedData(
      voucherDomain(d),
      types,
      { consumer, provider, consumerPeer: v.consumerPeer, cumulativeAmount: v.cumulativeAmount },
      v.signature,
    );
  } catch {
    throw new InvalidVoucherError("signature does not recover");
  }
  if (signer !== consumer) throw new InvalidVoucherError(`signed by ${signer}, not by its consumer ${consumer}`);
  return {
    consumer,
    provider,
    consumerPeer: v.consumerPeer,
    cumulativeAmount: v.cumulativeAmount,
    signature: v.signature.toLowerCase(),
  };
}

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** Token units owed for `bytes` at `weiPerGiB`, rounded up: paying it buys at least `bytes` of credit. */
export function costOf(bytes: bigint, weiPerGiB: bigint): bigint {
  if (bytes <= 0n) return 0n;
  return (bytes * weiPerGiB + GIB - 1n) / GIB;
}

/** Bytes that `amount` token units pay for at `weiPerGiB`, rounded down (the inverse of costOf). */
export function bytesPaidBy(amount: bigint, weiPerGiB: bigint): bigint {
  return amount <= 0n ? 0n : (amount * GIB) / weiPerGiB;
}

// ---- wire form (protobuf `Voucher`: consumer 20 bytes, provider 20 bytes, amount big-endian, signature 65 bytes; the
// consumer's peer is the context's: the session's remote peer, the receipt's consumer) ----

export interface WireVoucher {
  consumer: Uint8Array<ArrayBuffer>;
  provider: Uint8Array<ArrayBuffer>;
  cumulativeAmount: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

const hex = (b: Uint8Array) => "0x" + Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(h.slice(2), "hex"));

/** The wire form of a voucher (the amount big-endian with no leading zero bytes). */
export function toWire(v: SignedVoucher): WireVoucher {
  const amountHex = v.cumulativeAmount.toString(16);
  return {
    consumer: bytes(getAddress(v.consumer)),
    provider: bytes(getAddress(v.provider)),
    cumulativeAmount: bytes("0x" + (amountHex.length % 2 === 1 ? "0" : "") + amountHex),
    signature: bytes(v.signature),
  };
}

/**
 * A voucher from its wire form, as signed for the peer `consumerPeerId` (the one that sent it or signed the receipt
 * carrying it); checks the field lengths only (verifyVoucher checks the rest).
 */
export function fromWire(w: { [K in keyof WireVoucher]: Uint8Array }, consumerPeerId: string): SignedVoucher {
  if (w.consumer.length !== 20 || w.provider.length !== 20) throw new InvalidVoucherError("addresses must be 20 bytes");
  if (w.cumulativeAmount.length === 0 || w.cumulativeAmount.length > MAX_AMOUNT_BYTES || w.cumulativeAmount[0] === 0)
    throw new InvalidVoucherError(`amount must be 1..${MAX_AMOUNT_BYTES} bytes, big-endian, no leading zero`);
  if (w.signature.length !== SIGNATURE_LENGTH)
    throw new InvalidVoucherError(`signature is not ${SIGNATURE_LENGTH} bytes`);
  return {
    consumer: getAddress(hex(w.consumer)),
    provider: getAddress(hex(w.provider)),
    consumerPeer: peerHash(consumerPeerId),
    cumulativeAmount: BigInt(hex(w.cumulativeAmount)),
    signature: hex(w.signature),
  };
}
