/**
 * Structured JSON logging (one object per line on stderr). Each module takes a named child logger;
 * context goes in fields, never interpolated into the message. Never log keys or raw peer payloads at
 * info or above.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogContext = Record<string, unknown>;

export interface Logger {
  readonly name: string;
  debug(msg: string, ctx?: LogContext): void;
  info(msg: string, ctx?: LogContext): void;
  warn(msg: string, ctx?: LogContext): void;
  error(msg: string, ctx?: LogContext): void;
  child(name: string): Logger;
}

export interface LoggerOptions {
  /** Minimum level written; default from LUMORA_LOG_LEVEL, else "info". */
  level?: LogLevel;
  /** Where lines go; default stderr. Tests pass an array-collecting sink. */
  sink?: (line: string) => void;
}

function defaultLevel(): LogLevel {
  const env = process.env.LUMORA_LOG_LEVEL as LogLevel | undefined;
  return env !== undefined && env in LEVELS ? env : "info";
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return value;
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? defaultLevel();
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + "\n"));
  const min = LEVELS[level];
  const write = (lvl: Exclude<LogLevel, "silent">, msg: string, ctx?: LogContext) => {
    if (LEVELS[lvl] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, name, msg };
    if (ctx !== undefined) for (const [k, v] of Object.entries(ctx)) entry[k] = serialise(v);
    sink(JSON.stringify(entry));
  };
  return {
    name,
    debug: (msg, ctx) => write("debug", msg, ctx),
    info: (msg, ctx) => write("info", msg, ctx),
    warn: (msg, ctx) => write("warn", msg, ctx),
    error: (msg, ctx) => write("error", msg, ctx),
    child: (childName) => createLogger(`${name}:${childName}`, { level, sink }),
  };
}
