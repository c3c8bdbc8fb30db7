/**
 * The provider side of /lumora/transfer/2.0.0: answers a Hello with its ephemeral key and the manifest,
 * then serves part requests strictly in the order received, each compressed when it pays, sealed under the
 * session key with the next sequence number, and sent with backpressure. Requests are read concurrently but
 * at most MAX_PIPELINED_REQUESTS are queued per session.
 */
import { open, type FileHandle } from "node:fs/promises";

import type { Connection, Stream } from "@libp2p/interface";
import type { Uint8ArrayList } from "uint8arraylist";

import type { Logger } from "../logger.ts";
import { COMPRESSION_CODE, compressPart } from "./compression.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  MAX_CONSUMER_FRAME_SIZE,
  MAX_PIPELINED_REQUESTS,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { deriveTransferKey, generateEphemeralKeyPair, sealPartChunks } from "./crypto.ts";
import { MalformedFrameError, StreamTruncatedError, TransferError } from "./errors.ts";
import { encodePartFrame, FrameReader, sendFrame } from "./framing.ts";
import { partLength, toHex, type Manifest } from "./manifest.ts";
import { Compression, ConsumerFrame, ErrorCode, ProviderFrame } from "./pb/transfer.ts";

/** Test-only fault injection; never set in production. */
export interface TransferTestHooks {
  /** Rewrites a part's plaintext just before compression and encryption (e.g. to flip a bit). */
  tamper?(partIndex: number, bytes: Uint8Array, objectId: string): Uint8Array;
  /** Awaited before each part is served (e.g. to slow a provider down). */
  beforeServe?(objectId: string, partIndex: number): Promise<void> | void;
  /** Called after each part was handed to the stream. */
  onPartServed?(objectId: string, partIndex: number, consumer: string): void;
}

export interface PublishedObject {
  objectId: string;
  idBytes: Uint8Array;
  path: string;
  manifest: Manifest;
  /** One bit per part: set once a part proved incompressible, so it is never tried again. */
  incompressible: Uint8Array;
}

export interface ProviderComponents {
  peerId: string;
  logger: Logger;
  lookup(objectId: string): PublishedObject | undefined;
  testHooks?: TransferTestHooks;
}

export interface ProviderStats {
  sessions: number;
  partsServed: number;
  /** Plaintext bytes of the parts served. */
  bytesServed: number;
  /** Sealed bytes sent for them (after compression). */
  bytesSent: number;
}

