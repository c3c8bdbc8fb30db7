/**
 * What can be audited: the (provider, object) pairs this keeper learned from the transfer requests it handled —
 * the providers a customer named for an object they announced — bounded to MAX_AUDIT_TARGETS pairs (the oldest
 * learned go first). A pick is uniform over providers first, then over that provider's objects, so a provider
 * announcing many objects is not audited more often than one announcing a single object.
 */
import { MAX_AUDIT_TARGETS } from "./constants.ts";
import { randomIndex, type Random } from "./random.ts";

export interface AuditTarget {
  provider: string;
  /** The transfer object id (hex). */
  objectId: string;
  /** Object size in bytes (as the request stated it; the fetch checks the real one). */
  size: number;
}

export class AuditTargets {
  /** provider → objectId → size, in learning order (a Map keeps insertion order: the oldest first). */
  private readonly byProvider = new Map<string, Map<string, number>>();
  /** Every pair in learning order, for eviction. */
  private readonly order = new Map<string, { provider: string; objectId: string }>();

  constructor(private readonly max = MAX_AUDIT_TARGETS) {}

  get size(): number {
    return this.order.size;
  }

  /** Providers with at least one object. */
  providers(): string[] {
    return [...this.byProvider.keys()];
  }

  /** Remembers that `provider` serves `objectId` (learning it again makes it the newest). */
  learn(provider: string, objectId: string, size: number): void {
    if (!(size > 0)) return;
    const key = `${provider} ${objectId}`;
    this.order.delete(key);
    this.order.set(key, { provider, objectId });
    const objects = this.byProvider.get(provider) ?? new Map<string, number>();
    objects.set(objectId, size);
    this.byProvider.set(provider, objects);
    while (this.order.size > this.max) {
      const [oldest, pair] = this.order.entries().next().value!;
      this.order.delete(oldest);
      this.forgetPair(pair.provider, pair.objectId);
    }
  }

  private forgetPair(provider: string, objectId: string): void {
    const objects = this.byProvider.get(provider);
    objects?.delete(objectId);
    if (objects?.size === 0) this.byProvider.delete(provider);
  }

  /** A random target (excluding `self`), or undefined when nothing is known. */
  pick(random: Random, self?: string): AuditTarget | undefined {
    const providers = this.providers().filter((p) => p !== self);
    if (providers.length === 0) return undefined;
    const provider = providers[randomIndex(random, providers.length)];
    const objects = [...this.byProvider.get(provider)!];
    const [objectId, size] = objects[randomIndex(random, objects.length)];
    return { provider, objectId, size };
  }
}
