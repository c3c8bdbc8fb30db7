#!/usr/bin/env node
// `lumora-keeper` launcher. The CLI is TypeScript on Node 22 (pinned by the project as the `node` package);
// this plain-JS file runs under whatever `node` the shell finds, then re-executes the pinned Node 22 with the
// tsx loader on keeper/cli/index.ts, both resolved from this package's own node_modules (so the command works
// from any directory). Signals are forwarded; the exit code is the CLI's.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const pinned = join(root, "node_modules", "node", "bin", "node");
const major = Number(process.versions.node.split(".")[0]);
const node = existsSync(pinned) ? pinned : major >= 22 ? process.execPath : undefined;
if (node === undefined) {
  process.stderr.write("lumora-keeper: Node 22 not found (run `npm install` in the Lumora folder)\n");
  process.exit(1);
}
let tsx;
try {
  tsx = import.meta.resolve("tsx");
} catch {
  process.stderr.write("lumora-keeper: tsx not found (run `npm install` in the Lumora folder)\n");
  process.exit(1);
}
const child = spawn(
  node,
  ["--disable-warning=ExperimentalWarning", "--import", tsx, join(here, "index.ts"), ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
