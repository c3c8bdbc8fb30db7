import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { openStore } from "../../../keeper/store/index.ts";
import { buildManifest, toHex } from "../../../keeper/transfer/manifest.ts";
import { PublishedObjects } from "../../../keeper/transfer/published.ts";
import { TransferStore } from "../../../keeper/transfer/store.ts";

describe("published objects", () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-published-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function manifestOf(name: string) {
    const path = join(dir, name);
    writeFileSync(path, randomBytes(4 * 16384));
    return { path, manifest: await buildManifest(path, { partSize: 16384 }) };
  }

  it("keeps a bounded cache in memory and serves every object from the store beyond it, across a reopen", async () => {
    const dbPath = join(dir, "keeper.db");
    const store = openStore(dbPath);
    const published = new PublishedObjects(new TransferStore(store), 2);
    const objects = [];
    for (let i = 0; i < 5; i++) {
      const { path, manifest } = await manifestOf(`o${i}.bin`);
      published.add(path, manifest);
      objects.push({ id: toHex(manifest.objectId), path, parts: manifest.partHashes.length });
      assert.ok(published.cachedCount <= 2, `cache bounded (${published.cachedCount} after ${i + 1} objects)`);
    }
    assert.equal(published.size, 5);
    for (const o of objects) {
      const got = published.get(o.id);
      assert.equal(got?.path, o.path, "every object is served, cached or not");
      assert.equal(got.manifest.partHashes.length, o.parts);
      assert.ok(published.cachedCount <= 2);
    }
    // What serving learnt about the most recent object stays while it is used.
    published.get(objects[4]!.id)!.incompressible[0] = 1;
    assert.equal(published.get(objects[4]!.id)!.incompressible[0], 1);
    assert.equal(published.get("00".repeat(32)), undefined, "an object not published here");
    assert.equal(published.remove(objects[0]!.id), true);
    assert.equal(published.remove(objects[0]!.id), false, "removed once");
    assert.equal(published.get(objects[0]!.id), undefined);
    store.close();

    const reopened = openStore(dbPath);
    const again = new PublishedObjects(new TransferStore(reopened));
    assert.equal(again.size, 4, "the store is the record");
    assert.equal(again.cachedCount, 0, "nothing decoded before it is asked for");
    assert.equal(again.get(objects[3]!.id)?.path, objects[3]!.path);
    reopened.close();
  });
});
