/**
 * Connection gater: refuses address ranges the operator denies (or everything outside the allowed ranges)
 * and peers banned for protocol violations, at every stage where libp2p asks.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";

import type { ConnectionGater, MultiaddrConnection, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";

import type { Logger } from "../logger.ts";
import type { ConnectionLimits } from "./limits.ts";
import { BAN_DURATION_MS, MAX_BANS } from "./constants.ts";
import { InvalidAddressRangeError } from "./errors.ts";

export interface BanListInit {
  /** Where bans are logged (once per ban, rate-limited). */
  log?: Logger;
  /** Most bans held at once (MAX_BANS); the oldest ban is forgotten first. */
  maxEntries?: number;
  /** Default ban length, ms (BAN_DURATION_MS). */
  durationMs?: number;
}

export interface BanStats {
  /** Bans issued since start (a ban of a peer already banned is not counted again). */
  total: number;
  /** Bans in force now. */
  active: number;
  /** Bans forgotten before their expiry because the list was full. */
  evicted: number;
}

/**
 * Peers banned for protocol violations, each until an expiry. Bounded: at most `maxEntries` bans, kept in ban
 * order so that expired and, when full, oldest bans leave from the front (fresh identities cost an attacker
 * nothing, so an unbounded list is itself a memory leak an attacker controls).
 */
export class BanList {
  private readonly bans = new Map<string, { until: number; reason: string }>();
  private readonly listeners = new Set<(peerId: string) => void>();
  private readonly log: Logger | undefined;
  private readonly maxEntries: number;
  private readonly durationMs: number;
  private total = 0;
  private evicted = 0;

  constructor(init?: Logger | BanListInit) {
    const o: BanListInit = init === undefined || "child" in init ? { log: init as Logger | undefined } : init;
    this.log = o.log;
    this.maxEntries = o.maxEntries ?? MAX_BANS;
    this.durationMs = o.durationMs ?? BAN_DURATION_MS;
  }

  ban(peerId: PeerId | string, reason: string, durationMs: number = this.durationMs): void {
    const id = peerId.toString();
    const already = this.isBanned(id);
    this.bans.delete(id);
    this.bans.set(id, { until: Date.now() + durationMs, reason });
    this.sweep();
    if (already) return;
    this.total++;
    this.log?.throttled("peer banned", "warn", "peer banned", { peer: id, reason, durationMs });
    for (const l of this.listeners) l(id);
  }

  unban(peerId: PeerId | string): void {
    this.bans.delete(peerId.toString());
  }

  isBanned(peerId: PeerId | string): boolean {
    const id = peerId.toString();
    const ban = this.bans.get(id);
    if (ban === undefined) return false;
    if (ban.until <= Date.now()) {
      this.bans.delete(id);
      return false;
    }
    return true;
  }

  stats(): BanStats {
    this.sweep();
    return { total: this.total, active: this.bans.size, evicted: this.evicted };
  }

  /** Drops expired bans from the front (bans are in ban order) and the oldest ones beyond the cap. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, ban] of this.bans) {
      if (ban.until > now && this.bans.size <= this.maxEntries) break;
      if (ban.until > now) this.evicted++;
      this.bans.delete(id);
    }
  }

  /** Called with the peer id whenever a peer is banned (the node uses it to hang up). */
  onBan(listener: (peerId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface AddressPolicy {
  /** CIDR ranges never dialled nor accepted. */
  deny?: readonly string[];
  /** When set, only these CIDR ranges are dialled or accepted. */
  allow?: readonly string[];
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [ip, bits] = range.split("/");
    const prefix = Number(bits);
    const type = isIPv4(ip) ? "ipv4" : isIPv6(ip) ? "ipv6" : undefined;
    if (type === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === "ipv4" ? 32 : 128)) {
      throw new InvalidAddressRangeError(range);
    }
    list.addSubnet(ip, prefix, type);
  }
  return list;
}

/** The IP of a multiaddr (`/ip4/…` or `/ip6/…`), if it has one. */
export function multiaddrIp(ma: Multiaddr): { ip: string; type: "ipv4" | "ipv6" } | undefined {
  for (const c of ma.getComponents()) {
    if (c.name === "ip4" && c.value !== undefined) return { ip: c.value, type: "ipv4" };
    if (c.name === "ip6" && c.value !== undefined) return { ip: c.value, type: "ipv6" };
  }
  return undefined;
}

export interface GaterInit extends AddressPolicy {
  bans: BanList;
  /** Per-IP cap and keeper-reserved slots (limits.ts). */
  limits?: ConnectionLimits;
  log?: Logger;
}

export function createConnectionGater(init: GaterInit): ConnectionGater {
  const deny = blockList(init.deny ?? []);
  const allow = init.allow === undefined ? undefined : blockList(init.allow);
  const deniedAddress = (ma: Multiaddr): boolean => {
    const ip = multiaddrIp(ma);
    // Non-IP addresses (dns, p2p-circuit) are resolved/relayed later and checked then.
    if (ip === undefined) return false;
    if (deny.check(ip.ip, ip.type)) return true;
    return allow !== undefined && !allow.check(ip.ip, ip.type);
  };
  const deniedPeer = (peerId: PeerId): boolean => init.bans.isBanned(peerId);
  const deniedConn = (maConn: MultiaddrConnection): boolean => {
    const denied = deniedAddress(maConn.remoteAddr);
    if (denied) init.log?.debug("inbound connection denied by address policy", { addr: maConn.remoteAddr.toString() });
    return denied;
  };
  return {
    denyDialPeer: deniedPeer,
    denyDialMultiaddr: deniedAddress,
    denyInboundConnection: (maConn) => deniedConn(maConn) || (init.limits?.denyInbound(maConn) ?? false),
    denyOutboundConnection: (peerId, maConn) => deniedPeer(peerId) || deniedConn(maConn),
    denyInboundEncryptedConnection: (peerId) => deniedPeer(peerId) || (init.limits?.denyInboundPeer(peerId) ?? false),
    denyOutboundEncryptedConnection: deniedPeer,
    denyInboundUpgradedConnection: deniedPeer,
    denyOutboundUpgradedConnection: deniedPeer,
  };
}
