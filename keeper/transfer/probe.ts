/**
 * Provider proof for an object this node already holds (docs/PROTOCOL.md §8, "An executor that already holds
 * the object"): one part fetched from a provider over /lumora/transfer/2.0.0 — the handshake checks the
 * provider's manifest against the object id, the part is authenticated and checked against the manifest's
 * part hash, and then compared byte for byte with the same range of our own verified copy. Only a provider
 * that is alive and serves this very object passes. Providers are tried in order until one passes.
 */
import { open } from "node:fs/promises";

import type { Connection } from "@libp2p/interface";

import type { Logger } from "../logger.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_PART_TIMEOUT } from "./constants.ts";
import { NoProvidersError, PartChecksumError, TransferError } from "./errors.ts";
import type { ProviderTarget } from "./fetcher.ts";
import { objectIdFromHex, partLength } from "./manifest.ts";
import { ProviderSession } from "./session.ts";

export interface ProbeComponents {
  self: string;
  logger: Logger;
  connect(target: ProviderTarget, options?: { signal?: AbortSignal }): Promise<Connection>;
}

export interface ProbeOptions {
  providers: readonly ProviderTarget[];
  /** Our verified copy of the object. */
  localPath: string;
  handshakeTimeoutMs?: number;
  partTimeoutMs?: number;
  /** Which part to ask for, given the provider's part count (default: a random one, so none can be cached). */
  pickPart?: (parts: number) => number;
  signal?: AbortSignal;
}

export interface ProbeResult {
  /** Peer id of the provider that proved it serves the object. */
  provider: string;
  /** Index of the part fetched (in the provider's manifest). */
  index: number;
  /** Bytes of that part: what crossed the network. */
  bytes: number;
}

/** Proves one provider alive and serving `objectId`; throws NoProvidersError when none does. */
export async function probeProviders(
  components: ProbeComponents,
  objectId: string,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const idBytes = objectIdFromHex(objectId);
  const failures: Array<{ peerId: string; code: string }> = [];
  const pick = options.pickPart ?? ((n: number) => Math.floor(Math.random() * n));
  for (const target of options.providers) {
    options.signal?.throwIfAborted();
    let peerId = String(target);
    let session: ProviderSession | undefined;
    try {
      const connection = await components.connect(target, { signal: options.signal });
      peerId = connection.remotePeer.toString();
      if (peerId === components.self) continue;
      session = await ProviderSession.open(connection, {
        self: components.self,
        objectId: idBytes,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT,
        partTimeoutMs: options.partTimeoutMs ?? DEFAULT_PART_TIMEOUT,
        signal: options.signal,
      });
      const parts = session.manifest.partHashes.length;
      if (parts === 0) {
        // An empty object: the verified handshake is all there is to prove.
        await session.close();
        return { provider: peerId, index: 0, bytes: 0 };
      }
      const index = pick(parts);
      const plain = Buffer.concat((await session.request(index)).plain);
      await session.close();
      const expected = partLength(session.manifest, index);
      const local = await readRange(options.localPath, index * session.manifest.partSize, expected);
      if (!Buffer.from(plain).equals(local)) throw new PartChecksumError(index);
      components.logger.debug("provider proved it serves the object", { objectId, provider: peerId, index });
      return { provider: peerId, index, bytes: plain.length };
    } catch (err) {
      session?.fail(err);
      if (options.signal?.aborted) throw options.signal.reason;
      const code = err instanceof TransferError ? err.code : "ERR_UNKNOWN";
      failures.push({ peerId, code });
      components.logger.info("provider failed the proof", { objectId, provider: peerId, code });
    }
  }
  throw new NoProvidersError(objectId, failures);
}

async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await file.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
