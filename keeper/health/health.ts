/**
 * Health service: answers heartbeats on /lumora/health/1.0.0, sends one to every watched peer each
 * interval, declares a peer failed after k consecutive missed heartbeats (and alive again on the next
 * answer), and counts task outcomes and failures per epoch for Reputation.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../logger.ts";
import { anySignal } from "../p2p/bootstrap.ts";
import type { LumoraNode } from "../p2p/node.ts";
import { InvalidFieldError, readMessage, WireError, writeMessage } from "../wire/index.ts";
import {
  HEALTH_MAX_INBOUND_STREAMS,
  HEALTH_MAX_OUTBOUND_STREAMS,
  HEALTH_PROTOCOL,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
  MAX_HEALTH_MESSAGE_BYTES,
  MAX_TASKS,
  MISSED_HEARTBEATS_TO_FAIL,
} from "./constants.ts";
import type { HealthCounters } from "./counters.ts";
import { HeartbeatFailedError } from "./errors.ts";
import { Heartbeat, HeartbeatAck } from "./pb/health.ts";

export type PeerStatus = "alive" | "suspect" | "failed";

export interface HealthInit {
  intervalMs?: number;
  timeoutMs?: number;
  missedToFail?: number;
}

export interface HealthComponents {
  node: LumoraNode;
  logger: Logger;
  counters: HealthCounters;
  /** Current epoch number (from the epochs module). */
  currentEpoch: () => number;
  /** Our load/capacity, advertised in heartbeats. */
  currentLoad?: () => { load: number; capacity: number };
  /** Called for protocol violations (penalise = true); the composition bans the peer. */
  penalise?: (peerId: PeerId, err: Error) => void;
}

interface Watched {
  missed: number;
  status: PeerStatus;
  lastSeenMs?: number;
  load?: number;
  capacity?: number;
}

interface Opts {
  signal?: AbortSignal;
}

