/**
 * Structured JSON logging (one object per line on stderr). Each module takes a named child logger;
 * context goes in fields, never interpolated into the message. Never log keys or raw peer payloads at
 * info or above.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** json: one object per line (machines); pretty: a readable line (people at a terminal); auto: pretty on a TTY. */
export type LogFormat = "json" | "pretty" | "auto";

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
  /** Default from LUMORA_LOG_FORMAT, else "auto" (pretty when stderr is a terminal and no sink is given). */
  format?: LogFormat;
}

/** Context fields that must never reach a log, whatever the level. */
const SECRET_FIELDS = /^(privateKey|chainKey|secret|password|mnemonic|seed)$/i;

const COLOURS: Record<Exclude<LogLevel, "silent">, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

function pretty(entry: Record<string, unknown>, colour: boolean): string {
  const { time, level, name, msg, ...ctx } = entry;
  const lvl = String(level).toUpperCase().padEnd(5);
  const head = `${String(time).slice(11, 23)} ${colour ? COLOURS[level as keyof typeof COLOURS] + lvl + "\x1b[0m" : lvl} ${name}: ${msg}`;
  const fields = Object.entries(ctx).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return fields.length === 0 ? head : `${head}  ${fields.join(" ")}`;
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
  const envFormat = process.env.LUMORA_LOG_FORMAT as LogFormat | undefined;
  const format = options.format ?? (envFormat === "json" || envFormat === "pretty" ? envFormat : "auto");
  const isPretty =
    format === "pretty" || (format === "auto" && options.sink === undefined && process.stderr.isTTY === true);
  const colour = isPretty && options.sink === undefined && process.stderr.isTTY === true;
  const write = (lvl: Exclude<LogLevel, "silent">, msg: string, ctx?: LogContext) => {
    if (LEVELS[lvl] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, name, msg };
    if (ctx !== undefined)
      for (const [k, v] of Object.entries(ctx)) entry[k] = SECRET_FIELDS.test(k) ? "[redacted]" : serialise(v);
    sink(isPretty ? pretty(entry, colour) : JSON.stringify(entry));
  };
  return {
    name,
    debug: (msg, ctx) => write("debug", msg, ctx),
    info: (msg, ctx) => write("info", msg, ctx),
    warn: (msg, ctx) => write("warn", msg, ctx),
    error: (msg, ctx) => write("error", msg, ctx),
    child: (childName) => createLogger(`${name}:${childName}`, { level, sink: options.sink, format }),
  };
}

/** The logger shape libraries such as node-cron accept (`{ logger }` option): message, then an optional error. */
export interface LibraryLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string | Error, err?: Error): void;
  debug(message: string | Error, err?: Error): void;
}

/**
 * Routes a library's log calls into `log`, so that they come out in the keeper's format (one JSON object per
 * line in JSON mode) instead of the library's own coloured console lines.
 */
export function libraryLogger(log: Logger): LibraryLogger {
  const entry = (message: string | Error, err?: Error): [string, LogContext | undefined] =>
    message instanceof Error ? [message.message, { err: message }] : [message, err ? { err } : undefined];
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error(...entry(message, err)),
    debug: (message, err) => log.debug(...entry(message, err)),
  };
}
