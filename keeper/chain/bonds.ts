/**
 * The keeper's cached view of NodeRegistry: which reward accounts are bonded, and with how much. Routing, credit
 * and Reputation reports ask it synchronously in hot paths; `refresh` reads the chain in batches (`bondsOf`) and
 * keeps each answer for `ttlMs`. An account the view has not read, or read too long ago, is not bonded: the view
 * fails closed. Routing asks `isBonded` (refreshed by the routing feed in the background); an epoch close asks
 * `read` (a fresh read, frozen with the epoch).
 */
import { getAddress } from "ethers";

import { BOND_VIEW_BATCH, BOND_VIEW_TTL_MS } from "./constants.ts";

/** What the view reads: NodeRegistry's `bondsOf` and `minBond` (the TypeChain contract satisfies it). */
export interface BondReader {
  bondsOf(accounts: string[]): Promise<bigint[]>;
  minBond(): Promise<bigint>;
}

export interface BondViewInit {
  /** Milliseconds an answer stays valid (default BOND_VIEW_TTL_MS). */
  ttlMs?: number;
  /** Accounts per chain call (default BOND_VIEW_BATCH). */
  batch?: number;
  /** Clock, for tests (default Date.now). */
  now?: () => number;
}

interface Entry {
  bond: bigint;
  readAt: number;
}

export class BondView {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly batch: number;
  private readonly now: () => number;
  private min: { value: bigint; readAt: number } | undefined;

  constructor(
    private readonly reader: BondReader,
    init: BondViewInit = {},
  ) {
    this.ttlMs = init.ttlMs ?? BOND_VIEW_TTL_MS;
    this.batch = init.batch ?? BOND_VIEW_BATCH;
    this.now = init.now ?? Date.now;
    if (!(this.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${this.ttlMs}`);
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new RangeError(`batch must be ≥ 1, got ${this.batch}`);
  }

  /**
   * Reads the bonds of `accounts` whose answer is missing or stale (all of them with `force`), and the minimum bond
   * when stale. Throws what the chain read throws; answers already held stay.
   */
  async refresh(accounts: readonly string[], options: { signal?: AbortSignal; force?: boolean } = {}): Promise<void> {
    const at = this.now();
    const wanted = [...new Set(accounts.map((a) => getAddress(a)))].filter(
      (a) => options.force === true || !this.fresh(this.entries.get(a)?.readAt, at),
    );
    if (options.force === true || !this.fresh(this.min?.readAt, at)) {
      options.signal?.throwIfAborted();
      this.min = { value: await this.reader.minBond(), readAt: at };
    }
    for (let i = 0; i < wanted.length; i += this.batch) {
      options.signal?.throwIfAborted();
      const chunk = wanted.slice(i, i + this.batch);
      const bonds = await this.reader.bondsOf(chunk);
      if (bonds.length !== chunk.length) {
        throw new Error(`bondsOf answered ${bonds.length} bonds for ${chunk.length} accounts`);
      }
      chunk.forEach((account, j) => this.entries.set(account, { bond: bonds[j]!, readAt: at }));
    }
  }

  /**
   * Reads the bonds of `accounts` and the minimum bond from the chain now (never from the cache), for an epoch
   * freeze: the answer is what the epoch keeps. Throws what the chain read throws.
   */
  async read(
    accounts: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<{ minBond: bigint; bonds: Map<string, bigint> }> {
    await this.refresh(accounts, { ...options, force: true });
    const bonds = new Map<string, bigint>();
    for (const a of accounts) {
      const account = getAddress(a);
      bonds.set(account, this.entries.get(account)!.bond);
    }
    return { minBond: this.min!.value, bonds };
  }

  /** The active bond of `account` as last read, or undefined when unread or stale. */
  bondOf(account: string): bigint | undefined {
    const e = this.entries.get(getAddress(account));
    return e !== undefined && this.fresh(e.readAt, this.now()) ? e.bond : undefined;
  }

  /** Whether `account` is bonded (active bond ≥ minBond) by a fresh answer; false when unknown or stale. */
  isBonded(account: string): boolean {
    const bond = this.bondOf(account);
    const min = this.min !== undefined && this.fresh(this.min.readAt, this.now()) ? this.min.value : undefined;
    return bond !== undefined && min !== undefined && bond >= min && bond > 0n;
  }

  private fresh(readAt: number | undefined, at: number): boolean {
    return readAt !== undefined && at - readAt < this.ttlMs;
  }
}