function validate(msg: Heartbeat | HeartbeatAck): void {
  if (msg.seq === 0n) throw new InvalidFieldError("seq", "must be ≥ 1");
  if (msg.sentAtMs === 0n || msg.sentAtMs > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InvalidFieldError("sent_at_ms", "out of range");
  if (msg.capacity > MAX_TASKS) throw new InvalidFieldError("capacity", `above ${MAX_TASKS}`);
  if (msg.load > MAX_TASKS) throw new InvalidFieldError("load", `above ${MAX_TASKS}`);
}

export class Health extends EventTarget {
  private readonly log: Logger;
  private readonly watched = new Map<string, Watched>();
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0n;
  private round: Promise<void> | undefined;

  constructor(
    private readonly components: HealthComponents,
    private readonly init: HealthInit = {},
  ) {
    super();
    this.log = components.logger.child("health");
  }

  async start(): Promise<void> {
    await this.components.node.handle(HEALTH_PROTOCOL, (s, c) => this.onStream(s, c), {
      maxInboundStreams: HEALTH_MAX_INBOUND_STREAMS,
      maxOutboundStreams: HEALTH_MAX_OUTBOUND_STREAMS,
    });
    this.timer = setInterval(() => {
      if (this.round === undefined) this.round = this.heartbeatAll().finally(() => (this.round = undefined));
    }, this.init.intervalMs ?? HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.controller.abort(new Error("health stopped"));
    await this.round?.catch(() => {});
    await this.components.node.unhandle(HEALTH_PROTOCOL).catch(() => {});
  }

  private ours(): { load: number; capacity: number } {
    return this.components.currentLoad?.() ?? { load: 0, capacity: 0 };
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.init.timeoutMs ?? HEARTBEAT_TIMEOUT_MS);
    try {
      const hb = await readMessage<Heartbeat>(stream, Heartbeat, MAX_HEALTH_MESSAGE_BYTES, { signal });
      validate(hb);
      const { load, capacity } = this.ours();
      await writeMessage(
        stream,
        HeartbeatAck,
        { seq: hb.seq, sentAtMs: BigInt(Date.now()), load, capacity },
        MAX_HEALTH_MESSAGE_BYTES,
        { signal },
      );
      await stream.close({ signal });
    } catch (err) {
      const e = err as Error;
      const code = (err as { code?: string }).code;
      this.log.throttled("heartbeat rejected", "warn", "heartbeat rejected", {
        peer: connection.remotePeer.toString(),
        code,
        reason: e.message,
      });
      stream.abort(e);
      if (err instanceof WireError && err.penalise) this.components.penalise?.(connection.remotePeer, err);
    }
  }

  /** Sends one heartbeat and waits for the ack; returns the round-trip time (ms). */
  async heartbeat(peer: PeerId | string, options: Opts = {}): Promise<number> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    const signal = anySignal(
      AbortSignal.timeout(this.init.timeoutMs ?? HEARTBEAT_TIMEOUT_MS),
      this.controller.signal,
      options.signal,
    );
    const seq = ++this.seq;
    const started = performance.now();
    let stream: Stream | undefined;
    try {
      stream = await this.components.node.dialProtocol(id, HEALTH_PROTOCOL, { signal });
      const { load, capacity } = this.ours();
      await writeMessage(
        stream,
        Heartbeat,
        { seq, sentAtMs: BigInt(Date.now()), load, capacity },
        MAX_HEALTH_MESSAGE_BYTES,
        { signal },
      );
      const ack = await readMessage<HeartbeatAck>(stream, HeartbeatAck, MAX_HEALTH_MESSAGE_BYTES, { signal });
      validate(ack);
      if (ack.seq !== seq) throw new InvalidFieldError("seq", "ack does not echo the heartbeat");
      await stream.close({ signal }).catch(() => {});
      const w = this.watched.get(id.toString());
      if (w !== undefined) {
        w.load = ack.load;
        w.capacity = ack.capacity;
      }
      return performance.now() - started;
    } catch (err) {
      stream?.abort(err as Error);
      if (err instanceof WireError && err.penalise) this.components.penalise?.(id, err);
      throw new HeartbeatFailedError(id.toString(), err);
    }
  }

  watch(peerId: string): void {
    if (!this.watched.has(peerId)) this.watched.set(peerId, { missed: 0, status: "alive" });
  }

  unwatch(peerId: string): void {
    this.watched.delete(peerId);
  }

  status(peerId: string): PeerStatus | undefined {
    return this.watched.get(peerId)?.status;
  }

  /** One heartbeat round over every watched peer. */
  async heartbeatAll(options: Opts = {}): Promise<void> {
    const k = this.init.missedToFail ?? MISSED_HEARTBEATS_TO_FAIL;
    await Promise.all(
      [...this.watched.entries()].map(async ([id, w]) => {
        try {
          await this.heartbeat(id, options);
          w.missed = 0;
          w.lastSeenMs = Date.now();
          if (w.status !== "alive") {
            const was = w.status;
            w.status = "alive";
            if (was === "failed") {
              this.log.info("peer recovered", { peer: id });
              this.dispatchEvent(new CustomEvent("peer:recovered", { detail: id }));
            }
          }
        } catch {
          if (this.controller.signal.aborted) return;
          w.missed++;
          if (w.missed >= k && w.status !== "failed") {
            w.status = "failed";
            // One failure per alive → failed transition, not per missed heartbeat.
            this.components.counters.record(this.components.currentEpoch(), id, false);
            this.log.warn("peer failed", { peer: id, missed: w.missed });
            this.dispatchEvent(new CustomEvent("peer:failed", { detail: id }));
          } else if (w.status === "alive") {
            w.status = "suspect";
          }
        }
      }),
    );
  }

  /** Outcome of a task the peer executed or served (from signed receipts/outcomes). */
  reportTaskOutcome(peerId: string, ok: boolean): void {
    this.components.counters.record(this.components.currentEpoch(), peerId, ok);
  }
}

export function health(init: HealthInit = {}): (components: HealthComponents) => Health {
  return (components) => new Health(components, init);
}
