/**
 * Reputation's flags of the known nodes, cached: routing never chooses a flagged node, and reads the cache on
 * every refresh instead of the chain. The cache is refreshed every FLAG_REFRESH_MS; a failed read keeps the
 * previous answer for that account (the chain module already retried transient errors).
 */
import type { Logger } from "../logger.ts";
import { FLAG_REFRESH_MS } from "./constants.ts";

export interface ReputationFlagsInit {
  /** Milliseconds between refreshes (default FLAG_REFRESH_MS). */
  refreshMs?: number;
}

export interface ReputationFlagsComponents {
  logger: Logger;
  /** Reward addresses of the known nodes (from their signed peer records). */
  accounts: () => string[];
  /** Reputation's `isFlagged(account)`. */
  readFlag: (account: string) => Promise<boolean>;
}

export class ReputationFlags {
  /** Flagged reward addresses, lower case. */
  readonly flagged = new Set<string>();
  private readonly log: Logger;
  private readonly refreshMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly components: ReputationFlagsComponents,
    init: ReputationFlagsInit = {},
  ) {
    this.log = components.logger.child("flags");
    this.refreshMs = init.refreshMs ?? FLAG_REFRESH_MS;
  }

  /** Reads the flags once now, then every `refreshMs`. */
  start(): void {
    if (this.timer !== undefined) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  has(account: string): boolean {
    return this.flagged.has(account.toLowerCase());
  }

  async refresh(options: { signal?: AbortSignal } = {}): Promise<void> {
    const accounts = [...new Set(this.components.accounts().map((a) => a.toLowerCase()))];
    await Promise.all(
      accounts.map(async (a) => {
        try {
          options.signal?.throwIfAborted();
          if (await this.components.readFlag(a)) this.flagged.add(a);
          else this.flagged.delete(a);
        } catch (err) {
          this.log.debug("flag read failed; keeping the cached value", { account: a, error: err as Error });
        }
      }),
    );
  }
}

export function reputationFlags(
  init: ReputationFlagsInit = {},
): (components: ReputationFlagsComponents) => ReputationFlags {
  return (components) => new ReputationFlags(components, init);
}
