#!/usr/bin/env node
/**
 * `npm test`: the contract suite and the keeper suite side by side. The contract suite keeps a core busy (the
 * in-process Hardhat network); the keeper suite mostly waits on real sockets and timers, so together they take
 * about as long as the keeper suite alone. Each line is prefixed with its suite; the exit code is non-zero when
 * either suite fails, and each suite's result is printed when it ends.
 *
 * Every Node process of the run (test files, the children they spawn, the CLI under test) shares one V8 compile
 * cache (NODE_COMPILE_CACHE, Node ≥ 22.1): the same ethers, libp2p and Hardhat modules are loaded by hundreds of
 * processes, and each compiles them only once. Entries are keyed by the source's hash, so a stale entry is never
 * used. Set NODE_COMPILE_CACHE yourself to put it elsewhere.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const compileCache =
  process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL("../node_modules/.cache/node-compile", import.meta.url));

const suites = [
  ["contracts", "test:contracts"],
  ["keeper", "test:keeper"],
];
const started = Date.now();

function run([name, script]) {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", script], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_COMPILE_CACHE: compileCache },
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
    }
    child.on("close", (code, signal) => {
      const s = ((Date.now() - started) / 1000).toFixed(0);
      process.stdout.write(
        `== ${name}: ${code === 0 ? "passed" : `FAILED (${signal ?? `exit ${code}`})`} after ${s} s\n`,
      );
      resolve(code === 0);
    });
  });
}

const results = await Promise.all(suites.map(run));
process.exitCode = results.every(Boolean) ? 0 : 1;
