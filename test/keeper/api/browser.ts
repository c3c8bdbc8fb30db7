/**
 * The Chromium build shipped inside the npm package `@sparticuz/chromium`, driven by playwright-core, so that
 * `npm install` alone is enough for the dashboard test: no system browser (never `which chromium`), no apt, and
 * never a browser downloaded by playwright.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import sparticuz from "@sparticuz/chromium";
import { chromium, type BrowserContext } from "playwright-core";

/** What a browser on a closed network must not try: phone home, update components, sync, speak QUIC. */
export const CLOSED_NETWORK_FLAGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

export function chromiumFlags(): string[] {
  return [...new Set([...sparticuz.args, ...CLOSED_NETWORK_FLAGS])];
}

/**
 * The package unpacks its brotli archives into `os.tmpdir()` and takes a half-written `/tmp/chromium` for a
 * finished one, so two test processes (or a run killed mid-unpack) can leave a broken binary there. Unpack instead
 * into a private staging folder and rename it, whole, to a cache folder named after the package's version: the
 * rename is atomic, so the cache holds either nothing or a complete browser, and the loser of a race discards its
 * copy.
 */
export async function chromiumPath(): Promise<string> {
  const pkgDir = join(dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")), "..");
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  const cache = join(tmpdir(), `lumora-sparticuz-chromium-${version}`);
  const binary = join(cache, "chromium");
  if (existsSync(binary)) return binary;

  const staging = mkdtempSync(join(tmpdir(), "lumora-sparticuz-unpack-"));
  const savedTmpdir = process.env.TMPDIR;
  // executablePath() resolves every output path from os.tmpdir() synchronously, before its first await.
  process.env.TMPDIR = staging;
  let unpacking: Promise<string>;
  try {
    unpacking = sparticuz.executablePath();
  } finally {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
  }
  try {
    const unpacked = await unpacking;
    if (unpacked !== join(staging, "chromium")) {
      throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, expected ${join(staging, "chromium")}`);
    }
    renameSync(staging, cache);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another process renamed its complete copy first: use it.
    if (existsSync(binary)) return binary;
    throw new Error(`could not unpack the Chromium of @sparticuz/chromium ${version}: ${String(err)}`, { cause: err });
  }
  return binary;
}

/** A browser context on a fresh, empty user-data dir (playwright passes it as --user-data-dir). */
export async function launchChromium(): Promise<BrowserContext> {
  const executablePath = await chromiumPath();
  const userDataDir = mkdtempSync(join(tmpdir(), "lumora-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: chromiumFlags(),
    viewport: { width: 1280, height: 900 },
  });
  // Chromium's processes may still write to the profile as the context closes (ENOTEMPTY on a first removal, seen in
  // CI): retry, and never throw from the event (a temporary directory left behind is harmless).
  context.on("close", () => {
    void rm(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => undefined);
  });
  return context;
}
