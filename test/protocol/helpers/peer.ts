import type { PrivateKey } from "@libp2p/interface";
/**
 * A plain libp2p peer (TCP, noise, yamux — nothing of the keeper's) that dials one protocol of a keeper and
 * exchanges raw frames built by hand: `uvarint(len) ‖ body` as docs/PROTOCOL.md §2 specifies.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Libp2p, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";

import { concat, uvarint } from "./pb.ts";

/** How long a test waits for any one reply before failing (the keeper answers on loopback in milliseconds). */
export const REPLY_DEADLINE_MS = 5_000;

export async function plainPeer(privateKey?: PrivateKey): Promise<Libp2p> {
  return createLibp2p({
    ...(privateKey !== undefined && { privateKey }),
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/** `uvarint(len(body)) ‖ body`. */
export function frame(body: Uint8Array): Uint8Array {
  return concat(uvarint(body.length), body);
}

/** How a stream ended, seen from our side. */
export type StreamEnd = "open" | "closed" | "reset";

/** Reads frames off one stream as they arrive, with deadlines. */
export class RawStream {
  private buffer: Uint8Array = new Uint8Array();
  private readonly iterator: AsyncIterator<Uint8Array | { subarray(): Uint8Array }>;
  private pending: Promise<IteratorResult<Uint8Array | { subarray(): Uint8Array }>> | undefined;
  /** Set once the remote ended its side: `closed` (clean EOF) or `reset` (yamux RST / abort). */
  end: StreamEnd = "open";

  constructor(readonly stream: Stream) {
    this.iterator = (stream as unknown as AsyncIterable<Uint8Array | { subarray(): Uint8Array }>)[
      Symbol.asyncIterator
    ]();
  }

  /** Sends raw bytes (already framed, or deliberately broken). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    if (!this.stream.send(bytes)) await this.stream.onDrain({ signal: AbortSignal.timeout(REPLY_DEADLINE_MS) });
  }

  /** Sends one frame holding `body`. */
  send(body: Uint8Array): Promise<void> {
    return this.sendRaw(frame(body));
  }

  /** Pulls one chunk; false once the remote's side ended (and `end` says how). */
  private async pull(deadline: number): Promise<boolean> {
    if (this.end !== "open") return false;
    this.pending ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    try {
      const r = await Promise.race([this.pending, timeout]);
      if (r === "timeout") throw new Error(`no data from the keeper within the deadline`);
      this.pending = undefined;
      if (r.done === true) {
        this.end = this.stream.status === "reset" || this.stream.status === "aborted" ? "reset" : "closed";
        return false;
      }
      const chunk = r.value instanceof Uint8Array ? r.value : r.value.subarray();
      this.buffer = concat(this.buffer, chunk);
      return true;
    } catch (err) {
      if ((err as Error).message.startsWith("no data")) throw err;
      this.pending = undefined;
      this.end = "reset";
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next frame's body, or undefined when the stream ended (see `end`) before a whole frame. */
  async readFrame(timeoutMs = REPLY_DEADLINE_MS): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let len = 0;
      let bytes = 0;
      for (let i = 0; i < this.buffer.length && i < 5; i++) {
        len += (this.buffer[i]! & 0x7f) * 2 ** (7 * i);
        if ((this.buffer[i]! & 0x80) === 0) {
          bytes = i + 1;
          break;
        }
      }
      if (bytes > 0 && this.buffer.length >= bytes + len) {
        const body = this.buffer.slice(bytes, bytes + len);
        this.buffer = this.buffer.slice(bytes + len);
        return body;
      }
      if (!(await this.pull(deadline))) return undefined;
    }
  }

  /** Reads until the remote ends the stream; returns every frame received on the way. */
  async readToEnd(timeoutMs = REPLY_DEADLINE_MS): Promise<Uint8Array[]> {
    const deadline = Date.now() + timeoutMs;
    const frames: Uint8Array[] = [];
    for (;;) {
      const f = await this.readFrame(Math.max(1, deadline - Date.now()));
      if (f === undefined) return frames;
      frames.push(f);
    }
  }

  /** Half-closes our side (we send nothing more). */
  async closeWrite(): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(REPLY_DEADLINE_MS) }).catch(() => {});
  }
}

/** Opens `protocol` on the keeper listening at `address` (a multiaddr with /p2p). */
export async function open(peer: Libp2p, address: string, protocol: string): Promise<RawStream> {
  const stream = await peer.dialProtocol(multiaddr(address), protocol, {
    signal: AbortSignal.timeout(REPLY_DEADLINE_MS),
  });
  return new RawStream(stream);
}

/** Waits (polling, with a deadline) until `cond` holds. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = REPLY_DEADLINE_MS) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when a fresh dial of `address` from `peer` is refused (the keeper's gater bans `peer`). */
export async function dialRefused(peer: Libp2p, address: string, protocol: string): Promise<boolean> {
  try {
    const s = await peer.dialProtocol(multiaddr(address), protocol, { signal: AbortSignal.timeout(REPLY_DEADLINE_MS) });
    s.abort(new Error("probe only"));
    return false;
  } catch {
    return true;
  }
}
