/**
 * One request, one answer between registered keepers: the exchange that `/lumora/epoch-sign/1.0.0` (protocol.ts) and
 * `/lumora/challenge-sign/1.0.0` (challenge/protocol.ts) share. Each side is one length-prefixed JSON frame (§2
 * framing); what the frames hold, and what an answer decides, stays with each protocol.
 *
 * - `serveKeeperRequest` (server): reads the one request frame — a stranger's (not a registered keeper) within
 *   `strangerTimeoutMs`, then refused unseen with `not-a-keeper` — and writes the handler's answer; a
 *   QuorumProtocolError is answered `bad-request` (and penalised when it says so), anything else aborts the stream.
 * - `askKeeper` (client): dials, writes the request, reads the answer and hands its JSON object to `interpret`;
 *   never throws: a dial, stream or protocol failure is `{ unreachable: reason }` (a penalising one penalised).
 * - `askInRounds`: asks every peer in parallel, then again those that answered "retry", every `retryMs`, until
 *   `complete()` holds, no peer is left to ask, or the signal ends.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";

import { sleep } from "../../chain/index.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import { linkSignals } from "../../signals.ts";
import { readFrame, writeFrame } from "../../wire/framing.ts";
import { QuorumProtocolError } from "./errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A frame's JSON object; QuorumProtocolError (penalised) when it is anything else. */
export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(decoder.decode(body)) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new QuorumProtocolError("message is not a JSON object", true);
}

export interface KeeperRequestServing {
  isKeeper(peerId: string): boolean;
  maxRequestBytes: number;
  /** Bound of every answer written. */
  maxAnswerBytes: number;
  /** The whole exchange with a keeper. */
  timeoutMs: number;
  /** How long a stranger may take to send its one frame before it is refused. */
  strangerTimeoutMs: number;
  /** Called once per stranger refused. */
  onStranger?(): void;
  /** The answer to a keeper's request (`peer`: its peer id); may throw QuorumProtocolError. */
  handle(body: Uint8Array, peer: string, signal: AbortSignal): Promise<object>;
  penalise?(peerId: PeerId, err: Error): void;
}

/** Serves one inbound stream of a keeper request protocol (see the header). */
export async function serveKeeperRequest(
  stream: Stream,
  connection: Connection,
  s: KeeperRequestServing,
): Promise<void> {
  const signal = AbortSignal.timeout(s.timeoutMs);
  const peer = connection.remotePeer.toString();
  const answer = (msg: object) => writeFrame(stream, encoder.encode(JSON.stringify(msg)), s.maxAnswerBytes, { signal });
  try {
    const keeper = s.isKeeper(peer);
    const body = await readFrame(stream, s.maxRequestBytes, {
      signal: keeper ? signal : AbortSignal.timeout(s.strangerTimeoutMs),
    }).catch((err: unknown) => {
      if (keeper) throw err;
      return undefined;
    });
    if (!keeper) {
      s.onStranger?.();
      await answer({ error: "not a registered keeper", code: "not-a-keeper" });
      await stream.close().catch(() => {});
      return;
    }
    if (body === undefined) throw new QuorumProtocolError("stream ended before the request", false);
    await answer(await s.handle(body, peer, signal));
    await stream.close().catch(() => {});
  } catch (err) {
    const e = err as Error & { penalise?: boolean };
    if (e instanceof QuorumProtocolError) {
      await answer({ error: e.message, code: "bad-request" }).catch(() => {});
      if (e.penalise) s.penalise?.(connection.remotePeer, e);
    }
    stream.abort(e);
  }
}

export interface KeeperAsking<T> {
  node: LumoraNode;
  protocol: string;
  maxRequestBytes: number;
  maxAnswerBytes: number;
  /** One request, dial included. */
  timeoutMs: number;
  /** The answer's JSON object as the protocol reads it; throws QuorumProtocolError on anything malformed. */
  interpret(msg: Record<string, unknown>): T;
  penalise?(peerId: PeerId, err: Error): void;
}

/** One request to one keeper; never throws (see the header). */
export async function askKeeper<T>(
  id: PeerId,
  body: Uint8Array,
  outer: AbortSignal,
  a: KeeperAsking<T>,
): Promise<T | { unreachable: string }> {
  // Linked for this request only: AbortSignal.any on a long-lived `outer` kept memory per request (signals.ts).
  const link = linkSignals([outer], a.timeoutMs);
  try {
    return await askKeeperUnder(id, body, link.signal, a);
  } finally {
    link.clear();
  }
}

async function askKeeperUnder<T>(
  id: PeerId,
  body: Uint8Array,
  signal: AbortSignal,
  a: KeeperAsking<T>,
): Promise<T | { unreachable: string }> {
  let stream: Stream;
  try {
    stream = await a.node.dialProtocol(id, a.protocol, { signal });
  } catch (err) {
    return { unreachable: (err as Error).message };
  }
  try {
    await writeFrame(stream, body, a.maxRequestBytes, { signal });
    const answer = await readFrame(stream, a.maxAnswerBytes, { signal });
    if (answer === undefined) throw new QuorumProtocolError("peer ended the stream before answering", false);
    const msg = parseJsonObject(answer);
    await stream.close().catch(() => {});
    return a.interpret(msg);
  } catch (err) {
    const e = err as Error & { penalise?: boolean };
    stream.abort(e);
    if (e.penalise === true) a.penalise?.(id, e);
    return { unreachable: e.message };
  }
}

/**
 * Asks `peers` in parallel (`ask` resolves with whether to ask that peer again), then again those, every `retryMs`,
 * until `complete()`, none is left, or `signal` ends.
 */
export async function askInRounds(
  peers: readonly string[],
  ask: (peer: string) => Promise<boolean>,
  options: { complete(): boolean; signal: AbortSignal; retryMs: number },
): Promise<void> {
  let pending = [...peers];
  while (!options.complete() && pending.length > 0 && !options.signal.aborted) {
    const again: string[] = [];
    await Promise.all(
      pending.map(async (peer) => {
        if (await ask(peer)) again.push(peer);
      }),
    );
    if (options.complete() || again.length === 0 || options.signal.aborted) break;
    try {
      await sleep(options.retryMs, { signal: options.signal });
    } catch {
      break;
    }
    pending = again;
  }
}
