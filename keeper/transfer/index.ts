/**
 * The transfer service: publishes files (manifest + DHT announcement) and serves their parts over
 * /lumora/transfer/2.0.0; fetches objects by id from providers chosen by routing, to a file (resumable) or
 * as a stream; records per-(object, provider) verified bytes and signs receipts for them.
 *
 * Composition: `transferService(init)(components)`, then `start()`/`stop()`.
 */
import { resolve } from "node:path";

import type { Connection, PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import type { CID } from "multiformats/cid";

import type { Logger } from "../logger.ts";
import type { LedgerTerms, PaymentStore, VoucherPayer } from "../payment/index.ts";
import type { Store } from "../store/index.ts";
import { DEFAULT_PROVIDE_TIMEOUT, PROTOCOL } from "./constants.ts";
import { ObjectNotFoundError } from "./errors.ts";
import {
  ObjectFetch,
  type FetchInit,
  type FetchOptions,
  type FetchResult,
  type ProviderFailureReporter,
  type ProviderTarget,
} from "./fetcher.ts";
import { buildManifest, objectCid, objectIdFromHex, type BuildManifestOptions } from "./manifest.ts";
import { Manifest } from "./pb/transfer.ts";
import { probeProviders, type ProbeResult } from "./probe.ts";
import { TransferProvider, type ProviderStats, type TransferTestHooks } from "./provider.ts";
import { PublishedObjects } from "./published.ts";
import { verifyReceipt, type Receipt, type SignedReceipt } from "./receipt.ts";
import { TransferStore, type Contribution } from "./store.ts";

export { PROTOCOL } from "./constants.ts";
export * from "./errors.ts";
export type { FetchResult, ProviderFailureReporter, ProviderTarget, ProviderFailureDetail } from "./fetcher.ts";
export type { TransferTestHooks, ProviderStats } from "./provider.ts";
export type { ProbeResult } from "./probe.ts";
export { receiptsEvidence, signReceipt, verifyReceipt, type Receipt, type SignedReceipt } from "./receipt.ts";
export type { Contribution } from "./store.ts";
export { objectCid, buildManifest } from "./manifest.ts";

/** The slice of the libp2p node the transfer service uses. */
export interface TransferNode {
  peerId: PeerId;
  handle(
    protocol: string,
    handler: TransferProvider["handle"],
    options?: { maxInboundStreams?: number },
  ): Promise<void>;
  unhandle(protocol: string): Promise<void>;
  dial(target: PeerId | Multiaddr | Multiaddr[], options?: { signal?: AbortSignal }): Promise<Connection>;
  contentRouting: { provide(cid: CID, options?: { signal?: AbortSignal }): Promise<void> };
}

export interface TransferComponents {
  node: TransferNode;
  /** The node's libp2p private key: signs receipts as the consumer. */
  privateKey: PrivateKey;
  store: Store;
  logger: Logger;
  /** Health's hook: called once per provider dropped from a fetch (penalise = provably misbehaved). */
  onProviderFailure?: ProviderFailureReporter;
  /** The current epoch, stamped into receipts (epochs module); 0 when absent. */
  currentEpoch?(): bigint;
  /**
   * Paid demand (docs/transfer.md, "Paying as data arrives"): `payer` pays providers that take vouchers as parts
   * arrive; `terms` make this node's provider ask for them, keep them in `store`, and cut off consumers that stop
   * paying. Absent: nothing is paid or asked.
   */
  payment?: { payer?: VoucherPayer; terms?: LedgerTerms; store: PaymentStore };
  /** Fault injection for tests only. */
  testHooks?: TransferTestHooks;
}

export interface TransferInit extends FetchInit {
  /** Default part size for publish (bytes). */
  partSize?: number;
  /** Inbound sessions served at once, over all connections (DEFAULT_MAX_INBOUND_SESSIONS). */
  maxInboundSessions?: number;
  /** Inbound sessions served at once per connection (DEFAULT_MAX_SESSIONS_PER_CONNECTION). */
  maxSessionsPerConnection?: number;
  /** Longest wait for a consumer to read one frame, ms (DEFAULT_WRITE_TIMEOUT). */
  writeTimeoutMs?: number;
  /** Longest wait for a consumer's next part request, ms (DEFAULT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  provideTimeoutMs?: number;
}

export interface PublishOptions extends Omit<BuildManifestOptions, "signal"> {
  /** Announce in the DHT (default true). */
  announce?: boolean;
  signal?: AbortSignal;
}

export interface PublishResult {
  objectId: string;
  cid: CID;
  size: number;
  parts: number;
  manifest: Manifest;
  announced: boolean;
}

function toDialTarget(target: ProviderTarget): PeerId | Multiaddr {
  if (typeof target !== "string") return target as PeerId | Multiaddr;
  return target.startsWith("/") ? multiaddr(target) : peerIdFromString(target);
}

export class TransferService {
  private readonly log: Logger;
  private readonly store: TransferStore;
  private readonly published: PublishedObjects;
  private readonly provider: TransferProvider;
  private readonly fetches = new Set<AbortController>();
  private started = false;

  constructor(
    private readonly components: TransferComponents,
    private readonly init: TransferInit = {},
  ) {
    this.log = components.logger.child("transfer");
    this.store = new TransferStore(components.store);
    this.published = new PublishedObjects(this.store);
    this.provider = new TransferProvider(
      {
        peerId: components.node.peerId.toString(),
        logger: this.log,
        lookup: (id) => this.published.get(id),
        testHooks: components.testHooks,
        ...(components.payment?.terms !== undefined && {
          payment: { terms: components.payment.terms, store: components.payment.store },
        }),
      },
      {
        handshakeTimeoutMs: init.handshakeTimeoutMs,
        maxSessions: init.maxInboundSessions,
        maxSessionsPerConnection: init.maxSessionsPerConnection,
        writeTimeoutMs: init.writeTimeoutMs,
        idleTimeoutMs: init.idleTimeoutMs,
      },
    );
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.components.node.handle(PROTOCOL, (stream, connection) => this.provider.handle(stream, connection), {
      maxInboundStreams: this.provider.streamLimitPerConnection,
    });
    this.started = true;
    this.log.info("transfer started", { published: this.published.size });
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const c of this.fetches) c.abort(new Error("transfer service stopping"));
    await this.components.node.unhandle(PROTOCOL).catch(() => {});
    this.provider.abortAll();
  }

  /** What this node served as a provider since start. */
  get providerStats(): ProviderStats {
    return this.provider.stats;
  }

  /** Hashes `path` into a manifest, serves it from now on and announces it in the DHT. */
  async publish(path: string, options: PublishOptions = {}): Promise<PublishResult> {
    const absolute = resolve(path);
    const manifest = await buildManifest(absolute, {
      partSize: options.partSize ?? this.init.partSize,
      compression: options.compression,
      signal: options.signal,
    });
    const { objectId } = this.published.add(absolute, manifest);
    const cid = objectCid(manifest.objectId);
    let announced = false;
    if (options.announce !== false) {
      const signal = AbortSignal.any([
        AbortSignal.timeout(this.init.provideTimeoutMs ?? DEFAULT_PROVIDE_TIMEOUT),
        ...(options.signal !== undefined ? [options.signal] : []),
      ]);
      try {
        await this.components.node.contentRouting.provide(cid, { signal });
        announced = true;
      } catch (err) {
        this.log.warn("announcing in the DHT failed; serving anyway", { objectId, error: err });
      }
    }
    this.log.info("published", { objectId, size: Number(manifest.size), parts: manifest.partHashes.length, announced });
    return { objectId, cid, size: Number(manifest.size), parts: manifest.partHashes.length, manifest, announced };
  }

  /** The size of `objectId` when this node serves it (it holds a verified copy), else undefined. */
  held(objectId: string): number | undefined {
    const o = this.published.get(objectId);
    return o === undefined ? undefined : Number(o.manifest.size);
  }

  /**
   * For an object held here: proves that one of `providers` is alive and serves it, by fetching one part and
   * comparing it with our copy (probe.ts). Throws ObjectNotFoundError when the object is not held here and
   * NoProvidersError when no provider passes.
   */
  async probe(
    objectId: string,
    options: { providers: readonly ProviderTarget[]; signal?: AbortSignal },
  ): Promise<ProbeResult> {
    const held = this.published.get(objectId);
    if (held === undefined) throw new ObjectNotFoundError(objectId);
    const node = this.components.node;
    return probeProviders(
      {
        self: node.peerId.toString(),
        logger: this.log,
        connect: (target, opts) => node.dial(toDialTarget(target), opts),
      },
      objectId,
      {
        providers: options.providers,
        localPath: held.path,
        handshakeTimeoutMs: this.init.handshakeTimeoutMs,
        partTimeoutMs: this.init.partTimeoutMs,
        signal: options.signal,
      },
    );
  }

  unpublish(objectId: string): void {
    if (!this.published.remove(objectId)) throw new ObjectNotFoundError(objectId);
  }

  private newFetch(objectId: string, options: FetchOptions, dest: string | undefined): [ObjectFetch, AbortController] {
    objectIdFromHex(objectId);
    const controller = new AbortController();
    const signal =
      options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
    const node = this.components.node;
    const fetch = new ObjectFetch(
      {
        self: node.peerId.toString(),
        privateKey: this.components.privateKey,
        logger: this.log,
        store: this.store,
        connect: (target, opts) => node.dial(toDialTarget(target), opts),
        onProviderFailure: this.components.onProviderFailure,
        currentEpoch: this.components.currentEpoch,
        payer: this.components.payment?.payer,
      },
      this.init,
      objectId,
      { ...options, signal },
      dest,
    );
    return [fetch, controller];
  }

  /** Fetches `objectId` into the file `to`, resuming a previous interrupted fetch into the same file. */
  async fetch(objectId: string, options: FetchOptions & { to: string }): Promise<FetchResult> {
    const [fetch, controller] = this.newFetch(objectId, options, resolve(options.to));
    this.fetches.add(controller);
    try {
      return await fetch.toFile();
    } finally {
      this.fetches.delete(controller);
    }
  }

  /** Fetches `objectId` as an in-order stream of verified chunks; throws from the iteration on failure. */
  fetchStream(objectId: string, options: FetchOptions): AsyncIterable<Uint8Array> {
    const [fetch, controller] = this.newFetch(objectId, options, undefined);
    const fetches = this.fetches;
    return {
      async *[Symbol.asyncIterator]() {
        fetches.add(controller);
        try {
          yield* fetch.ordered();
        } finally {
          fetches.delete(controller);
        }
      },
    };
  }

  /** Verified bytes per (object, provider): a provider's contribution. */
  contributions(objectId?: string): Contribution[] {
    return this.store.contributions(objectId);
  }

  /** Receipts this node signed as a consumer. */
  receipts(filter: { objectId?: string; epoch?: bigint } = {}): SignedReceipt[] {
    return this.store.receipts(filter).map((r) => ({ body: r.body, signature: r.signature }));
  }

  verifyReceipt(receipt: SignedReceipt): Promise<Receipt> {
    return verifyReceipt(receipt);
  }
}

/** Factory in the keeper's composition style: `transferService(init)(components)`. */
export function transferService(init: TransferInit = {}): (components: TransferComponents) => TransferService {
  return (components) => new TransferService(components, init);
}
