/**
 * What a provider keeps about its paying consumers across sessions and connections, each bounded so that strangers
 * cannot grow it (docs/security.md "Paid demand"):
 *
 * - `ConsumerDebts`: per consumer — by peer id and by paying key — the bytes sent and the token units its vouchers
 *   added. The unpaid allowance is checked against these, so a consumer that opens session after session (or one key
 *   used from many peers) takes at most one allowance unpaid, not one per session.
 * - `CreditCache`: the vault's answer to "how much can this consumer still pay on this channel", per channel, reused
 *   for CREDIT_CACHE_TTL_MS, with one read in flight per channel and at most CREDIT_READS_PER_SECOND fresh reads a
 *   second over all channels: a flood of fresh paying keys costs the keeper's RPC transport a bounded rate.
 *
 * Both are least-recently-used maps of at most their `max` entries: forgetting a consumer forgives at most one
 * allowance.
 */

export interface UnfundedBudgetInit {
  /** Bytes per window (and the most that may be taken at once). */
  bytes: number;
  /** The window, ms: the budget refills continuously at `bytes` per window. */
  windowMs: number;
  now?: () => number;
}

/**
 * A provider's budget of bytes sent to unfunded consumers, over all of them (docs/security.md "Paid demand", fresh
 * peer ids): a token bucket of `bytes` refilled over `windowMs`. `take` charges what was sent (it may go below zero
 * by the parts in flight when it ran out); `spent` says whether an unfunded consumer may be served more.
 */
export class UnfundedBudget {
  private available: number;
  private at: number;
  private readonly now: () => number;
  /** Bytes charged in all. */
  taken = 0;

  constructor(private readonly init: UnfundedBudgetInit) {
    if (!(init.bytes >= 1 && init.windowMs >= 1))
      throw new RangeError(`bytes and windowMs must be ≥ 1, got ${init.bytes}, ${init.windowMs}`);
    this.now = init.now ?? Date.now;
    this.available = init.bytes;
    this.at = this.now();
  }

  private refill(): void {
    const now = this.now();
    this.available = Math.min(
      this.init.bytes,
      this.available + ((now - this.at) * this.init.bytes) / this.init.windowMs,
    );
    this.at = now;
  }

  take(bytes: number): void {
    this.refill();
    this.available -= bytes;
    this.taken += bytes;
  }

  get spent(): boolean {
    this.refill();
    return this.available <= 0;
  }
}

/** The vault reads `vaultCredit` needs (CreditVault's views). */
export interface CreditVaultReads {
  depositOf(consumer: string): Promise<{ balance: bigint }>;
  settledOf(consumer: string, account: string): Promise<bigint>;
}

/**
 * What a provider counts on a channel being able to pay (docs/security.md "Paid demand", one deposit for many
 * providers): what the channel already settled plus `shareBps` / 10,000 of the consumer's deposit still unspent. A
 * voucher above it is not covered: the provider stops serving until a settlement (its own, `lumora:settle`, or a
 * close's) moves the amount from the deposit to the channel. Others' settlements lower the balance, and with it every
 * provider's share, at the next read.
 */
export function vaultCredit(
  vault: CreditVaultReads,
  shareBps: number,
): (consumer: string, account: string) => Promise<bigint> {
  if (!(Number.isInteger(shareBps) && shareBps >= 0 && shareBps <= 10_000))
    throw new RangeError(`shareBps must be an integer in [0, 10000], got ${shareBps}`);
  return async (consumer, account) => {
    const [deposit, settled] = await Promise.all([vault.depositOf(consumer), vault.settledOf(consumer, account)]);
    return settled + (deposit.balance * BigInt(shareBps)) / 10_000n;
  };
}

/** A Map that keeps at most `max` entries, forgetting the least recently used. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`max must be ≥ 1, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

/** What one consumer (a peer, or a paying key) owes for. */
export interface ConsumerDebt {
  /** Bytes sent to it. */
  sent: bigint;
  /** Token units its vouchers added to their channels. */
  paid: bigint;
}

export class ConsumerDebts {
  private readonly debts: LruMap<string, ConsumerDebt>;

  constructor(max: number) {
    this.debts = new LruMap(max);
  }

  /** The debt of a peer (`peer:<id>`) or paying key (`key:<address>`), created empty. */
  of(who: string): ConsumerDebt {
    let d = this.debts.get(who);
    if (d === undefined) this.debts.set(who, (d = { sent: 0n, paid: 0n }));
    return d;
  }

  get size(): number {
    return this.debts.size;
  }
}

export interface CreditCacheInit {
  /** How long a read is reused, ms. */
  ttlMs: number;
  /** Fresh reads allowed per second over all channels. */
  readsPerSecond: number;
  /** Channels remembered. */
  max: number;
  now?: () => number;
}

export interface CreditCacheStats {
  /** Reads sent to the chain. */
  reads: number;
  /** Reads answered from the cache or joined to one in flight. */
  cached: number;
  /** Reads not made because the rate was spent (the deposit is then not checked this time). */
  limited: number;
}

/**
 * The vault's credit per channel, read through `read` at most once per TTL per channel and at most `readsPerSecond`
 * times a second in all. `get` resolves undefined when the rate is spent (the caller checks again later).
 */
export class CreditCache {
  readonly stats: CreditCacheStats = { reads: 0, cached: 0, limited: 0 };
  private readonly entries: LruMap<string, { at: number; credit: Promise<bigint> }>;
  private tokens: number;
  private refilledAt: number;
  private readonly now: () => number;

  constructor(
    private readonly read: (consumer: string, account: string, options: { signal?: AbortSignal }) => Promise<bigint>,
    private readonly init: CreditCacheInit,
  ) {
    this.entries = new LruMap(init.max);
    this.now = init.now ?? Date.now;
    this.tokens = init.readsPerSecond;
    this.refilledAt = this.now();
  }

  get(consumer: string, account: string, options: { signal?: AbortSignal } = {}): Promise<bigint | undefined> {
    const key = `${consumer}>${account}`;
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.at < this.init.ttlMs) {
      this.stats.cached++;
      return hit.credit;
    }
    this.tokens = Math.min(
      this.init.readsPerSecond,
      this.tokens + ((now - this.refilledAt) / 1000) * this.init.readsPerSecond,
    );
    this.refilledAt = now;
    if (this.tokens < 1) {
      this.stats.limited++;
      return Promise.resolve(undefined);
    }
    this.tokens -= 1;
    this.stats.reads++;
    const credit = this.read(consumer, account, options);
    this.entries.set(key, { at: now, credit });
    // A failed read is not kept: the next asks again.
    credit.catch(() => {
      if (this.entries.get(key)?.credit === credit) this.entries.set(key, { at: -Infinity, credit });
    });
    return credit;
  }
}
