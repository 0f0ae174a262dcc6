// One log line per event, on stderr. Two formats: `text` (`time level event key=value ...`) and
// `json` (one object per line: `time`, `level`, `event`, then the fields). Never pass secrets.

export type Level = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys every JSON line has; a field of the same name is renamed `field.NAME` rather than overwriting them. */
const RESERVED = new Set(["time", "level", "event"]);

export type LogFn = (event: string, fields?: Record<string, unknown>, level?: Level) => void;

/** One JSON log line (without the newline). Never throws: values JSON cannot hold become strings. */
export function jsonLine(time: string, level: Level, event: string, fields: Record<string, unknown>): string {
  const o: Record<string, unknown> = { time, level, event };
  for (const [k, v] of Object.entries(fields)) o[RESERVED.has(k) ? `field.${k}` : k] = v;
  try {
    return JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  } catch (e) {
    return JSON.stringify({ time, level, event, logError: `fields not serialisable: ${(e as Error).message}` });
  }
}

function textLine(time: string, level: Level, event: string, fields: Record<string, unknown>): string {
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${time} ${level} ${event}${kv ? " " + kv : ""}`;
}

export function createLogger(min: Level | "silent" = "info", format: LogFormat = "text"): LogFn {
  if (min === "silent") return () => {};
  const line = format === "json" ? jsonLine : textLine;
  return (event, fields = {}, level = "info") => {
    if (ORDER[level] < ORDER[min]) return;
    process.stderr.write(`${line(new Date().toISOString(), level, event, fields)}\n`);
  };
}
