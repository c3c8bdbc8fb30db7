/**
 * Branch coverage for Solidity on top of Hardhat 3's statement-only coverage (EDR).
 *
 * Hardhat 3.18 instruments statements only: EDR's `addStatementCoverageInstrumentation` puts a
 * `__NomicFoundationCoverage.sendHit(tag)` before every statement, reports the tags hit once per transaction
 * (deduplicated), and Hardhat sums them into `coverage/data/<run>/*.json` (`tag → transactions that hit it`).
 * No branch records exist, and the counts are not execution counts (a loop body hit 10 times in one
 * transaction counts 1), so "hits(if) > hits(then)" cannot prove a false arm was taken.
 *
 * So this module adds branch probes the way solidity-coverage does, to a temporary copy of the sources:
 * every decision's boolean is routed through a file-level probe function
 *
 *     function __lumoraProbe_<file>_<n>(bool c) pure returns (bool) { if (c) { return true; } return false; }
 *
 * which returns its argument unchanged. EDR instruments the probe's `return true;` and `return false;` like any
 * statement, so "the true arm was taken at least once" and "the false arm was taken at least once" become two
 * ordinary statement hits, exact whatever the loop structure. Tags are deterministic (source text, source id,
 * solc version), so the tags of the probe statements are recomputed here with the same EDR function.
 *
 * Branch points (found with solc's AST, never by pattern matching the source), each with two arms:
 *   - `if` (with or without `else`): probe on the condition; then arm / else arm (the implicit one without else);
 *   - `c ? a : b`: probe on the condition; true / false arm;
 *   - `a && b`, `a || b`: probe on the left operand; right operand evaluated / short-circuited;
 *   - `require(c, …)`, `assert(c)`: probe on the condition; passes / reverts.
 * Only code inside function and modifier bodies is probed (a probe is a function call, which constant
 * initialisers do not allow).
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import path from "node:path";

import { addStatementCoverageInstrumentation } from "@nomicfoundation/edr";
import solc from "solc";

export type BranchKind = "if" | "ternary" | "and" | "or" | "require" | "assert";

export const BRANCH_KINDS: readonly BranchKind[] = ["if", "ternary", "and", "or", "require", "assert"];

/** Labels of the arm taken when the probed boolean is true, then false. */
const ARMS: Record<BranchKind, readonly [string, string]> = {
  if: ["then (condition true)", "else (condition false)"],
  ternary: ["true arm", "false arm"],
  and: ["right operand evaluated (left true)", "short-circuited (left false)"],
  or: ["short-circuited (left true)", "right operand evaluated (left false)"],
  require: ["passes", "reverts"],
  assert: ["passes", "panics"],
};

export interface BranchPoint {
  /** Index of the point in its file. */
  index: number;
  kind: BranchKind;
  /** 1-based line and column (characters) in the original source of the construct. */
  line: number;
  column: number;
  /** The construct's first line, trimmed, for the report. */
  code: string;
  /** `[arm when true, arm when false]`. */
  arms: readonly [string, string];
  /** Byte range (UTF-8, solc's `src`) of the boolean expression the probe wraps. */
  probeStart: number;
  probeEnd: number;
  /** Whether an `if` has an explicit else. */
  hasElse?: boolean;
}

interface AstNode {
  nodeType: string;
  src: string;
  [key: string]: unknown;
}

const isNode = (value: unknown): value is AstNode =>
  typeof value === "object" && value !== null && typeof (value as AstNode).nodeType === "string";

function range(node: AstNode): [number, number] {
  const [start, length] = node.src.split(":").map(Number);
  return [start!, start! + length!];
}

