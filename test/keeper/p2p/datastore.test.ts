/**
 * The keeper's libp2p datastore (issue 13, point 7): DHT provider records stay bounded however many objects are
 * announced, and values never pin Node's shared Buffer pool (a soak keeper's heap held one 8 KiB pool slab per
 * 6-byte provider record).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";

import { Key } from "interface-datastore";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

import { KeeperDatastore, PROVIDER_PREFIX } from "../../../keeper/p2p/datastore.ts";
import { createLumoraNode, type LumoraNode } from "../../../keeper/p2p/node.ts";
import { waitFor } from "../helpers.ts";

type Datastore = KeeperDatastore;
const datastoreOf = (n: LumoraNode) => (n as unknown as { components: { datastore: Datastore } }).components.datastore;

async function collect<T>(it: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("KeeperDatastore", () => {
  it("keeps at most maxProviderRecords provider records, dropping the oldest written, and no other key", async () => {
    const ds = new KeeperDatastore(10);
    await ds.put(new Key("/peers/someone"), Uint8Array.of(1, 2, 3));
    for (let i = 0; i < 100; i++) await ds.put(new Key(`${PROVIDER_PREFIX}cid${i}/peer`), Uint8Array.of(i));
    // A rewrite (re-announcement) makes a record the newest.
    await ds.put(new Key(`${PROVIDER_PREFIX}cid90/peer`), Uint8Array.of(90));
    await ds.put(new Key(`${PROVIDER_PREFIX}cid100/peer`), Uint8Array.of(100));
    assert.equal(ds.providerRecords, 10);
    const held = (await collect(ds.queryKeys({ prefix: PROVIDER_PREFIX }))).map((k) => k.toString()).sort();
    const expected = [90, 92, 93, 94, 95, 96, 97, 98, 99, 100].map((i) => `${PROVIDER_PREFIX}cid${i}/peer`).sort();
    assert.deepEqual(held, expected);
    assert.ok(await ds.has(new Key("/peers/someone")), "other keys are not evicted");
    await ds.delete(new Key(`${PROVIDER_PREFIX}cid100/peer`));
    assert.equal(ds.providerRecords, 9);
  });

  it("stores a copy of each value in a buffer of its own, not a view into Node's Buffer pool", async () => {
    const ds = new KeeperDatastore();
    const pooled = Buffer.allocUnsafe(6).fill(7);
    assert.ok(pooled.buffer.byteLength > 6, "precondition: a small allocUnsafe is a slice of the pool");
    await ds.put(new Key("/dht/provider/x/y"), pooled);
    const stored = await ds.get(new Key("/dht/provider/x/y"));
    assert.deepEqual([...stored], [7, 7, 7, 7, 7, 7]);
    assert.equal(stored.buffer.byteLength, 6);
  });
});

describe("a keeper node's provider records", () => {
  const nodes: LumoraNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it("stay bounded and own their bytes however many objects a peer announces", async () => {
    const holder = await createLumoraNode({ maxProviderRecords: 8 });
    const announcer = await createLumoraNode();
    nodes.push(holder, announcer);
    await announcer.dial(holder.getMultiaddrs()[0]!);
    await waitFor(
      async () => (await collect(announcer.services.dht.getClosestPeers(randomBytes(32)))).length > 0,
      30_000,
      "the announcer's DHT to know the holder",
    );
    const ds = datastoreOf(holder);
    assert.ok(ds instanceof KeeperDatastore, "createLumoraNode gives libp2p a KeeperDatastore");
    const announced = 24;
    for (let i = 0; i < announced; i++) {
      const cid = CID.createV1(raw.code, await sha256.digest(randomBytes(32)));
      await announcer.contentRouting.provide(cid, { signal: AbortSignal.timeout(30_000) });
    }
    const other = announcer.peerId.toString();
    const fromAnnouncer = async () =>
      (await collect(ds.query({ prefix: PROVIDER_PREFIX }))).filter((p) => p.key.toString().endsWith(other));
    await waitFor(async () => (await fromAnnouncer()).length === 8, 30_000, "8 records of the announcer held");
    const records = await fromAnnouncer();
    assert.equal(ds.providerRecords, 8);
    for (const r of records) assert.equal(r.value.buffer.byteLength, r.value.byteLength, "a value owns its buffer");
  });
});
