// Two jobs, in order, so that every command (tests, `npx lumora-keeper …`, the demo) works right after `npm install`:
//
// 1. npm on the machine's Node 20 silently skips optional dependencies that need Node >= 22 (notably Hardhat's
//    native EDR simulator). The project pins Node 22 through the `node` devDependency; when npm itself ran on an
//    older Node, re-run the install once under it (with --ignore-scripts, so this script does not run again).
// 2. Compile the contracts. The keeper imports the TypeChain factories (ABIs and bytecode) that `hardhat compile`
//    generates into types/ethers-contracts/, which is not committed (.gitignore): without this step a fresh clone's
//    CLI fails with ERR_MODULE_NOT_FOUND. The compile happens once, after the reinstall (it needs EDR), with the
//    compiler from the `solc` package (offline), and a failure fails the install loudly rather than leaving a
//    CLI that breaks later.
// 3. Build the keeper (`npm run build`: tsc with tsconfig.build.json → dist/, then scripts/bundle.mjs → dist/bundle/,
//    which `lumora-keeper` runs as plain JavaScript). It needs step 2's TypeChain factories; dist/ is not committed either.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const GUARD = "LUMORA_NODE22_REINSTALL";
// The nested `npm install` runs with --ignore-scripts, but keep the guard for any other path back in here.
if (process.env[GUARD]) process.exit(0);

const runningMajor = Number(process.versions.node.split(".")[0]);
if (runningMajor < 22) {
  console.error(
    `lumora postinstall: expected the pinned Node 22 (devDependency "node") but running ${process.version}; ` +
      "did the `node` package install?",
  );
  process.exit(1);
}

const npmNode = /node\/v(\d+)/.exec(process.env.npm_config_user_agent ?? "");
const npmNodeMajor = npmNode ? Number(npmNode[1]) : 0;
if (npmNodeMajor < 22) {
  execFileSync(
    process.execPath,
    [process.env.npm_execpath, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund"],
    { stdio: "inherit", env: { ...process.env, [GUARD]: "1" } },
  );
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hardhat = join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
try {
  execFileSync(process.execPath, [hardhat, "compile", "--quiet"], {
    cwd: root,
    stdio: "inherit",
    // An install must not wait on the network: no telemetry or error reports from this compile.
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
  });
} catch (err) {
  console.error(
    `lumora postinstall: \`hardhat compile\` failed (${err.message}); the keeper CLI needs its generated ` +
      "types/ethers-contracts/. Fix the error above and run `npm run compile`.",
  );
  process.exit(1);
}

try {
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  execFileSync(process.execPath, [join(root, "scripts", "bundle.mjs")], { cwd: root, stdio: "inherit" });
} catch (err) {
  console.error(
    `lumora postinstall: building the keeper failed (${err.message}); \`lumora-keeper\` runs dist/. ` +
      "Fix the error above and run `npm run build`.",
  );
  process.exit(1);
}
