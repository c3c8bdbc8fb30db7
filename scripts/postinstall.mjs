// npm on the machine's Node 20 silently skips optional dependencies that need Node >= 22
// (notably Hardhat's native EDR simulator). The project pins Node 22 through the `node`
// devDependency; when npm itself ran on an older Node, re-run the install once under it.
import { execFileSync } from "node:child_process";

const GUARD = "LUMORA_NODE22_REINSTALL";
const npmNode = /node\/v(\d+)/.exec(process.env.npm_config_user_agent ?? "");
const npmNodeMajor = npmNode ? Number(npmNode[1]) : 0;

if (npmNodeMajor >= 22 || process.env[GUARD]) process.exit(0);

const runningMajor = Number(process.versions.node.split(".")[0]);
if (runningMajor < 22) {
  console.error(
    `lumora postinstall: expected the pinned Node 22 (devDependency "node") but running ${process.version}; ` +
      "did the `node` package install?",
  );
  process.exit(1);
}

execFileSync(
  process.execPath,
  [process.env.npm_execpath, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund"],
  { stdio: "inherit", env: { ...process.env, [GUARD]: "1" } },
);
