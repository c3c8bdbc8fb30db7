/**
 * The dashboard in a real browser: three keepers on 127.0.0.1, one publishes a file, a transfer task runs on a
 * routed executor; the coordinator's and the executor's dashboards are rendered by the Chromium of the npm package
 * @sparticuz/chromium (test/keeper/api/browser.ts) and
 * checked for what an operator must see (peer ids, task counts, the transfer), with a screenshot kept.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import type { BrowserContext } from "playwright-core";

import { apiServer, type ApiServer } from "../../../keeper/api/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { createLogger } from "../../../keeper/logger.ts";
import type { Capability } from "../../../keeper/types.ts";
import { launchChromium } from "./browser.ts";

const logger = createLogger("test", { level: process.env.LUMORA_LOG_LEVEL === undefined ? "silent" : undefined });

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("operator dashboard in chromium", { timeout: 270_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-dashboard-"));
  const shots = mkdtempSync(join(tmpdir(), "lumora-dashboard-shots-"));
  const keepers: Keeper[] = [];
  const servers: ApiServer[] = [];
  let browser: BrowserContext | undefined;
  let executor: Keeper;

  const start = async (i: number, capabilities: Capability[]) => {
    const k = await startKeeper({
      dataDir: join(dir, `k${i}`),
      bootstrap: keepers.length > 0 ? [keepers[0]!.addresses[0]!] : [],
      capabilities,
      bandwidthBps: 50_000_000 * (i + 1),
      capacity: 4,
      rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
      attemptTimeoutMs: 20_000,
      dhtQuerySelfIntervalMs: 500,
      routingRefreshMs: 500,
      logger: logger.child(`k${i}`),
    });
    keepers.push(k);
    return k;
  };
  const serve = async (k: Keeper) => {
    const s = apiServer({ port: 0, pushIntervalMs: 300 })({ keeper: k, logger });
    await s.start();
    servers.push(s);
    return s;
  };

  before(async () => {
    // Fail first, and clearly, when the browser is missing (before spending time on the network).
    browser = await launchChromium();
    const coordinator = await start(0, ["coordinator", "consumer", "provider"]);
    await start(1, ["executor"]);
    await start(2, ["executor"]);
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(2 * 1024 * 1024 + 5));
    const published = await coordinator.publish(file);
    await until("both executors routable", async () => {
      await coordinator.refreshRouting({ refreshDirectory: true });
      return keepers.slice(1).every((k) => coordinator.routing.isAvailable(k.peerId.toString()));
    });
    const outcome = await coordinator.requestTransfer({
      objectId: published.objectId,
      size: published.size,
      providers: [coordinator.addresses[0]!],
      id: "task-dashboard",
    });
    assert.equal(outcome.status, "succeeded", `transfer task ended ${outcome.status}: ${outcome.reason}`);
    executor = keepers.find((k) => k.peerId.toString() === outcome.executor)!;
    assert.ok(executor !== undefined, "the executor is one of our keepers");
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(keepers.map((k) => k.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows the coordinator's peers with their scores, the finished task and the served object", async () => {
    const coordinator = keepers[0]!;
    const server = await serve(coordinator);
    const page = await browser!.newPage();
    await page.goto(server.url + "/");
    await page.locator("#live.on").waitFor({ timeout: 30_000 });
    await page.locator("#tasks-done", { hasText: "1" }).waitFor({ timeout: 30_000 });

    assert.equal(await page.locator("#self-id").textContent(), coordinator.peerId.toString());
    for (const k of keepers.slice(1)) {
      const row = page.locator(`#peers td[data-peer="${k.peerId.toString()}"]`);
      assert.equal(await row.count(), 1, `peer ${k.peerId} shown`);
    }
    assert.equal(await page.locator("#peer-count").textContent(), "2");
    assert.equal(await page.locator("#tasks-queued").textContent(), "0");
    assert.equal(await page.locator("#tasks-inflight").textContent(), "0");
    const task = page.locator("#tasks tbody tr", { hasText: "task-dashboard" });
    assert.match((await task.textContent()) ?? "", /succeeded/);
    const served = page.locator("#transfers tbody tr", { hasText: "serving" });
    assert.equal(await served.count(), 1, "the published object is listed as served");
    assert.match((await served.textContent()) ?? "", /100%/);
    const scores = await page.locator("#peers tbody tr td:nth-child(6)").allTextContents();
    for (const s of scores) assert.match(s, /^\d+\.\d{3}$/, `score cell "${s}" is a number`);

    const shot = join(shots, "coordinator.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    await page.close();
  });

  it("shows the executor's download at 100 % and updates live over server-sent events", async () => {
    const server = await serve(executor);
    const page = await browser!.newPage();
    await page.goto(server.url + "/");
    await page.locator("#live.on").waitFor({ timeout: 30_000 });
    const download = page.locator("#transfers tbody tr", { hasText: "download" });
    await download.waitFor({ timeout: 30_000 });
    assert.match((await download.textContent()) ?? "", /100%/);
    const before = await page.locator("#uptime").textContent();
    await until("a pushed update", async () => (await page.locator("#uptime").textContent()) !== before, 15_000);
    const shot = join(shots, "executor.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    await page.close();
  });
});
