/**
 * The bench's own network: one hub namespace that routes, and one namespace per keeper joined to it by a veth
 * pair, each keeper with its own address in a private /16 and a tbf rate limit on its egress. Nothing is added to
 * the machine's own namespace; `destroy()` deletes every namespace this object created (the veths go with them)
 * and is safe to call twice. Needs root (`ip netns`, `tc`).
 *
 * Routed, not bridged: the kernel's ARP table is one table for all namespaces, with a limit of
 * `net.ipv4.neigh.default.gc_thresh3` entries (1,024 by default) set in the machine's namespace. On one bridge
 * every keeper resolves every other it talks to, N·(N − 1) entries: at 100 keepers the table overflows
 * ("neighbor table overflow!" in the kernel log), a keeper that has no entry for a seed never sends its SYN, and
 * the network never converges. Routed, a keeper resolves only its gateway (the hub's end of its veth, the
 * link-local GATEWAY on every such end) and the hub resolves each keeper once: 2·N entries.
 *
 * Partition: policy rules in the hub make two islands that cannot reach each other (packets across are
 * blackholed); heal removes the rules.
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bandwidth class of a namespace: its tbf rate (bits per second). */
export interface LinkClass {
  name: string;
  rateBitsPerSecond: number;
}

/** The hub's address on every keeper's link, and each keeper's gateway to the others (link-local, never routed). */
const GATEWAY = "169.254.0.1";
/** Routing tables and rule priorities the hub uses for a partition. */
const ISLAND_TABLE = "201";
const BLOCKED_TABLE = "202";
const ISLAND_RULE_PREF = "100";
const BLOCKED_RULE_PREF = "110";

export class BenchNetwork {
  readonly hub: string;
  private readonly created: string[] = [];
  private island: readonly number[] = [];

  /** `tag` makes the namespace names unique to this run; `subnet` is the /16's first two octets. */
  constructor(
    readonly tag: string,
    readonly subnet = "10.213",
  ) {
    this.hub = `${tag}-hub`;
  }

  namespace(i: number): string {
    return `${this.tag}-k${i}`;
  }

  address(i: number): string {
    return `${this.subnet}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  }

  async createHub(): Promise<void> {
    await ip("netns", "add", this.hub);
    this.created.push(this.hub);
    await ip("-n", this.hub, "link", "set", "lo", "up");
    // Reverse-path filtering off in the hub: a namespace inherits the machine's default (systemd distributions set 2),
    // and its check would look up an island member's own address through the partition rules below and find the
    // blackhole — cutting the island off from itself. The hub's routes are all its own; nothing here is spoofed.
    await run("ip", [
      "netns",
      "exec",
      this.hub,
      "sysctl",
      "-qw",
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
    ]);
    // A packet across a partition is dropped by the island's rules (below), not answered.
    await ip("-n", this.hub, "route", "add", "blackhole", "default", "table", BLOCKED_TABLE);
  }

  /** Namespace i with its veth to the hub, its address, a route to the others through the hub, and a tbf of
   * `link`'s rate on its egress. */
  async addKeeper(i: number, link: LinkClass): Promise<void> {
    const ns = this.namespace(i);
    const hubEnd = `h${i}`;
    await ip("netns", "add", ns);
    this.created.push(ns);
    await ip("-n", this.hub, "link", "add", hubEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
    await ip("-n", this.hub, "addr", "add", `${GATEWAY}/32`, "dev", hubEnd);
    await ip("-n", this.hub, "link", "set", hubEnd, "up");
    await ip("-n", this.hub, "route", "add", `${this.address(i)}/32`, "dev", hubEnd);
    await ip("-n", ns, "addr", "add", `${this.address(i)}/32`, "dev", "eth0");
    await ip("-n", ns, "link", "set", "eth0", "up");
    await ip("-n", ns, "link", "set", "lo", "up");
    // The gateway has a route of its own: the hub's ARP requests come from it, and a namespace with reverse-path
    // filtering on (the machine's default may be) drops a request whose sender it has no route back to.
    await ip("-n", ns, "route", "add", `${GATEWAY}/32`, "dev", "eth0", "scope", "link");
    await ip("-n", ns, "route", "add", `${this.subnet}.0.0/16`, "via", GATEWAY, "dev", "eth0");
    // burst must hold at least one rate-tick's worth of bytes; 64 KiB is ample up to a few hundred Mbit/s.
    await run("ip", [
      "netns",
      "exec",
      ns,
      "tc",
      "qdisc",
      "add",
      "dev",
      "eth0",
      "root",
      "tbf",
      "rate",
      `${link.rateBitsPerSecond}bit`,
      "burst",
      "64kb",
      "latency",
      "100ms",
    ]);
  }

  /** Splits keepers `island` from the others: they reach each other but nobody else, and nobody else them. */
  async partition(island: readonly number[]): Promise<void> {
    if (this.island.length > 0) throw new Error("the network is already partitioned");
    if (new Set(island).size !== island.length) throw new Error("partition: an island lists a keeper twice");
    this.island = [...island];
    for (const i of island) {
      await ip("-n", this.hub, "route", "add", `${this.address(i)}/32`, "dev", `h${i}`, "table", ISLAND_TABLE);
    }
    // From an island member: only the island's routes (anything else falls through to the blackhole table).
    // To an island member from anyone else: the blackhole table.
    for (const i of island) {
      await ip("-n", this.hub, "rule", "add", "pref", ISLAND_RULE_PREF, "iif", `h${i}`, "lookup", ISLAND_TABLE);
      await ip("-n", this.hub, "rule", "add", "pref", BLOCKED_RULE_PREF, "iif", `h${i}`, "lookup", BLOCKED_TABLE);
      await ip(
        "-n",
        this.hub,
        "rule",
        "add",
        "pref",
        BLOCKED_RULE_PREF,
        "to",
        `${this.address(i)}/32`,
        "lookup",
        BLOCKED_TABLE,
      );
    }
  }

  /** Removes the partition's rules (those of the island `partition` was given), all of them even when one fails
   * (a partition that failed half-way left only some). */
  async heal(): Promise<void> {
    const errors: string[] = [];
    const attempt = (...args: string[]) => ip("-n", this.hub, ...args).catch((err: Error) => errors.push(err.message));
    for (const i of this.island) {
      const addr = `${this.address(i)}/32`;
      await attempt("rule", "del", "pref", ISLAND_RULE_PREF, "iif", `h${i}`, "lookup", ISLAND_TABLE);
      await attempt("rule", "del", "pref", BLOCKED_RULE_PREF, "iif", `h${i}`, "lookup", BLOCKED_TABLE);
      await attempt("rule", "del", "pref", BLOCKED_RULE_PREF, "to", addr, "lookup", BLOCKED_TABLE);
      await attempt("route", "del", addr, "dev", `h${i}`, "table", ISLAND_TABLE);
    }
    this.island = [];
    if (errors.length > 0) throw new Error(`heal: ${errors.join("; ")}`);
  }

  get isPartitioned(): boolean {
    return this.island.length > 0;
  }

  /** Deletes every namespace created (keepers first, the hub last); errors are collected, not thrown early. */
  async destroy(): Promise<string[]> {
    const errors: string[] = [];
    while (this.created.length > 0) {
      const ns = this.created.pop()!;
      try {
        await ip("netns", "del", ns);
      } catch (err) {
        errors.push(`${ns}: ${(err as Error).message}`);
      }
    }
    return errors;
  }

  /** Synchronous variant for process exit handlers. */
  destroySync(): void {
    while (this.created.length > 0) {
      const ns = this.created.pop()!;
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}
