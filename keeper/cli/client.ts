/** Reads a running keeper's HTTP API; an unreachable keeper is one clear line, not a stack trace. */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

import {
  configSchema,
  ConfigError,
  ConfigFileError,
  DEFAULT_API_PORT,
  DEFAULT_CONFIG_FILE,
  parseJsonc,
  readLeaf,
} from "../config/index.ts";
import type { Values } from "./command.ts";
import { CliError, UsageError } from "./errors.ts";

/** --api, else LUMORA_API_URL, else the config's api.host/port, else the default. */
export function apiUrl(values: Values, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = (values.api as string | undefined) ?? env.LUMORA_API_URL;
  if (explicit !== undefined) {
    try {
      return new URL(explicit).toString().replace(/\/$/, "");
    } catch {
      throw new UsageError(`--api: "${explicit}" is not a URL (e.g. http://127.0.0.1:${DEFAULT_API_PORT})`);
    }
  }
  const file = (values.config as string | undefined) ?? env.LUMORA_CONFIG;
  const path = resolve(file ?? DEFAULT_CONFIG_FILE);
  let raw: { api?: Record<string, unknown> } = {};
  if (existsSync(path)) {
    try {
      raw = parseJsonc(readFileSync(path, "utf8")) as typeof raw;
    } catch (err) {
      throw new ConfigFileError(path, `not valid JSON: ${(err as Error).message}`);
    }
  } else if (file !== undefined) throw new ConfigFileError(path, "not found");
  const api = { ...raw.api };
  if (env.LUMORA_API_HOST) api.host = env.LUMORA_API_HOST;
  if (env.LUMORA_API_PORT) api.port = readLeaf("number", env.LUMORA_API_PORT);
  const parsed = configSchema.shape.api.safeParse(api);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ field: ["api", ...i.path.map(String)].join("."), message: i.message })),
    );
  const host = parsed.data.host === "0.0.0.0" ? "127.0.0.1" : parsed.data.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${parsed.data.port}`;
}

export async function getJson<T>(base: string, path: string, options: { signal?: AbortSignal } = {}): Promise<T> {
  const url = base + path;
  let res: Response;
  try {
    res = await fetch(url, {
      signal: options.signal ?? AbortSignal.timeout(5_000),
      headers: { accept: "application/json" },
    });
  } catch {
    throw new CliError(
      `cannot reach the keeper API at ${base} (is the keeper running? start it with \`lumora-keeper start\`, or pass --api)`,
    );
  }
  if (!res.ok) throw new CliError(`keeper API ${url} answered ${res.status} ${res.statusText}`);
  return (await res.json()) as T;
}
