/**
 * Fails when the keeper's imports form a cycle, at two levels: between files (what `madge --circular` reports)
 * and between modules (the folders of keeper/ and its top-level files), so that dependencies go one way as
 * docs/architecture.md draws them. Type-only imports count: a type cycle is still a design cycle.
 *
 * Usage: npm run check:cycles [-- --graph]   (--graph prints the module graph, one "module -> deps" a line)
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import ts from "typescript";

const ROOT = path.resolve(import.meta.dirname, "..", "keeper");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Relative imports and re-exports of a file, resolved to files under keeper/. */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith(".")) continue;
    const base = path.resolve(path.dirname(file), ref.fileName);
    const target = [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, path.join(base, "index.ts")].find((f) =>
      known.has(f),
    );
    if (target !== undefined) out.push(target);
  }
  return out;
}

/** The module a file belongs to: its folder under keeper/, or the file itself for top-level files. */
function moduleOf(file: string): string {
  const rel = path.relative(ROOT, file);
  const [first] = rel.split(path.sep);
  return rel.includes(path.sep) ? first! : rel;
}

/** Every elementary cycle reachable by a depth-first search, each reported once (by its smallest rotation). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(rotated.join(" > "), rotated);
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (state.get(node) === undefined) visit(node);
  return [...found.values()];
}

const files = sourceFiles(ROOT);
const known = new Set(files);
const fileGraph = new Map<string, Set<string>>();
const moduleGraph = new Map<string, Set<string>>();
for (const file of files) {
  const targets = importsOf(file, known);
  fileGraph.set(file, new Set(targets));
  const from = moduleOf(file);
  const deps = moduleGraph.get(from) ?? new Set<string>();
  for (const t of targets) if (moduleOf(t) !== from) deps.add(moduleOf(t));
  moduleGraph.set(from, deps);
}

if (process.argv.includes("--graph")) {
  for (const [m, deps] of [...moduleGraph].sort(([a], [b]) => a.localeCompare(b)))
    console.log(`${m} -> ${[...deps].sort().join(", ") || "(nothing)"}`);
}

const rel = (f: string) => path.relative(ROOT, f);
const fileCycles = cycles(fileGraph).map((c) => c.map(rel));
const moduleCycles = cycles(moduleGraph);
for (const c of fileCycles) console.error(`file cycle: ${[...c, c[0]].join(" > ")}`);
for (const c of moduleCycles) console.error(`module cycle: ${[...c, c[0]].join(" > ")}`);
if (fileCycles.length + moduleCycles.length > 0) process.exit(1);
console.log(`no import cycles in keeper/ (${files.length} files, ${moduleGraph.size} modules)`);
