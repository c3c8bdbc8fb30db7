/**
 * Branch coverage of the product contracts (contracts/ without contracts/bench/), which Hardhat 3's coverage
 * does not report (EDR instruments statements only). Method in docs/coverage.md and scripts/lib/branch-coverage.ts:
 * a temporary copy of the project gets a probe on every branch point, `hardhat test mocha --coverage` runs there,
 * and each arm is covered when its probe statement was hit.
 *
 *   npx tsx scripts/coverage-branches.ts [--out coverage/branches.json] [--keep]
 *
 * Prints JSON lines on stdout: `coverage.branches_pct` for the total, each kind and each file, then one
 * `coverage.uncovered_branch` line per arm never taken (file:line, kind, arm). Writes the full report to
 * coverage/branches.json, which scripts/coverage-check.ts gates on. The project itself is never modified: only
 * the copy (in the OS temp directory, removed at the end unless --keep) is instrumented.
 *
 * Exit codes: 0 report written · 3 the instrumented test run failed or its data could not be mapped back.
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  BRANCH_KINDS,
  type BranchReport,
  type BranchResult,
  findBranchPoints,
  instrumentBranches,
  probeTags,
  productSources,
  sha256,
  solcVersion,
  tallyBranches,
  type Tally,
} from "./lib/branch-coverage.js";

const ROOT = process.cwd();
const SCOPE = "contracts/ excluding contracts/bench/";
const EXCLUDED_FROM_COPY = new Set(["node_modules", ".git", "artifacts", "cache", "coverage"]);
const BRANCHES_MIN_PCT = 90;

function run(command: string, args: string[], cwd: string, logPath: string): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, FORCE_COLOR: "0" } });
    let log = "";
    child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.on("error", reject);
    child.on("close", async (code) => {
      await writeFile(logPath, log);
      resolve({ code: code ?? 1, log });
    });
  });
}

const pct = ({ hit, found }: Tally): number | null => (found === 0 ? null : Math.floor((hit / found) * 10_000) / 100);

function print(t: Tally, extra: Record<string, unknown>) {
  console.log(
    JSON.stringify({ metric: "coverage.branches_pct", value: pct(t), hit: t.hit, found: t.found, unit: "%", ...extra }),
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const keep = args.includes("--keep");
  const outIndex = args.indexOf("--out");
  const outPath = path.resolve(ROOT, outIndex >= 0 ? args[outIndex + 1]! : "coverage/branches.json");
  const version = solcVersion();

  // 1. The copy: everything but the heavy or generated directories; node_modules is linked, not copied.
  const copy = await mkdtemp(path.join(tmpdir(), "lumora-branches-"));
  await cp(ROOT, copy, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(ROOT, src);
      return rel === "" || !EXCLUDED_FROM_COPY.has(rel.split(path.sep)[0]!);
    },
  });
  await symlink(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"), "dir");

  try {
    // 2. Probe every branch point of the product sources in the copy.
    const files = await productSources(ROOT);
    const sources: Record<string, string> = {};
    const plans: {
      file: string;
      points: ReturnType<typeof findBranchPoints>;
      probes: { trueTag: string; falseTag: string }[];
      statementTags: string[];
    }[] = [];
    for (const [fileId, file] of files.entries()) {
      const content = await readFile(path.join(ROOT, file), "utf8");
      sources[file] = sha256(content);
      // Hardhat 3 names project sources `project/<path>`; EDR derives the tags from that name.
      const sourceId = `project/${file}`;
      const points = findBranchPoints(sourceId, content);
      if (points.length === 0) continue;
      const instrumented = instrumentBranches(content, points, fileId);
      await writeFile(path.join(copy, file), instrumented);
      plans.push({ file, points, ...probeTags(instrumented, sourceId, version, fileId, points.length) });
    }

    // 3. The tests, with Hardhat's coverage, in the copy.
    await mkdir(path.dirname(outPath), { recursive: true });
    const logPath = outPath.replace(/\.json$/, "") + ".log";
    const hardhat = createRequire(import.meta.url)
      .resolve("hardhat/package.json")
      .replace(/package\.json$/, "dist/src/cli.js");
    console.error(
      `coverage-branches: running the tests on probed sources in ${copy} (log: ${path.relative(ROOT, logPath)})`,
    );
    const { code, log } = await run(process.execPath, [hardhat, "test", "mocha", "--coverage"], copy, logPath);
    if (code !== 0) {
      console.error(log.split("\n").slice(-40).join("\n"));
      console.error(`coverage-branches: the test run on the probed sources failed (exit ${code}); see ${logPath}`);
      return 3;
    }

    // 4. Hits: Hardhat keeps `tag → transactions that hit it` per worker in coverage/data/<run id>/.
    const hits = new Map<string, number>();
    const dataRoot = path.join(copy, "coverage", "data");
    for (const run of await readdir(dataRoot)) {
      for (const name of await readdir(path.join(dataRoot, run))) {
        const data = JSON.parse(await readFile(path.join(dataRoot, run, name), "utf8")) as Record<string, number>;
        for (const [tag, count] of Object.entries(data)) hits.set(tag, (hits.get(tag) ?? 0) + count);
      }
    }

    const branches: BranchResult[] = [];
    for (const plan of plans) {
      // Sanity check: tags recomputed here must be the ones the run reported, or the mapping is wrong.
      if (!plan.statementTags.some((tag) => hits.has(tag))) {
        console.error(
          `coverage-branches: no statement of ${plan.file} was reported hit; the recomputed EDR tags do not match ` +
            `the run (source id or solc ${version} differ from Hardhat's?)`,
        );
        return 3;
      }
      for (const [i, p] of plan.points.entries()) {
        const probe = plan.probes[i]!;
        branches.push({
          file: plan.file,
          kind: p.kind,
          line: p.line,
          column: p.column,
          code: p.code,
          taken: [hits.get(probe.trueTag) ?? 0, hits.get(probe.falseTag) ?? 0],
          arms: p.arms,
          ...(p.kind === "if" ? { hasElse: p.hasElse } : {}),
        });
      }
    }

    const report: BranchReport = {
      version: 1,
      method: "probe instrumentation of a temporary copy + Hardhat 3 statement coverage (docs/coverage.md)",
      generatedAt: new Date().toISOString(),
      solcVersion: version,
      scope: SCOPE,
      sources,
      branches,
    };
    await writeFile(outPath, JSON.stringify(report, null, 2) + "\n");

    // 5. Figures.
    print(tallyBranches(branches), { scope: SCOPE, min: BRANCHES_MIN_PCT, report: path.relative(ROOT, outPath) });
    for (const kind of BRANCH_KINDS) {
      const ofKind = branches.filter((b) => b.kind === kind);
      if (ofKind.length > 0) print(tallyBranches(ofKind), { kind });
    }
    for (const file of files) {
      const ofFile = branches.filter((b) => b.file === file);
      if (ofFile.length > 0) print(tallyBranches(ofFile), { file });
    }
    for (const b of branches) {
      for (const arm of [0, 1] as const) {
        if (b.taken[arm] > 0) continue;
        console.log(
          JSON.stringify({
            metric: "coverage.uncovered_branch",
            at: `${b.file}:${b.line}:${b.column}`,
            kind: b.kind,
            arm: b.arms[arm],
            code: b.code,
          }),
        );
      }
    }
    return 0;
  } finally {
    if (keep) console.error(`coverage-branches: kept the probed copy in ${copy}`);
    else await rm(copy, { recursive: true, force: true });
  }
}

process.exitCode = await main();
