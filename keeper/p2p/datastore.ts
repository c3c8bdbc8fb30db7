/**
 * The libp2p datastore of a keeper: libp2p's in-memory store (peer store, DHT records, DHT provider records) with
 * two bounds it lacks (issue 13, point 7, found by heap snapshots of a soak keeper):
 *
 * - **Values are copied into buffers of their own.** libp2p writes small values (a provider record's value is a
 *   6-byte varint) that are views into Node's shared 8 KiB Buffer pool; kept in the store, each pinned a whole
 *   pool slab — ~10 MiB of ArrayBuffers after ten minutes of a 6-keeper soak, and most of a 20-keeper soak's RSS
 *   growth.
 * - **Provider records are bounded** (MAX_PROVIDER_RECORDS, oldest written first): libp2p holds other peers'
 *   records for 48 h and its own for ever, one per object published — unbounded in a keeper's life.
 */
import { MemoryDatastore } from "datastore-core/memory";
import { Key } from "interface-datastore";

import { MAX_PROVIDER_RECORDS } from "./constants.ts";

/** Where kad-dht (its default `datastorePrefix`, which the keeper keeps) writes provider records. */
export const PROVIDER_PREFIX = "/dht/provider/";

type PutOptions = Parameters<MemoryDatastore["put"]>[2];
type DeleteOptions = Parameters<MemoryDatastore["delete"]>[1];

export class KeeperDatastore extends MemoryDatastore {
  /** Provider record keys in write order, the oldest first (a Set keeps insertion order). */
  private readonly providerKeys = new Set<string>();

  constructor(private readonly maxProviderRecords = MAX_PROVIDER_RECORDS) {
    super();
    if (!(maxProviderRecords >= 1)) throw new RangeError(`maxProviderRecords must be ≥ 1, got ${maxProviderRecords}`);
  }

  /** Provider records held now (at most maxProviderRecords). */
  get providerRecords(): number {
    return this.providerKeys.size;
  }

  override put(key: Key, val: Uint8Array, options?: PutOptions): Key {
    const own = new Uint8Array(val.byteLength);
    own.set(val);
    super.put(key, own, options);
    const k = key.toString();
    if (k.startsWith(PROVIDER_PREFIX)) {
      this.providerKeys.delete(k);
      this.providerKeys.add(k);
      for (const oldest of this.providerKeys) {
        if (this.providerKeys.size <= this.maxProviderRecords) break;
        this.providerKeys.delete(oldest);
        super.delete(new Key(oldest));
      }
    }
    return key;
  }

  override delete(key: Key, options?: DeleteOptions): void {
    super.delete(key, options);
    this.providerKeys.delete(key.toString());
  }
}
