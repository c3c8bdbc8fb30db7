#!/usr/bin/env node
// `lumora-keeper` launcher. The CLI is TypeScript compiled to dist/ (`npm run build`, run by `npm install`'s
// postinstall) and runs on Node 22 (pinned by the project as the `node` package) as plain JavaScript: no
// TypeScript loader at run time. This file runs under whatever `node` the shell finds, then executes the pinned
// Node 22 on dist/bundle/lumora-keeper.js (the CLI bundled by `npm run build`, scripts/bundle.mjs), both resolved from this file's real location (through any symlink, e.g.
// the one `npm link` puts on the PATH), never from the working directory: the command works from any folder,
// and the CLI it runs keeps the user's working directory, so relative paths (--config, --data-dir) are the
// user's. Signals are forwarded; the exit code is the CLI's.
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const root = join(here, "..", "..");
const pinned = join(root, "node_modules", "node", "bin", "node");
const major = Number(process.versions.node.split(".")[0]);
const node = existsSync(pinned) ? pinned : major >= 22 ? process.execPath : undefined;
if (node === undefined) {
  process.stderr.write("lumora-keeper: Node 22 not found (run `npm install` in the Lumora folder)\n");
  process.exit(1);
}
const entry = join(root, "dist", "bundle", "lumora-keeper.js");
if (!existsSync(entry)) {
  process.stderr.write(
    "lumora-keeper: the compiled keeper is missing (run `npm install` in the Lumora folder; after a change to the sources, `npm run build`)\n",
  );
  process.exit(1);
}
const child = spawn(node, ["--disable-warning=ExperimentalWarning", entry, ...process.argv.slice(2)], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 1) : 1)));
