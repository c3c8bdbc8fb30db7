/**
 * A hostile peer built from libp2p's own packages only (TCP, noise, yamux, identify; a fresh identity each),
 * as an outside tester would build it: no Lumora service runs on it, it only opens streams and writes bytes.
 * Also the in-process gauges the hostile tests bound: open fds (/proc/self/fd) and memory.
 */
import { readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Libp2p, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";

export type RawPeer = Libp2p;

/** A bare libp2p node with a fresh Ed25519 identity; `protocols` are registered (and so announced by identify)
 * with a handler that drops every stream. */
export async function rawPeer(options: { protocols?: string[]; identify?: boolean } = {}): Promise<RawPeer> {
  const node = await createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 10_000, inboundConnectionThreshold: 10_000 },
    services: (options.identify === false ? {} : { identify: identify() }) as { identify: ReturnType<typeof identify> },
  });
  for (const p of options.protocols ?? []) await node.handle(p, (s) => s.abort(new Error("raw peer")));
  return node as unknown as RawPeer;
}

/** Opens a stream for `protocol` on `target` (a multiaddr string with /p2p). */
export async function rawStream(
  peer: RawPeer,
  target: string,
  protocol: string,
  signal?: AbortSignal,
): Promise<Stream> {
  return peer.dialProtocol(multiaddr(target), protocol, {
    signal: signal ?? AbortSignal.timeout(10_000),
    runOnLimitedConnection: true,
  });
}

/** Dials `target`, retrying while the keeper's per-IP inbound rate limit refuses (every test peer is 127.0.0.1). */
export async function dialRetry(peer: RawPeer, target: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await peer.dial(multiaddr(target), { signal: AbortSignal.timeout(5_000) });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`could not connect to ${target} within ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Dials `peers` to `target` in waves of 10 handshakes (30 s each), and again those that did not get through, until
 * `done()` holds or `timeoutMs` passes (then `done()` may still be false: the caller's wait says what is missing).
 * All at once, on a machine loaded beyond ~10, every handshake starved together and none completed. Returns the
 * dial errors seen, by message, for the caller's failure message.
 */
export async function dialInWaves(
  peers: readonly RawPeer[],
  target: string,
  done: () => boolean,
  timeoutMs = 120_000,
): Promise<Map<string, number>> {
  const errors = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  const at = multiaddr(target);
  const targetPeer = peerIdFromString(target.slice(target.lastIndexOf("/p2p/") + 5));
  do {
    const waiting = peers.filter((p) => p.getConnections(targetPeer).length === 0);
    for (let i = 0; i < waiting.length && !done(); i += 10)
      for (const r of await Promise.allSettled(
        waiting.slice(i, i + 10).map((p) => p.dial(at, { signal: AbortSignal.timeout(30_000) })),
      ))
        if (r.status === "rejected") {
          const e = r.reason as Error;
          const key = `${e.name}: ${e.message}`.slice(0, 120);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
  } while (!done() && Date.now() < deadline);
  return errors;
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Bytes held live in ArrayBuffers (Buffers, part buffers), after a full GC: where a stalled session's memory
 * lives. Garbage does not count, so the figure is what a session really pins. */
export function bufferBytes(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** Resident set after a full GC. */
export function rssBytes(): number {
  gc();
  return process.memoryUsage().rss;
}

export async function stopAll(peers: Iterable<RawPeer>): Promise<void> {
  await Promise.all([...peers].map(async (p) => p.stop()?.catch(() => {})));
}
