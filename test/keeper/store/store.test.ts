import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";

import { openStore, type Store } from "../../../keeper/store/index.ts";
import { StoreMigrationError } from "../../../keeper/store/errors.ts";

describe("store", () => {
  let dir: string;
  let store: Store | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lumora-store-"));
  });
  afterEach(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens in WAL mode with full synchronous writes", () => {
    store = openStore(join(dir, "k.db"));
    assert.equal((store.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    assert.equal((store.db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous, 2);
  });

  it("applies each namespace's migrations once, across reopenings", () => {
    const path = join(dir, "k.db");
    const migrations = [
      { version: 1, up: "CREATE TABLE a (x INTEGER)" },
      { version: 2, up: "ALTER TABLE a ADD COLUMN y TEXT" },
    ];
    store = openStore(path);
    store.migrate("alpha", migrations);
    store.db.prepare("INSERT INTO a (x, y) VALUES (1, 'one')").run();
    store.close();
    store = openStore(path);
    store.migrate("alpha", migrations);
    store.migrate("alpha", [...migrations, { version: 3, up: "CREATE TABLE b (z INTEGER)" }]);
    assert.deepEqual({ ...(store.db.prepare("SELECT x, y FROM a").get() as object) }, { x: 1, y: "one" });
    const versions = store.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'alpha'").all();
    assert.deepEqual(
      versions.map((r) => (r as { version: number }).version),
      [1, 2, 3],
    );
  });

  it("rejects migrations whose versions do not increase", () => {
    store = openStore(join(dir, "k.db"));
    assert.throws(
      () =>
        store!.migrate("beta", [
          { version: 2, up: "CREATE TABLE c (x INTEGER)" },
          { version: 2, up: "CREATE TABLE d (x INTEGER)" },
        ]),
      StoreMigrationError,
    );
  });

  it("rolls a failed transaction back whole", () => {
    store = openStore(join(dir, "k.db"));
    store.migrate("gamma", [{ version: 1, up: "CREATE TABLE t (x INTEGER NOT NULL)" }]);
    assert.throws(() =>
      store!.transaction(() => {
        store!.db.prepare("INSERT INTO t (x) VALUES (1)").run();
        store!.db.prepare("INSERT INTO t (x) VALUES (NULL)").run();
      }),
    );
    assert.equal((store.db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n, 0);
  });
});
