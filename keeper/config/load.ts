/**
 * Loading the operator configuration: file (JSON with comments) ← LUMORA_* environment ← flags, later sources
 * winning field by field, then one zod parse. Every issue names the field, what is wrong, and where the value
 * came from. Relative paths are resolved against the config file's folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

import type { z } from "zod";

import { DEFAULT_CONFIG_FILE, ENV_PREFIX } from "./constants.ts";
import { ConfigError, ConfigFileError, type ConfigIssue } from "./errors.ts";
import { parseJsonc } from "./jsonc.ts";
import { configSchema, LEAVES, type LeafKind, type OperatorConfig } from "./schema.ts";

export interface LoadOptions {
  /** Config file; default LUMORA_CONFIG, else ./lumora.config.json. */
  file?: string;
  /** Whether a missing file is an error (true when the operator named one). */
  requireFile?: boolean;
  /** Environment to read LUMORA_* overrides from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Overrides from flags, by dotted field path (`api.port`), already typed or as text. */
  flags?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: OperatorConfig;
  /** The file read, if any. */
  file: string | undefined;
}

/** `node.rewardAddress` → `LUMORA_NODE_REWARD_ADDRESS`. */
export function envName(field: string): string {
  return (
    ENV_PREFIX +
    field
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/\./g, "_")
      .toUpperCase()
  );
}

/** `node.rewardAddress` → `node-reward-address` (the `start` flag that sets it). */
export function flagName(field: string): string {
  return field
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/\./g, "-")
    .toLowerCase();
}

/** Text from the environment or a flag → the leaf's type; left as text when it does not parse, so zod says why. */
export function readLeaf(kind: LeafKind, text: string): unknown {
  switch (kind) {
    case "number": {
      const n = Number(text);
      return text.trim() === "" || Number.isNaN(n) ? text : n;
    }
    case "boolean":
      return text === "true" || text === "1" ? true : text === "false" || text === "0" ? false : text;
    case "list":
      return text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    default:
      return text;
  }
}

function setPath(target: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split(".");
  let node = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigFileError(
      file,
      (err as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (err as Error).message,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseJsonc(text);
  } catch (err) {
    throw new ConfigFileError(file, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigFileError(file, "must hold one JSON object");
  }
  return parsed as Record<string, unknown>;
}

function toIssues(error: z.ZodError, sources: Map<string, string>, fileLabel: string | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const field = base === "" ? key : `${base}.${key}`;
        issues.push({ field, message: "unknown field (check its spelling)", source: fileLabel });
      }
      continue;
    }
    const leaf = base.replace(/\.\d+$/, "");
    const message =
      issue.code === "invalid_type" && /received undefined/.test(issue.message) ? "is required" : issue.message;
    issues.push({ field: base, message, source: sources.get(base) ?? sources.get(leaf) ?? fileLabel });
  }
  return issues;
}

/** Reads, merges and validates the configuration. @throws ConfigError, ConfigFileError */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const named = options.file ?? env.LUMORA_CONFIG;
  const file = resolve(named ?? DEFAULT_CONFIG_FILE);
  const useFile = existsSync(file) || (options.requireFile ?? named !== undefined);
  const raw: Record<string, unknown> = useFile ? readFile(file) : {};
  const sources = new Map<string, string>();

  for (const [field, kind] of Object.entries(LEAVES)) {
    const name = envName(field);
    const text = env[name];
    if (text === undefined || text === "") continue;
    setPath(raw, field, readLeaf(kind, text));
    sources.set(field, `environment ${name}`);
  }
  for (const [field, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    const kind = LEAVES[field];
    setPath(raw, field, typeof value === "string" && kind !== undefined ? readLeaf(kind, value) : value);
    sources.set(field, `flag --${flagName(field)}`);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(toIssues(parsed.error, sources, useFile ? file : undefined));
  const config = parsed.data;
  const base = useFile ? dirname(file) : process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  config.dataDir = abs(config.dataDir);
  if (config.chain.keystore !== undefined) config.chain.keystore = abs(config.chain.keystore);
  if (config.chain.deployment !== undefined) config.chain.deployment = abs(config.chain.deployment);
  if (config.epochs.dir !== undefined) config.epochs.dir = abs(config.epochs.dir);
  config.api.publishDirs = config.api.publishDirs.map(abs);
  return { config, file: useFile ? file : undefined };
}
