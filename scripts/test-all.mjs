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
 *
 * How many keeper test files run at once: the number of cores, or one more when the machine was idle in the
 * second before the suites start (at least 70 % of its CPU time idle). The keeper's tests mostly wait on
 * sockets, timers and child processes — about 1.5 cores busy at `cores` files — so an idle machine has room for
 * one more file; a busy one does not, and its tests keep the timing margins they were written with. Set
 * LUMORA_TEST_CONCURRENCY to choose yourself.
 *
 * The contracts are compiled (and their TypeChain types generated) once before the suites start, and the suites
 * run with type generation off (HARDHAT_NO_TYPECHAIN): a `hardhat` command inside a test (the demo's `hardhat
 * run`, the contract suite's own build) would otherwise rewrite types/ethers-contracts while other test files
 * import it, and one of them read a half-written file.
 */
import { spawn } from "node:child_process";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const compileCache =
  process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL("../node_modules/.cache/node-compile", import.meta.url));

/** Share of CPU time idle over the next `ms` (all cores). */
async function idleShare(ms) {
  const sum = () =>
    cpus().reduce(
      (t, c) => ({ idle: t.idle + c.times.idle, all: t.all + Object.values(c.times).reduce((a, b) => a + b, 0) }),
      { idle: 0, all: 0 },
    );
  const before = sum();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = sum();
  return (after.idle - before.idle) / Math.max(1, after.all - before.all);
}

let keeperConcurrency = process.env.LUMORA_TEST_CONCURRENCY;
if (keeperConcurrency === undefined) {
  const idle = await idleShare(1_000);
  keeperConcurrency = String(idle >= 0.7 ? availableParallelism() + 1 : availableParallelism());
  process.stdout.write(
    `== machine ${(idle * 100).toFixed(0)} % idle: ${keeperConcurrency} keeper test files at a time\n`,
  );
}

function compile() {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", "compile", "--", "--quiet"], { stdio: "inherit" });
    child.on("close", (code) => resolve(code === 0));
  });
}
if (!(await compile())) {
  process.stdout.write("== the contracts do not compile: no tests run\n");
  process.exit(1);
}

const suites = [
  ["contracts", "test:contracts"],
  ["keeper", "test:keeper"],
];
const started = Date.now();

function run([name, script]) {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", script], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NODE_COMPILE_CACHE: compileCache,
        LUMORA_TEST_CONCURRENCY: keeperConcurrency,
        HARDHAT_NO_TYPECHAIN: "true",
      },
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
