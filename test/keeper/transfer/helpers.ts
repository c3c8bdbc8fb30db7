import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey, Stream } from "@libp2p/interface";

import { createLogger } from "../../../keeper/logger.ts";
import { createLumoraNode, type LumoraNode } from "../../../keeper/p2p/node.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import { PROTOCOL } from "../../../keeper/transfer/constants.ts";
import { deriveTransferKey, generateEphemeralKeyPair, sealPart } from "../../../keeper/transfer/crypto.ts";
import { readTransferFrame, sendFrame } from "../../../keeper/transfer/framing.ts";
import {
  transferService,
  type ProviderFailureReporter,
  type TransferComponents,
  type TransferInit,
  type TransferService,
  type TransferTestHooks,
} from "../../../keeper/transfer/index.ts";
import { Compression, ConsumerFrame, ProviderFrame, type Manifest } from "../../../keeper/transfer/pb/transfer.ts";

export interface Peer {
  node: LumoraNode;
  store: Store;
  transfer: TransferService;
  privateKey: PrivateKey;
  addr: string;
  id: string;
}

export interface PeerOptions {
  init?: TransferInit;
  testHooks?: TransferTestHooks;
  onProviderFailure?: ProviderFailureReporter;
  storePath?: string;
  /** Paid demand: what the peer pays with as a consumer and asks as a provider (keeper/payment). */
  payment?: (store: Store, peerId: string) => NonNullable<TransferComponents["payment"]>;
}

/** A harness: loopback peers, temp files, all torn down by `cleanup()` (call it in afterEach). */
export class Harness {
  readonly peers: Peer[] = [];
  private dirs: string[] = [];

  async dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), "lumora-transfer-test-"));
    this.dirs.push(d);
    return d;
  }

  async file(data: Uint8Array, name = "object.bin"): Promise<string> {
    const path = join(await this.dir(), name);
    await writeFile(path, data);
    return path;
  }

  async peer(options: PeerOptions = {}): Promise<Peer> {
    const privateKey = await generateKeyPair("Ed25519");
    const node = await createLumoraNode({ privateKey });
    const store = openStore(options.storePath ?? ":memory:");
    const transfer = transferService(options.init)({
      node,
      privateKey,
      store,
      logger: createLogger("test", { level: "silent" }),
      testHooks: options.testHooks,
      onProviderFailure: options.onProviderFailure,
      ...(options.payment !== undefined && { payment: options.payment(store, node.peerId.toString()) }),
    });
    await transfer.start();
    const peer = {
      node,
      store,
      transfer,
      privateKey,
      addr: node.getMultiaddrs()[0].toString(),
      id: node.peerId.toString(),
    };
    this.peers.push(peer);
    return peer;
  }

  async stopPeer(peer: Peer): Promise<void> {
    const i = this.peers.indexOf(peer);
    if (i >= 0) this.peers.splice(i, 1);
    await peer.transfer.stop();
    await peer.node.stop();
    peer.store.close();
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((p) => this.stopPeer(p)));
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** Text-like data that zstd compresses ≈ 3:1. */
export function compressibleData(size: number): Buffer {
  const words = ["provider", "consumer", "epoch", "lumora", '{"bytes":', "shard", "receipt", "\n"];
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  let x = 12345;
  while (o < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const w = words[x % words.length] + " " + (x % 997) + " ";
    o += out.write(w, o);
  }
  return out;
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

/**
 * The object id of `data` published in parts of `partSize`, computed here from the spec (docs/PROTOCOL.md §7)
 * rather than by the module under test: SHA-256("lumora/object/2" ‖ u64_be(size) ‖ u32_be(part size) ‖ the
 * SHA-256 of each part).
 */
export function expectedObjectId(data: Uint8Array, partSize: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64BE(BigInt(data.length), 0);
  head.writeUInt32BE(partSize, 8);
  const root = createHash("sha256").update("lumora/object/2").update(head);
  for (let o = 0; o < data.length; o += partSize) {
    root.update(
      createHash("sha256")
        .update(data.subarray(o, o + partSize))
        .digest(),
    );
  }
  return root.digest();
}

export interface RogueSession {
  stream: Stream;
  /** Next requested part index. */
  request(): Promise<number>;
  /** A Part frame body for `index`, sealed with sequence `seq` (default: the next one) and `key`. */
  part(index: number, seq?: bigint, key?: Uint8Array): Uint8Array;
  key: Uint8Array;
}

/** A provider speaking the protocol by hand, so a test can misbehave in one precise way. */
export async function rogueProvider(
  node: LumoraNode,
  data: Buffer,
  manifest: Manifest,
  behave: (s: RogueSession) => Promise<void>,
  options: { keyProvider?: string; delayWelcomeMs?: number } = {},
): Promise<void> {
  await node.handle(PROTOCOL, async (stream, connection) => {
    const next = () => readTransferFrame(stream, 1024);
    const hello = ConsumerFrame.decode((await next())!).hello!;
    const eph = generateEphemeralKeyPair();
    const key = deriveTransferKey(eph.privateKey, hello.ephemeralKey, {
      consumer: connection.remotePeer.toString(),
      provider: options.keyProvider ?? node.peerId.toString(),
      objectId: manifest.objectId,
      consumerEphemeral: hello.ephemeralKey,
      providerEphemeral: eph.publicKey,
    });
    if (options.delayWelcomeMs !== undefined) await new Promise((r) => setTimeout(r, options.delayWelcomeMs));
    await sendFrame(
      stream,
      ProviderFrame.encode({
        welcome: {
          ephemeralKey: eph.publicKey as Uint8Array<ArrayBuffer>,
          manifest,
          paymentAccount: new Uint8Array(0),
          unpaidAllowance: 0n,
        },
      }),
    );
    let nextSeq = 0n;
    const session: RogueSession = {
      stream,
      key,
      request: async () => ConsumerFrame.decode((await next())!).request!.index,
      part: (index, seq, k) => {
        const s = seq ?? nextSeq++;
        const plain = data.subarray(index * manifest.partSize, (index + 1) * manifest.partSize);
        const ciphertext = Buffer.concat(sealPart(k ?? key, s, manifest.objectId, index, 0, plain));
        return ProviderFrame.encode({
          part: { index, seq: s, compression: Compression.NONE, ciphertext: ciphertext as Uint8Array<ArrayBuffer> },
        });
      },
    };
    try {
      await behave(session);
    } catch {
      // the consumer hung up on us: expected
    }
  });
}
