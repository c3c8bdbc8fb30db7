/**
 * Coverage gate for the product contracts: reads the lcov report that `npm run coverage` writes and the branch
 * report that scripts/coverage-branches.ts writes, keeps contracts/ without contracts/bench/ (benchmark baselines,
 * never deployed), prints one JSON line per metric (the totals, then each file) and exits non-zero below the
 * thresholds.
 *
 *   npx tsx scripts/coverage-check.ts [coverage/lcov.info] [--branches coverage/branches.json] [--allow-missing-branches]
 *
 * Lines come from the lcov report. Branches come from its BRDA records when it has them; Hardhat 3.18's EDR
 * instruments statements only, so its lcov has none, and the branch figure is then the one derived by
 * scripts/coverage-branches.ts (probes on every if/else, ternary, &&/||, require/assert; see docs/coverage.md).
 *
 * Exit codes: 0 thresholds hold · 1 a metric is below its threshold · 2 no branch data: the lcov has no BRDA
 * records and the branch report is missing or stale (older than a measured source); passes on lines alone only
 * with --allow-missing-branches · 3 no usable lcov report.
 */
import { readFileSync } from "node:fs";

import { type BranchReport, productSources, sha256, tallyBranches } from "./lib/branch-coverage.js";

const LINES_MIN_PCT = 95;
const BRANCHES_MIN_PCT = 90;
const INCLUDED = /^contracts\//;
const EXCLUDED = /^contracts\/bench\//;

interface FileCoverage {
  file: string;
  lines: Map<number, number>;
  /** `line,block,branch` → times taken (0 when never taken or not evaluated). */
  branches: Map<string, number>;
}

function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: FileCoverage | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const colon = line.indexOf(":");
    const key = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1);
    if (key === "SF") {
      current = { file: value.replaceAll("\\", "/"), lines: new Map(), branches: new Map() };
      files.push(current);
    } else if (key === "end_of_record") {
      current = undefined;
    } else if (current !== undefined && key === "DA") {
      const [lineNumber, count] = value.split(",");
      const n = Number(lineNumber);
      current.lines.set(n, Math.max(current.lines.get(n) ?? 0, Number(count)));
    } else if (current !== undefined && key === "BRDA") {
      const [lineNumber, block, branch, taken] = value.split(",");
      const id = `${lineNumber},${block},${branch}`;
      const count = taken === "-" ? 0 : Number(taken);
      current.branches.set(id, Math.max(current.branches.get(id) ?? 0, count));
    }
  }
  return files;
}

/** A path relative to the project root, whichever form (relative or absolute) lcov used. */
function relative(file: string): string {
  const root = process.cwd().replaceAll("\\", "/") + "/";
  return file.startsWith(root) ? file.slice(root.length) : file;
}

interface Tally {
  hit: number;
  found: number;
}

const pct = ({ hit, found }: Tally): number | null => (found === 0 ? null : Math.floor((hit / found) * 10_000) / 100);

function tally(values: Iterable<number>): Tally {
  let hit = 0;
  let found = 0;
  for (const count of values) {
    found += 1;
    if (count > 0) hit += 1;
  }
  return { hit, found };
}

function print(metric: string, t: Tally, extra: Record<string, unknown>) {
  console.log(JSON.stringify({ metric, value: pct(t), hit: t.hit, found: t.found, unit: "%", ...extra }));
}