/** Parses one source with solc (parsing only: no import resolution) and returns its AST. */
export function parseSolidity(sourceName: string, content: string): AstNode {
  const input = {
    language: "Solidity",
    sources: { [sourceName]: { content } },
    settings: { stopAfter: "parsing", outputSelection: { "*": { "": ["ast"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    sources?: Record<string, { ast: AstNode }>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0 || output.sources?.[sourceName] === undefined) {
    throw new Error(`solc could not parse ${sourceName}:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  return output.sources[sourceName].ast;
}

/** The solc version of the `solc` npm package (the one hardhat.config.ts compiles with), e.g. `0.8.30`. */
export function solcVersion(): string {
  const match = /^(\d+\.\d+\.\d+)/.exec(String(solc.version()));
  if (match === null) throw new Error(`unexpected solc version ${String(solc.version())}`);
  return match[1]!;
}

class SourceText {
  readonly bytes: Buffer;
  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, "utf8");
  }
  /** UTF-16 index of a UTF-8 byte offset. */
  charIndex(byteOffset: number): number {
    return this.bytes.subarray(0, byteOffset).toString("utf8").length;
  }
  position(byteOffset: number): { line: number; column: number; code: string } {
    const before = this.bytes.subarray(0, byteOffset).toString("utf8");
    const lineStart = before.lastIndexOf("\n") + 1;
    const lineEnd = this.text.indexOf("\n", lineStart);
    const code = this.text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).trim();
    return { line: before.split("\n").length, column: before.length - lineStart + 1, code };
  }
}

/** Finds the branch points of one source, in source order. */
export function findBranchPoints(sourceName: string, content: string): BranchPoint[] {
  const text = new SourceText(content);
  const points: BranchPoint[] = [];
  const add = (kind: BranchKind, at: AstNode, probed: AstNode, extra: Partial<BranchPoint> = {}) => {
    const [atStart] = range(at);
    const [probeStart, probeEnd] = range(probed);
    points.push({ index: 0, kind, ...text.position(atStart), arms: ARMS[kind], probeStart, probeEnd, ...extra });
  };

  const visit = (node: AstNode, inBody: boolean) => {
    if (inBody) {
      if (node.nodeType === "IfStatement") {
        add("if", node, node.condition as AstNode, { hasElse: isNode(node.falseBody) });
      } else if (node.nodeType === "Conditional") {
        add("ternary", node, node.condition as AstNode);
      } else if (node.nodeType === "BinaryOperation" && (node.operator === "&&" || node.operator === "||")) {
        // Reported at the right operand: in a multi-line chain that is where the operator sits.
        add(node.operator === "&&" ? "and" : "or", node.rightExpression as AstNode, node.leftExpression as AstNode);
      } else if (node.nodeType === "FunctionCall") {
        const callee = node.expression;
        const args = node.arguments as unknown[];
        if (
          isNode(callee) &&
          callee.nodeType === "Identifier" &&
          (callee.name === "require" || callee.name === "assert") &&
          isNode(args[0])
        ) {
          add(callee.name === "require" ? "require" : "assert", node, args[0]);
        }
      }
    }
    // A function's parameters and modifiers are not its body; its `body` is.
    for (const [key, value] of Object.entries(node)) {
      const childInBody =
        inBody ||
        ((node.nodeType === "FunctionDefinition" || node.nodeType === "ModifierDefinition") && key === "body");
      for (const child of Array.isArray(value) ? value : [value]) {
        if (isNode(child)) visit(child, childInBody);
      }
    }
  };
  visit(parseSolidity(sourceName, content), false);

  points.sort((a, b) => a.probeStart - b.probeStart || b.probeEnd - a.probeEnd);
  points.forEach((p, i) => (p.index = i));
  return points;
}

export const probeName = (fileId: number, index: number) => `__lumoraProbe_${fileId}_${index}`;

/**
 * The source with every probed expression `e` rewritten to `__lumoraProbe_<fileId>_<n>(e)` and the probe
 * functions appended at the end of the file. Insertions never add a line break before the end of the original
 * text, so the original lines keep their numbers.
 */
export function instrumentBranches(content: string, points: BranchPoint[], fileId: number): string {
  const bytes = Buffer.from(content, "utf8");
  interface Insertion {
    at: number;
    text: string;
    /** Closing parentheses first; among openings at one offset, the outermost (farthest end) first. */
    order: number;
  }
  const insertions: Insertion[] = [];
  for (const p of points) {
    insertions.push({ at: p.probeStart, text: `${probeName(fileId, p.index)}(`, order: -p.probeEnd });
    insertions.push({ at: p.probeEnd, text: ")", order: -Infinity });
  }
  insertions.sort((a, b) => a.at - b.at || a.order - b.order);

  const parts: Buffer[] = [];
  let cursor = 0;
  for (const ins of insertions) {
    parts.push(bytes.subarray(cursor, ins.at), Buffer.from(ins.text, "utf8"));
    cursor = ins.at;
  }
  parts.push(bytes.subarray(cursor));
  let out = Buffer.concat(parts).toString("utf8");
  if (points.length > 0) {
    out += "\n// Branch probes added by scripts/coverage-branches.ts (temporary copy, never committed).\n";
    for (const p of points) {
      out += `function ${probeName(fileId, p.index)}(bool c) pure returns (bool) { if (c) { return true; } return false; }\n`;
    }
  }
  return out;
}

/** The hex tags EDR gives the `return true;` and `return false;` statements of every probe function. */
export function probeTags(
  instrumented: string,
  sourceId: string,
  version: string,
  fileId: number,
  count: number,
): { probes: { trueTag: string; falseTag: string }[]; statementTags: string[] } {
  const { metadata } = addStatementCoverageInstrumentation(instrumented, sourceId, version);
  const statements = metadata
    .filter((m) => m.kind === "statement")
    .map((m) => ({
      tag: Buffer.from(m.tag).toString("hex"),
      start: m.startUtf16,
      text: instrumented.slice(m.startUtf16, m.endUtf16).trim(),
    }));
  const probes: { trueTag: string; falseTag: string }[] = [];
  for (let index = 0; index < count; index++) {
    const start = instrumented.indexOf(`function ${probeName(fileId, index)}(`);
    const end = instrumented.indexOf("\n", start);
    if (start < 0 || end < 0) throw new Error(`${sourceId}: probe ${index} not found in the instrumented source`);
    const inside = statements.filter((s) => s.start >= start && s.start < end);
    const trueTag = inside.find((s) => s.text === "return true;")?.tag;
    const falseTag = inside.find((s) => s.text === "return false;")?.tag;
    if (trueTag === undefined || falseTag === undefined) {
      throw new Error(`${sourceId}: EDR did not instrument the statements of probe ${index}`);
    }
    probes.push({ trueTag, falseTag });
  }
  const probeStart = instrumented.indexOf(`function ${probeName(fileId, 0)}(`);
  const statementTags = statements.filter((s) => probeStart < 0 || s.start < probeStart).map((s) => s.tag);
  return { probes, statementTags };
}

/** The measured sources: the .sol files under contracts/ outside contracts/bench/ (benchmark baselines, never deployed). */
export async function productSources(root: string, dir = "contracts"): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (rel !== "contracts/bench") files.push(...(await productSources(root, rel)));
    } else if (entry.name.endsWith(".sol")) {
      files.push(rel);
    }
  }
  return files.sort();
}

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export interface BranchResult {
  file: string;
  kind: BranchKind;
  line: number;
  column: number;
  code: string;
  /** Transactions (or calls) in which each arm was taken: `[true arm, false arm]`. */
  taken: [number, number];
  arms: readonly [string, string];
  hasElse?: boolean;
}

export interface Tally {
  hit: number;
  found: number;
}

export function tallyBranches(results: BranchResult[]): Tally {
  let hit = 0;
  for (const r of results) hit += (r.taken[0] > 0 ? 1 : 0) + (r.taken[1] > 0 ? 1 : 0);
  return { hit, found: results.length * 2 };
}

/** The report `scripts/coverage-branches.ts` writes and `scripts/coverage-check.ts` reads. */
export interface BranchReport {
  version: 1;
  method: string;
  generatedAt: string;
  solcVersion: string;
  scope: string;
  /** sha256 of each measured source at the time of the run, to detect a stale report. */
  sources: Record<string, string>;
  branches: BranchResult[];
}
