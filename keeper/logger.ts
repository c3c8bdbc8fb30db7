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
  /**
   * A line about a peer's behaviour, rate-limited by `key` (name the site, not the peer, so fresh identities do
   * not each get their own budget): at most THROTTLE_LINES lines per key per THROTTLE_WINDOW_MS; the lines
   * suppressed in a window are reported once, by count, when it ends. Use it at every per-peer warn site.
   */
  throttled(key: string, level: Exclude<LogLevel, "silent">, msg: string, ctx?: LogContext): void;
}

/** Lines per throttle key per window: enough to see what happens, far too few to fill a disk. */
export const THROTTLE_LINES = 5;
/** Throttle window (ms). */
export const THROTTLE_WINDOW_MS = 60_000;
/** Throttle keys tracked at once: keys name sites, so this is never reached unless a caller keys by peer. */
const THROTTLE_MAX_KEYS = 1024;

interface ThrottleWindow {
  start: number;
  lines: number;
  suppressed: number;
  timer: NodeJS.Timeout | undefined;
}

export interface LoggerOptions {
  /** Minimum level written; default from LUMORA_LOG_LEVEL, else "info". */
  level?: LogLevel;
  /** Where lines go; default stderr. Tests pass an array-collecting sink. */
  sink?: (line: string) => void;
  /** Default from LUMORA_LOG_FORMAT, else "auto" (pretty when stderr is a terminal and no sink is given). */
  format?: LogFormat;
  /** Throttle state shared by a logger and its children (internal). */
  throttle?: Map<string, ThrottleWindow>;
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
  const throttle = options.throttle ?? new Map<string, ThrottleWindow>();
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
    child: (childName) => createLogger(`${name}:${childName}`, { level, sink: options.sink, format, throttle }),
    throttled: (key, lvl, msg, ctx) => {
      if (LEVELS[lvl] < min) return;
      const now = Date.now();
      const k = `${name}\u0000${key}`;
      let w = throttle.get(k);
      if (w !== undefined && now - w.start >= THROTTLE_WINDOW_MS) {
        flush(k, w);
        w = undefined;
      }
      if (w === undefined) {
        if (throttle.size >= THROTTLE_MAX_KEYS) {
          const [oldest, ow] = throttle.entries().next().value as [string, ThrottleWindow];
          flush(oldest, ow);
        }
        w = { start: now, lines: 0, suppressed: 0, timer: undefined };
        throttle.set(k, w);
      }
      if (w.lines < THROTTLE_LINES) {
        w.lines++;
        write(lvl, msg, ctx);
        return;
      }
      w.suppressed++;
      if (w.timer === undefined) {
        const win = w;
        win.timer = setTimeout(() => flush(k, win), Math.max(0, win.start + THROTTLE_WINDOW_MS - now));
        win.timer.unref();
      }
    },
  };

  /** Ends a key's window: reports how many lines it suppressed (once, at the level of the suppressed lines). */
  function flush(k: string, w: ThrottleWindow): void {
    clearTimeout(w.timer);
    if (throttle.get(k) === w) throttle.delete(k);
    if (w.suppressed > 0) {
      write("warn", "similar lines suppressed", {
        key: k.slice(k.indexOf("\u0000") + 1),
        suppressed: w.suppressed,
        windowMs: THROTTLE_WINDOW_MS,
      });
    }
  }
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