/** The branch report of scripts/coverage-branches.ts, or why it cannot be used. */
async function loadBranchReport(path: string): Promise<BranchReport | string> {
  let report: BranchReport;
  try {
    report = JSON.parse(readFileSync(path, "utf8")) as BranchReport;
  } catch {
    return `no branch report at ${path}`;
  }
  if (report.version !== 1 || !Array.isArray(report.branches)) return `${path} is not a branch report`;
  const current = await productSources(process.cwd());
  for (const file of new Set([...current, ...Object.keys(report.sources)])) {
    let content: string | undefined;
    try {
      content = readFileSync(file, "utf8");
    } catch {
      content = undefined;
    }
    if (content === undefined || report.sources[file] !== sha256(content)) {
      return `${path} is stale: ${file} changed since it was written`;
    }
  }
  return report;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const allowMissingBranches = args.includes("--allow-missing-branches");
  const branchesIndex = args.indexOf("--branches");
  const branchesPath = branchesIndex >= 0 ? args[branchesIndex + 1]! : "coverage/branches.json";
  const path = args.find((arg, i) => !arg.startsWith("--") && args[i - 1] !== "--branches") ?? "coverage/lcov.info";

  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    console.error(`coverage-check: cannot read ${path} (run \`npm run coverage\` first): ${String(error)}`);
    return 3;
  }
  const files = parseLcov(text)
    .map((f) => ({ ...f, file: relative(f.file) }))
    .filter((f) => INCLUDED.test(f.file) && !EXCLUDED.test(f.file))
    .sort((a, b) => a.file.localeCompare(b.file));
  if (files.length === 0) {
    console.error(`coverage-check: ${path} has no file under contracts/ outside contracts/bench/`);
    return 3;
  }

  const scope = "contracts/ excluding contracts/bench/";
  const lines = tally(files.flatMap((f) => [...f.lines.values()]));
  const lcovBranches = tally(files.flatMap((f) => [...f.branches.values()]));

  // Branches: lcov's BRDA records if any, else the derived report (per file: its branch points in that file).
  let branches: Tally | undefined;
  let branchesOf: ((file: string) => Tally) | undefined;
  let branchesSource: string | undefined;
  let missingReason = "";
  let report: BranchReport | undefined;
  if (lcovBranches.found > 0) {
    branches = lcovBranches;
    branchesOf = (file) => tally(files.find((f) => f.file === file)!.branches.values());
    branchesSource = `${path} (BRDA)`;
  } else {
    const loaded = await loadBranchReport(branchesPath);
    if (typeof loaded === "string") {
      missingReason = loaded;
    } else {
      report = loaded;
      branches = tallyBranches(loaded.branches);
      branchesOf = (file) => tallyBranches(loaded.branches.filter((b) => b.file === file));
      branchesSource = `${branchesPath} (probes, scripts/coverage-branches.ts)`;
    }
  }

  print("coverage.lines_pct", lines, { scope, min: LINES_MIN_PCT });
  if (branches !== undefined) {
    print("coverage.branches_pct", branches, { scope, min: BRANCHES_MIN_PCT, source: branchesSource });
  } else {
    console.log(
      JSON.stringify({
        metric: "coverage.branches_pct",
        value: null,
        unit: "%",
        scope,
        min: BRANCHES_MIN_PCT,
        available: false,
        reason: `the lcov report has no BRDA records (EDR instruments statements only) and ${missingReason}`,
      }),
    );
  }
  for (const f of files) {
    print("coverage.lines_pct", tally(f.lines.values()), { file: f.file });
    if (branchesOf !== undefined) print("coverage.branches_pct", branchesOf(f.file), { file: f.file });
  }

  const failures: string[] = [];
  const linesPct = pct(lines);
  if (linesPct === null || linesPct < LINES_MIN_PCT) failures.push(`lines ${linesPct}% < ${LINES_MIN_PCT}%`);
  const branchesPct = branches === undefined ? null : pct(branches);
  if (branches !== undefined && (branchesPct === null || branchesPct < BRANCHES_MIN_PCT)) {
    failures.push(`branches ${branchesPct}% < ${BRANCHES_MIN_PCT}%`);
    for (const b of report?.branches ?? []) {
      for (const arm of [0, 1] as const) {
        if (b.taken[arm] === 0) console.error(`  uncovered: ${b.file}:${b.line}:${b.column} ${b.kind}, ${b.arms[arm]}`);
      }
    }
  }
  if (failures.length > 0) {
    console.error(`coverage-check: below threshold: ${failures.join(", ")}`);
    return 1;
  }
  if (branches === undefined && !allowMissingBranches) {
    console.error(
      `coverage-check: ${path} has no branch data and ${missingReason}, so the ${BRANCHES_MIN_PCT}% branch ` +
        "threshold cannot be checked: run `npx tsx scripts/coverage-branches.ts` " +
        "(or pass --allow-missing-branches to gate on lines only)",
    );
    return 2;
  }
  return 0;
}

process.exitCode = await main();
