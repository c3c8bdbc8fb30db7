// The keeper as operators run it: one JavaScript file per entry point, bundled by esbuild from the sources into
// dist/bundle/ (`npm run build` runs it after tsc; so does the postinstall).
//
// Why a bundle and not tsc's dist/keeper/ tree: a keeper loads ~1,100 ES modules (its own, libp2p's, ethers', zod's).
// Node keeps a module record, a namespace, a scope and the whole source text of each, and loads all of every
// package it imports. One bundle keeps one source, only the code reachable from the entry point (tree-shaken), with
// whitespace removed. Idle, with no peers, side by side: RSS 109 MiB (peak 144) from dist/keeper/, 98 MiB (peak 108) from the bundle (docs/scale.md,
// "Memory"). Identifiers are not mangled, so stack traces keep their function names; `dist/bundle/*.js.map` maps them
// back to the sources (run with NODE_OPTIONS=--enable-source-maps).
//
// Entry points:
//   lumora-keeper.js  the CLI (keeper/cli/index.ts): what `lumora-keeper` (keeper/cli/bin.mjs) runs
//   keeper.js         startKeeper and createLogger, for harnesses that start a keeper in-process (bench:scale), and
//                     buildTreeParallel, for the test that the bundled Merkle worker runs
//   worker.js         the Merkle worker (keeper/epochs/merkle/worker.ts), which merkle/parallel.ts starts from the
//                     folder of the module it runs in, here dist/bundle/
// Node built-ins and nothing else stay external; CommonJS dependencies that call require() get one from
// createRequire (the banner).
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bundle");

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  legalComments: "external",
  logLevel: "warning",
  banner: {
    js: 'import { createRequire as __lumoraRequire } from "node:module"; const require = __lumoraRequire(import.meta.url);',
  },
  absWorkingDir: root,
};

await Promise.all([
  build({
    ...common,
    entryPoints: { "lumora-keeper": "keeper/cli/index.ts", worker: "keeper/epochs/merkle/worker.ts" },
    outdir,
  }),
  build({
    ...common,
    stdin: {
      contents: [
        'export { startKeeper } from "./keeper/keeper.ts";',
        'export { createLogger } from "./keeper/logger.ts";',
        // For test/keeper/cli/bundle.test.ts: the bundled worker.js, started from this file's folder, builds trees.
        'export { buildTreeParallel } from "./keeper/epochs/merkle/parallel.ts";',
      ].join("\n"),
      resolveDir: root,
      sourcefile: "keeper-entry.ts",
      loader: "ts",
    },
    outfile: join(outdir, "keeper.js"),
  }),
]);
