import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { openStore } from "../../../keeper/store/index.ts";
import { Harness, randomData } from "./helpers.ts";

const PART = 64 * 1024;
const PARTS = 64;
const FIXTURE = fileURLToPath(new URL("./fixtures/consumer.ts", import.meta.url));

function runConsumer(args: string[]): { child: ChildProcess; result: Promise<Record<string, number>> } {
  const child = fork(FIXTURE, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    child.on("message", (m) => {
      if ((m as { parts?: number }).parts !== undefined) resolve(m as Record<string, number>);
    });
    child.on("exit", (code, signal) => reject(new Error(`consumer exited (${code ?? signal})`)));
  });
  result.catch(() => {});
  return { child, result };
}

describe("transfer resume", () => {
  const h = new Harness();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await h.cleanup();
  });

  it("resumes after the consumer is SIGKILLed without refetching verified parts", async () => {
    const data = randomData(PARTS * PART);
    const served = new Array<number>(PARTS).fill(0);
    let onServed: ((total: number) => void) | undefined;
    let total = 0;
    const provider = await h.peer({
      init: { partSize: PART },
      testHooks: {
        // slow enough that the kill lands mid-transfer
        beforeServe: () => new Promise((r) => setTimeout(r, 15)),
        onPartServed: (_o, i) => {
          served[i]++;
          onServed?.(++total);
        },
      },
    });
    const { objectId } = await provider.transfer.publish(await h.file(data), { announce: false });
    const dir = await h.dir();
    const storePath = join(dir, "consumer.db");
    const dest = join(dir, "out.bin");
    const args = [storePath, objectId, dest, provider.addr];

    const first = runConsumer(args);
    children.push(first.child);
    const killed = new Promise<void>((resolve) => {
      onServed = (n) => {
        if (n === PARTS / 2) {
          first.child.kill("SIGKILL");
          resolve();
        }
      };
    });
    await killed;
    await new Promise((r) => first.child.once("exit", r));
    onServed = undefined;
    await assert.rejects(first.result, /SIGKILL/);

    // What the killed consumer had durably verified.
    const db = openStore(storePath);
    const verified = (
      db.db.prepare("SELECT part_index FROM transfer_parts").all() as Array<{ part_index: number }>
    ).map((r) => r.part_index);
    db.close();
    assert.ok(verified.length > 0 && verified.length < PARTS, `verified ${verified.length} parts before the kill`);
    const servedBefore = served.slice();

    const second = runConsumer(args);
    children.push(second.child);
    const result = await second.result;
    assert.equal(result.resumedParts, verified.length, "every verified part resumed");
    assert.equal(result.resumedParts + result.fetchedParts, PARTS);
    for (const i of verified) {
      assert.equal(served[i], servedBefore[i], `verified part ${i} was not served again`);
    }
    assert.ok((await readFile(dest)).equals(data), "object correct after resume");
  });
});