function decodeConsumerFrame(body: Uint8Array | Uint8ArrayList): ConsumerFrame {
  try {
    return ConsumerFrame.decode(body);
  } catch (err) {
    throw new MalformedFrameError((err as Error).message);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StreamTruncatedError(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class TransferProvider {
  readonly stats: ProviderStats = { sessions: 0, partsServed: 0, bytesServed: 0, bytesSent: 0 };
  private readonly log: Logger;
  private readonly active = new Set<Stream>();

  constructor(
    private readonly components: ProviderComponents,
    private readonly init: { handshakeTimeoutMs?: number } = {},
  ) {
    this.log = components.logger.child("provider");
  }

  /** Aborts every session in progress (on stop). */
  abortAll(): void {
    for (const s of this.active) s.abort(new Error("provider stopping"));
    this.active.clear();
  }

  async handle(stream: Stream, connection: Connection): Promise<void> {
    const consumer = connection.remotePeer.toString();
    this.active.add(stream);
    this.stats.sessions++;
    let key: Uint8Array | undefined;
    let fh: FileHandle | undefined;
    try {
      const reader = new FrameReader(stream, MAX_CONSUMER_FRAME_SIZE);
      const first = await withTimeout(
        reader.next(),
        this.init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT,
        "hello",
      );
      if (first === undefined) throw new StreamTruncatedError("stream ended before hello");
      const hello = decodeConsumerFrame(first).hello;
      if (hello === undefined) throw new MalformedFrameError("first frame is not a hello");
      if (hello.version !== PROTOCOL_VERSION) {
        await this.refuse(stream, ErrorCode.UNSUPPORTED_VERSION, `version ${PROTOCOL_VERSION} only`);
        return;
      }
      if (hello.objectId.length !== 32) throw new MalformedFrameError("object id is not 32 bytes");
      const object = this.components.lookup(toHex(hello.objectId));
      if (object === undefined) {
        await this.refuse(stream, ErrorCode.NOT_FOUND, "object not published here");
        return;
      }
      const eph = generateEphemeralKeyPair();
      key = deriveTransferKey(eph.privateKey, hello.ephemeralKey, {
        consumer,
        provider: this.components.peerId,
        objectId: object.idBytes,
        consumerEphemeral: hello.ephemeralKey,
        providerEphemeral: eph.publicKey,
      });
      fh = await open(object.path, "r");
      await sendFrame(
        stream,
        ProviderFrame.encode({
          welcome: { ephemeralKey: eph.publicKey as Uint8Array<ArrayBuffer>, manifest: object.manifest },
        }),
      );
      this.log.debug("session opened", { consumer, objectId: object.objectId });
      await this.serve(stream, reader, object, key, fh, consumer);
      await stream.close();
    } catch (err) {
      if (err instanceof TransferError && err.penalise) {
        this.log.warn("consumer misbehaved", { consumer, code: err.code, error: err });
        await this.refuse(stream, ErrorCode.BAD_REQUEST, err.message).catch(() => {});
      } else {
        this.log.debug("session ended early", { consumer, error: err });
      }
      stream.abort(err as Error);
    } finally {
      key?.fill(0);
      await fh?.close();
      this.active.delete(stream);
    }
  }

  private async refuse(stream: Stream, code: ErrorCode, message: string): Promise<void> {
    await sendFrame(stream, ProviderFrame.encode({ error: { code, message } }));
    await stream.close();
  }

  private async serve(
    stream: Stream,
    reader: FrameReader,
    object: PublishedObject,
    key: Uint8Array,
    fh: FileHandle,
    consumer: string,
  ): Promise<void> {
    const parts = object.manifest.partHashes.length;
    const queue: number[] = [];
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };

    const readRequests = (async () => {
      try {
        for (;;) {
          const body = await reader.next();
          if (body === undefined) break;
          const request = decodeConsumerFrame(body).request;
          if (request === undefined) throw new MalformedFrameError("expected a part request");
          if (request.index >= parts) throw new MalformedFrameError(`part ${request.index} of ${parts}`);
          if (queue.length >= MAX_PIPELINED_REQUESTS) {
            throw new MalformedFrameError(`more than ${MAX_PIPELINED_REQUESTS} requests in flight`);
          }
          queue.push(request.index);
          notify();
        }
      } catch (err) {
        failure = err;
      } finally {
        ended = true;
        notify();
      }
    })();

    const hooks = this.components.testHooks;
    let seq = 0n;
    // One read buffer per session: the plaintext is only used synchronously (the ciphertext is a new buffer).
    const readBuffer = Buffer.allocUnsafe(object.manifest.partSize);
    for (;;) {
      if (failure !== undefined) throw failure;
      const index = queue.shift();
      if (index === undefined) {
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      await hooks?.beforeServe?.(object.objectId, index);
      const length = partLength(object.manifest, index);
      const buf = readBuffer.subarray(0, length);
      const { bytesRead } = await fh.read(buf, 0, length, index * object.manifest.partSize);
      if (bytesRead !== length) throw new Error(`published file ${object.path} shrank`);
      const plain = hooks?.tamper?.(index, buf, object.objectId) ?? buf;
      const bit = 1 << (index & 7);
      const skip = (object.incompressible[index >> 3] & bit) !== 0;
      const packed = compressPart(skip ? Compression.NONE : object.manifest.compression, plain);
      if (!skip && packed.compression === Compression.NONE) object.incompressible[index >> 3] |= bit;
      const code = COMPRESSION_CODE[packed.compression];
      const sealed = sealPartChunks(key, seq, object.idBytes, index, code, packed.data);
      await sendFrame(stream, encodePartFrame(index, seq, code, sealed));
      seq++;
      this.stats.partsServed++;
      this.stats.bytesServed += length;
      this.stats.bytesSent += sealed[0].length + sealed[1].length;
      hooks?.onPartServed?.(object.objectId, index, consumer);
    }
    await readRequests;
  }
}
