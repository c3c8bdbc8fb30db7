/**
 * The bench's own network: one hub namespace holding a bridge, and one namespace per keeper joined to it by a
 * veth pair, each keeper with its own address in a private /16 and a tbf rate limit on its egress. Nothing is
 * added to the machine's own namespace; `destroy()` deletes every namespace this object created (the veths and
 * bridges go with them) and is safe to call twice. Needs root (`ip netns`, `tc`).
 *
 * Partition: the hub's ends of a set of keepers move to a second bridge (two islands that cannot reach each
 * other); heal moves them back.
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bandwidth class of a namespace: its tbf rate (bits per second). */
export interface LinkClass {
  name: string;
  rateBitsPerSecond: number;
}

export class BenchNetwork {
  readonly hub: string;
  private readonly created: string[] = [];
  private partitioned = false;

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
    for (const br of ["br0", "br1"]) {
      await ip("-n", this.hub, "link", "add", br, "type", "bridge");
      await ip("-n", this.hub, "link", "set", br, "up");
    }
  }

  /** Namespace i with its veth on br0, its address, and a tbf of `link`'s rate on its egress. */
  async addKeeper(i: number, link: LinkClass): Promise<void> {
    const ns = this.namespace(i);
    await ip("netns", "add", ns);
    this.created.push(ns);
    await ip("-n", this.hub, "link", "add", `h${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    await ip("-n", this.hub, "link", "set", `h${i}`, "master", "br0", "up");
    await ip("-n", ns, "addr", "add", `${this.address(i)}/16`, "dev", "eth0");
    await ip("-n", ns, "link", "set", "eth0", "up");
    await ip("-n", ns, "link", "set", "lo", "up");
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

  /** Moves keepers `island` to the second bridge: they reach each other but nobody else. */
  async partition(island: readonly number[]): Promise<void> {
    this.partitioned = true;
    for (const i of island) await ip("-n", this.hub, "link", "set", `h${i}`, "master", "br1");
  }

  async heal(island: readonly number[]): Promise<void> {
    for (const i of island) await ip("-n", this.hub, "link", "set", `h${i}`, "master", "br0");
    this.partitioned = false;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
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
