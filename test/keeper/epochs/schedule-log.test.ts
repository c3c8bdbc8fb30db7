/**
 * In JSON mode every line a keeper writes is JSON: node-cron's own messages (its coloured
 * "task still running, new execution blocked" when a tick overlaps a close) go through the keeper's logger.
 * Runs the schedule in a child process and parses everything it writes to stdout and stderr.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./fixtures/overlap-child.ts", import.meta.url));

describe("epochs/schedule logging", { timeout: 60_000 }, () => {
  it("writes only JSON lines in JSON mode when a tick overlaps a running close", async () => {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), CHILD], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LUMORA_LOG_FORMAT: undefined, LUMORA_LOG_LEVEL: undefined },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/tick skipped/.test(stderr + stdout)) {
        if (Date.now() > deadline || child.exitCode !== null)
          assert.fail(`no overlapping tick reported within 20 s; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exit, 0, stderr);

    const lines = stderr.split("\n").filter((l) => l !== "");
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `stderr line is JSON: ${line}`);
    assert.deepEqual(stdout, "started\n", "nothing but the child's own marker on stdout");
    const entries = lines.map((l) => JSON.parse(l) as { level: string; name: string; msg: string });
    const skipped = entries.find((e) => /tick skipped/.test(e.msg));
    assert.equal(skipped?.level, "warn");
    assert.equal(skipped?.name, "keeper:epoch-schedule");
  });
});
