#!/usr/bin/env node
/**
 * `npm run test:keeper`: the keeper, protocol and fuzz suites with Node's test runner, one process per file,
 * `cores` files at a time unless LUMORA_TEST_CONCURRENCY says otherwise (`npm test` sets it from how idle the
 * machine is: scripts/test-all.mjs). The choice is printed first.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";

const fixed = Number(process.env.LUMORA_TEST_CONCURRENCY);
const concurrency = Number.isInteger(fixed) && fixed > 0 ? fixed : availableParallelism();
process.stdout.write(`keeper suite: ${concurrency} test files at a time\n`);

const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-reporter=spec",
    "test/keeper/**/*.test.ts",
    "test/protocol/**/*.test.ts",
    "test/fuzz/**/*.test.ts",
  ],
  { stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
