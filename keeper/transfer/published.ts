/**
 * The objects this node serves: the store's `transfer_objects` table is the record, and a bounded cache of the most
 * recently used ones (decoded manifest, and what serving learnt about each part) is what requests read. Memory
 * stays constant however many objects a keeper publishes over its life — holding every manifest in memory cost
 * ~1.8 KiB per object published, for ever (a soak's keepers grew with every object they served).
 */
import { MAX_CACHED_OBJECTS } from "./constants.ts";
import { toHex } from "./manifest.ts";
import { Manifest } from "./pb/transfer.ts";
import type { PublishedObject } from "./provider.ts";
import type { TransferStore } from "./store.ts";

export class PublishedObjects {
  /** Most recently used last (a Map keeps insertion order; a hit is moved to the end). */
  private readonly cache = new Map<string, PublishedObject>();

  constructor(
    private readonly store: TransferStore,
    private readonly capacity = MAX_CACHED_OBJECTS,
  ) {}

  /** Records `manifest` as served from `path` (replacing an earlier record of the object). */
  add(path: string, manifest: Manifest): PublishedObject {
    const objectId = toHex(manifest.objectId);
    this.store.savePublished({ objectId, path, manifest: Manifest.encode(manifest) });
    this.cache.delete(objectId);
    return this.cached(objectId, path, manifest);
  }

  /** The object, from the cache or else the store; undefined when it is not served here. */
  get(objectId: string): PublishedObject | undefined {
    const hit = this.cache.get(objectId);
    if (hit !== undefined) {
      this.cache.delete(objectId);
      this.cache.set(objectId, hit);
      return hit;
    }
    const row = this.store.publishedOne(objectId);
    return row === undefined ? undefined : this.cached(objectId, row.path, Manifest.decode(row.manifest));
  }

  /** Stops serving `objectId`; whether it was served. */
  remove(objectId: string): boolean {
    this.cache.delete(objectId);
    return this.store.removePublished(objectId);
  }

  /** Objects served here (the store's count). */
  get size(): number {
    return this.store.publishedCount();
  }

  /** Objects held decoded in memory now (at most the capacity). */
  get cachedCount(): number {
    return this.cache.size;
  }

  private cached(objectId: string, path: string, manifest: Manifest): PublishedObject {
    const object: PublishedObject = {
      objectId,
      idBytes: manifest.objectId,
      path,
      manifest,
      incompressible: new Uint8Array(Math.ceil(manifest.partHashes.length / 8)),
    };
    this.cache.set(objectId, object);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return object;
  }
}
