/**
 * Who may hold one of the keeper's connections. libp2p's own limits (maxConnections, pending handshakes, the
 * per-IP accept rate) stop floods of attempts, not a slow fill: idle connections from fresh identities cost an
 * attacker nothing and, once the table is full, every newcomer is refused. Three rules keep the table useful:
 *
 * - per IP: at most `maxConnectionsPerIp` open connections from one address (checked before the handshake);
 * - reserved slots: strangers (peers without a valid signed record in discovery — with a bond registry, without
 *   a bonded one: `isKeeper` false) may hold at most `maxConnections − reservedForKeepers`; the rest is kept for
 *   keepers (checked once the peer id is known, after the noise handshake);
 * - idle reaping: a stranger's connection with no stream open for `idleTimeoutMs` is closed, once the table
 *   holds more than half its capacity (below that, idle connections cost little and save redials).
 */
import type { Connection, MultiaddrConnection, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";

import type { Logger } from "../logger.ts";
import {
  CONNECTION_IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
  RESERVED_CONNECTIONS_FOR_KEEPERS,
} from "./constants.ts";

export interface ConnectionLimitsInit {
  /** Connections open at once, all peers (MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Connections open at once from one IP address (MAX_CONNECTIONS_PER_IP). */
  maxConnectionsPerIp?: number;
  /** Slots strangers may not take (RESERVED_CONNECTIONS_FOR_KEEPERS). */
  reservedForKeepers?: number;
  /** A stranger's connection without streams for this long is closed, ms (CONNECTION_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
  /** Loopback peers are this host's own processes (and loopback test networks): exempt from the per-IP cap
   * unless this is false. */
  exemptLoopback?: boolean;
}

export interface ConnectionLimitStats {
  /** Inbound connections refused because their IP already held `maxConnectionsPerIp`. */
  refusedPerIp: number;
  /** Inbound connections from strangers refused because only reserved slots were left. */
  refusedReserved: number;
  /** Idle stranger connections closed. */
  reaped: number;
}

/** The parts of a libp2p node the limits look at. */
export interface LimitedNode {
  getConnections(): Connection[];
  addEventListener(type: "connection:open", listener: (evt: CustomEvent<Connection>) => void): void;
  removeEventListener(type: "connection:open", listener: (evt: CustomEvent<Connection>) => void): void;
}

function ipOf(ma: Multiaddr): string | undefined {
  for (const c of ma.getComponents())
    if ((c.name === "ip4" || c.name === "ip6") && c.value !== undefined) return c.value;
  return undefined;
}

export class ConnectionLimits {
  readonly stats: ConnectionLimitStats = { refusedPerIp: 0, refusedReserved: 0, reaped: 0 };
  readonly maxConnections: number;
  private readonly perIp: number;
  private readonly reserved: number;
  private readonly idleMs: number;
  private node: LimitedNode | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Connection id → since when it has had no stream. */
  private readonly idleSince = new Map<string, number>();

  constructor(
    private readonly init: ConnectionLimitsInit & { isKeeper?: (peerId: string) => boolean; log?: Logger } = {},
  ) {
    this.maxConnections = init.maxConnections ?? MAX_CONNECTIONS;
    this.perIp = init.maxConnectionsPerIp ?? MAX_CONNECTIONS_PER_IP;
    this.reserved = Math.min(init.reservedForKeepers ?? RESERVED_CONNECTIONS_FOR_KEEPERS, this.maxConnections - 1);
    this.idleMs = init.idleTimeoutMs ?? CONNECTION_IDLE_TIMEOUT_MS;
  }

  private isKeeper(peerId: PeerId | string): boolean {
    return this.init.isKeeper?.(peerId.toString()) ?? false;
  }

  /** Starts idle reaping on `node`. */
  attach(node: LimitedNode): void {
    this.node = node;
    node.addEventListener("connection:open", this.onOpen);
    this.timer = setInterval(() => this.reap(), Math.max(250, Math.floor(this.idleMs / 4)));
    this.timer.unref();
  }

  detach(): void {
    this.node?.removeEventListener("connection:open", this.onOpen);
    clearInterval(this.timer);
    this.timer = undefined;
    this.node = undefined;
    this.idleSince.clear();
  }

  /** Gater hook before the handshake: the per-IP cap. */
  denyInbound(maConn: MultiaddrConnection): boolean {
    const ip = ipOf(maConn.remoteAddr);
    if (ip === undefined || this.node === undefined) return false;
    if (this.init.exemptLoopback !== false && (ip === "::1" || ip.startsWith("127."))) return false;
    let n = 0;
    for (const c of this.node.getConnections()) if (ipOf(c.remoteAddr) === ip) n++;
    if (n < this.perIp) return false;
    this.stats.refusedPerIp++;
    this.init.log?.throttled("per-ip cap", "info", "inbound connection refused: per-IP cap", { ip, cap: this.perIp });
    return true;
  }

  /** Gater hook once the peer id is known: strangers stay out of the slots reserved for keepers. */
  denyInboundPeer(peerId: PeerId): boolean {
    if (this.node === undefined || this.isKeeper(peerId)) return false;
    if (this.node.getConnections().length < this.maxConnections - this.reserved) return false;
    this.stats.refusedReserved++;
    this.init.log?.throttled("reserved slots", "info", "inbound connection refused: only keeper slots left", {
      peer: peerId.toString(),
      reserved: this.reserved,
    });
    return true;
  }

  /**
   * Handshakes run in parallel, so the gater's count misses the ones admitted a moment ago: a stranger's
   * inbound connection that opens over the strangers' share is closed at once.
   */
  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const c = evt.detail;
    if (this.node === undefined || c.direction !== "inbound" || this.isKeeper(c.remotePeer)) return;
    if (this.node.getConnections().length <= this.maxConnections - this.reserved) return;
    this.stats.refusedReserved++;
    c.abort(new Error("only keeper slots left"));
  };

  /** Closes stranger connections idle for `idleTimeoutMs` while the table is more than half full. */
  reap(now = Date.now()): void {
    const node = this.node;
    if (node === undefined) return;
    const conns = node.getConnections();
    const live = new Set<string>();
    const idle: Connection[] = [];
    for (const c of conns) {
      live.add(c.id);
      if (c.streams.length > 0) {
        this.idleSince.delete(c.id);
        continue;
      }
      const since = this.idleSince.get(c.id);
      if (since === undefined) this.idleSince.set(c.id, now);
      else if (now - since >= this.idleMs && !this.isKeeper(c.remotePeer)) idle.push(c);
    }
    for (const id of this.idleSince.keys()) if (!live.has(id)) this.idleSince.delete(id);
    if (conns.length <= this.maxConnections / 2) return;
    for (const c of idle) {
      this.idleSince.delete(c.id);
      this.stats.reaped++;
      void c.close({ signal: AbortSignal.timeout(1_000) }).catch((err: Error) => c.abort(err));
    }
  }
}
