/**
 * Talks to a running keeper's HTTP API: reads (GET) and the operator's writes (POST with the token from
 * <dataDir>/api.token). An unreachable keeper or a refused request is one clear line, not a stack trace.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

import { API_TOKEN_FILE } from "../api/constants.ts";
import {
  configSchema,
  ConfigError,
  ConfigFileError,
  DEFAULT_API_PORT,
  DEFAULT_CONFIG_FILE,
  DEFAULT_DATA_DIR,
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
  const { raw } = rawConfig(values, env);
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

interface RawConfig {
  api?: Record<string, unknown>;
  dataDir?: unknown;
}

/** The config file as written (unvalidated: a query needs two fields, not a complete configuration). */
function rawConfig(values: Values, env: NodeJS.ProcessEnv): { raw: RawConfig; path: string; found: boolean } {
  const file = (values.config as string | undefined) ?? env.LUMORA_CONFIG;
  const path = resolve(file ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(path)) {
    if (file !== undefined) throw new ConfigFileError(path, "not found");
    return { raw: {}, path, found: false };
  }
  try {
    return { raw: parseJsonc(readFileSync(path, "utf8")) as RawConfig, path, found: true };
  } catch (err) {
    throw new ConfigFileError(path, `not valid JSON: ${(err as Error).message}`);
  }
}

/** --data-dir, else LUMORA_DATA_DIR, else the config's dataDir (relative to the file), else ./lumora-data. */
export function dataDirOf(values: Values, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = (values["data-dir"] as string | undefined) ?? (env.LUMORA_DATA_DIR || undefined);
  if (explicit !== undefined) return resolve(explicit);
  const { raw, path, found } = rawConfig(values, env);
  const dir = typeof raw.dataDir === "string" && raw.dataDir !== "" ? raw.dataDir : DEFAULT_DATA_DIR;
  return isAbsolute(dir) ? dir : resolve(found ? dirname(path) : process.cwd(), dir);
}

/** The write routes' token, from the running keeper's data folder. */
export function apiToken(values: Values, env: NodeJS.ProcessEnv = process.env): string {
  const file = resolve(dataDirOf(values, env), API_TOKEN_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    throw new CliError(
      `no API token at ${file} (is the keeper running with this data folder? pass --data-dir or --config)`,
    );
  }
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

/** Turns a refused write into the error the operator can act on: 400 is their input (exit 2), the rest 1. */
async function refusal(res: Response, command: string): Promise<Error> {
  const body = (await res.json().catch(() => ({}))) as ApiErrorBody;
  const message = body.error?.message ?? `${res.status} ${res.statusText}`;
  if (res.status === 400) return new UsageError(`${command}: ${message}`, command);
  if (res.status === 401)
    return new CliError(`${command}: the keeper refused the API token (${message}); is --data-dir this keeper's?`);
  return new CliError(`${command}: the keeper answered ${res.status}: ${message}`);
}

/** POSTs a JSON body with the token; resolves with the JSON answer. */
export async function postJson<T>(
  base: string,
  path: string,
  body: unknown,
  options: { token: string; command: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<T> {
  const res = await post(base, path, body, options, "application/json");
  if (!res.ok) throw await refusal(res, options.command);
  return (await res.json()) as T;
}

/** POSTs with `accept: text/event-stream` and calls `onEvent` per server-sent event until the stream ends. */
export async function postEvents(
  base: string,
  path: string,
  body: unknown,
  options: { token: string; command: string; signal?: AbortSignal },
  onEvent: (name: string, data: unknown) => void,
): Promise<void> {
  const res = await post(base, path, body, options, "text/event-stream");
  if (!res.ok) throw await refusal(res, options.command);
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function post(
  base: string,
  path: string,
  body: unknown,
  options: { token: string; timeoutMs?: number; signal?: AbortSignal },
  accept: string,
): Promise<Response> {
  try {
    return await fetch(base + path, {
      method: "POST",
      signal: options.signal ?? (options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined),
      headers: { accept, "content-type": "application/json", authorization: `Bearer ${options.token}` },
      body: JSON.stringify(body),
    });
  } catch (err) {
    if ((err as Error).name === "TimeoutError") throw new CliError(`the keeper API at ${base} did not answer in time`);
    throw new CliError(
      `cannot reach the keeper API at ${base} (is the keeper running? start it with \`lumora-keeper start\`, or pass --api)`,
    );
  }
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
