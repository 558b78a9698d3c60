/**
 * Where statewire reports what a handler did wrong. Any pino-compatible logger fits; the default
 * writes one JSON line per warning or error to stderr and stays quiet otherwise.
 */

export interface Logger {
  error(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  debug(fields: Record<string, unknown>, message?: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Errors become `{ name, message, stack }`; JSON.stringify would otherwise print `{}`. */
function serializable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

/** A structured logger writing JSON lines to `write` (stderr by default) at `level` and above. */
export function createJsonLogger(
  level: LogLevel = "warn",
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (fields: Record<string, unknown>, message?: string): void => {
      if (rank[name] < rank[level]) return;
      write(JSON.stringify({ level: name, time: Date.now(), ...serializable(fields), msg: message }) + "\n");
    };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

export const silentLogger: Logger = createJsonLogger("silent");
