/**
 * The operator's write routes on live loopback keepers: the token, loopback-only writes, validated bodies
 * (a 400 names the field), publish → transfer → epoch close with its steps as server-sent events.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { apiServer, type ApiServer, type TaskView } from "../../../keeper/api/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { silent, waitFor } from "../helpers.ts";

const TOKEN = "test-token-" + randomBytes(8).toString("hex");

function post(url: string, body: unknown, token: string | null = TOKEN, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token !== null && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function keeperAt(dir: string, i: number, bootstrap: string[] = []): Promise<Keeper> {
  return startKeeper({
    dataDir: join(dir, `k${i}`),
    capabilities: ["provider", "executor", "coordinator"],
    bandwidthBps: 1e7,
    capacity: 2,
    rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
    bootstrap,
    dhtQuerySelfIntervalMs: 200,
    routingRefreshMs: 200,
    logger: silent,
  });
}

describe("api operator routes", { timeout: 270_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-api-op-"));
  const keepers: Keeper[] = [];
  const servers: ApiServer[] = [];
  let provider: Keeper;
  let coordinator: Keeper;
  let api: ApiServer;
  let coordinatorApi: ApiServer;

  before(async () => {
    provider = await keeperAt(dir, 0);
    const boot = [provider.addresses[0]!];
    keepers.push(provider, await keeperAt(dir, 1, boot));
    coordinator = await keeperAt(dir, 2, boot);
    keepers.push(coordinator);
    api = apiServer({ port: 0, token: TOKEN, publishDirs: [dir] })({ keeper: provider, logger: silent });
    coordinatorApi = apiServer({ port: 0, token: TOKEN, publishDirs: [dir] })({ keeper: coordinator, logger: silent });
    servers.push(api, coordinatorApi);
    for (const s of servers) await s.start();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    for (const k of keepers) await k.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 401 without the token or with a wrong one, and 405 on a server without a token", async () => {
    for (const token of [null, "wrong"]) {
      const res = await post(api.url + "/api/epochs/close", {}, token);
      assert.equal(res.status, 401, `token ${token ?? "(none)"} refused`);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, "UNAUTHORIZED");
    }
    const readOnly = apiServer({ port: 0 })({ keeper: provider, logger: silent });
    await readOnly.start();
    try {
      assert.equal((await post(readOnly.url + "/api/publish", { path: "/x" })).status, 405);
    } finally {
      await readOnly.stop();
    }
  });

  it("refuses writes from a non-loopback address even with the token", async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
    if (external === undefined) return t.skip("no non-loopback IPv4 interface on this host");
    const open = apiServer({ host: "0.0.0.0", port: 0, token: TOKEN, allowedHosts: [external!.address] })({
      keeper: provider,
      logger: silent,
    });
    await open.start();
    try {
      const port = new URL(open.url).port;
      const res = await post(`http://${external!.address}:${port}/api/epochs/close`, {});
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "FORBIDDEN");
      assert.equal((await fetch(`http://${external!.address}:${port}/healthz`)).status, 200, "reads still answer");
    } finally {
      await open.stop();
    }
  });

  it("publishes only from api.publishDirs, never from the data directory, and not at all without them", async () => {
    const code = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
    // No publishDirs configured: refused, and the error names the field to set.
    const closed = apiServer({ port: 0, token: TOKEN })({ keeper: provider, logger: silent });
    await closed.start();
    try {
      const file = join(dir, "allowed.bin");
      writeFileSync(file, randomBytes(1000));
      const res = await post(closed.url + "/api/publish", { path: file });
      assert.equal(res.status, 403);
      const error = await code(res);
      assert.equal(error.code, "PUBLISH_DIRS_UNSET");
      assert.match(error.message, /api\.publishDirs/);
    } finally {
      await closed.stop();
    }
    // With publishDirs = [dir]: outside it, the data directory inside it, and a symlink leading out are refused.
    symlinkSync("/etc/hostname", join(dir, "link-out"));
    const refused: Array<[string, RegExp]> = [
      ["/proc/self/environ", /not inside api\.publishDirs/],
      [join(dir, "k0", "identity.key"), /data directory/],
      [join(dir, "k0", "keeper.db"), /data directory/],
      [join(dir, "link-out"), /not inside api\.publishDirs/],
    ];
    for (const [path, why] of refused) {
      const res = await post(api.url + "/api/publish", { path });
      assert.equal(res.status, 403, `${path} refused`);
      const error = await code(res);
      assert.equal(error.code, "PATH_NOT_ALLOWED", path);
      assert.match(error.message, why, path);
    }
  });

  it("rejects bad bodies with 400 naming the field", async () => {
    const cases: Array<[string, unknown, string]> = [
      ["/api/publish", {}, "path"],
      ["/api/publish", { path: "relative/file.bin" }, "path"],
      ["/api/publish", { path: join(dir, "missing.bin") }, "path"],
      ["/api/publish", { path: "/etc", extra: 1 }, "extra"],
      ["/api/publish", "{not json", "body"],
      ["/api/transfers", { objectId: "xyz", size: 1, providers: [provider.addresses[0]] }, "objectId"],
      ["/api/transfers", { objectId: "ab".repeat(32), size: -3, providers: [provider.addresses[0]] }, "size"],
      ["/api/transfers", { objectId: "ab".repeat(32), size: 10, providers: [] }, "providers"],
      ["/api/transfers", { objectId: "ab".repeat(32), size: 10, providers: ["/ip4/1.2.3.4/tcp/1"] }, "providers.0"],
      ["/api/epochs/close", { now: true }, "now"],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(api.url + path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)} → 400`);
      const { error } = (await res.json()) as { error: { code: string; field: string; message: string } };
      assert.equal(error.code, "INVALID_BODY");
      assert.equal(error.field, field, `${path} ${JSON.stringify(body)} names ${field}`);
      assert.ok(error.message.startsWith(`${field}: `), `message names the field: ${error.message}`);
    }
  });

  it("publishes a file, coordinates its transfer and closes the epoch with its steps streamed", async () => {
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(300_000));
    const res = await post(api.url + "/api/publish", { path: file });
    assert.equal(res.status, 200);
    const published = (await res.json()) as { objectId: string; size: number; parts: number };
    assert.match(published.objectId, /^[0-9a-f]{64}$/);
    assert.equal(published.size, 300_000);

    await waitFor(
      async () => (await coordinator.refreshRouting({ refreshDirectory: true })) >= 2,
      30_000,
      "the coordinator to route to both other keepers",
    );
    const queued = await post(coordinatorApi.url + "/api/transfers", {
      objectId: published.objectId,
      size: published.size,
      providers: [provider.addresses[0]],
    });
    assert.equal(queued.status, 202);
    const { id } = (await queued.json()) as { id: string };
    let task: TaskView | undefined;
    await waitFor(
      async () => {
        task = (await (await fetch(`${coordinatorApi.url}/api/tasks/${id}`)).json()) as TaskView;
        return !["queued", "assigned", "running"].includes(task.status);
      },
      30_000,
      "the transfer task to end",
    );
    assert.equal(task!.status, "succeeded", `task ended: ${task!.reason}`);
    assert.equal((await fetch(`${coordinatorApi.url}/api/tasks/no-such-task`)).status, 404);

    const close = await post(api.url + "/api/epochs/close", {}, TOKEN, { accept: "text/event-stream" });
    assert.equal(close.status, 200);
    assert.match(close.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await close.text();
    const events = text
      .trim()
      .split("\n\n")
      .map((block) => ({
        name: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as Record<string, unknown>,
      }));
    const steps = events.filter((e) => e.name === "step").map((e) => e.data.step);
    for (const step of ["receipts:gathered", "trees:built", "published"])
      assert.ok(steps.includes(step), `step ${step} streamed (got ${steps.join(", ")})`);
    const result = events.at(-1)!;
    assert.equal(result.name, "result");
    assert.equal(result.data.epoch, 1);
    assert.equal(result.data.submit, null, "no chain: nothing submitted");

    const again = await post(api.url + "/api/epochs/close", {});
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { epoch: number }).epoch, 2, "a plain JSON close answers the summary");
  });
});
