// One log line per event, on stderr. Two formats: `text` (`time level event key=value ...
// instance=NAME`) and `json` (one object per line: `time`, `level`, `event`, `instance`, then the
// fields). Every line names the instance (--instance), so the lines of many can be merged. Never pass secrets.

export type Level = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys every JSON line has (and `instance`, when the logger has one); a field of the same name is renamed `field.NAME` rather than overwriting them. */
const RESERVED = new Set(["time", "level", "event"]);

export type LogFn = (event: string, fields?: Record<string, unknown>, level?: Level) => void;

/** One JSON log line (without the newline). Never throws: values JSON cannot hold become strings. */
export function jsonLine(time: string, level: Level, event: string, fields: Record<string, unknown>, instance?: string): string {
  const o: Record<string, unknown> = instance === undefined ? { time, level, event } : { time, level, event, instance };
  for (const [k, v] of Object.entries(fields)) o[RESERVED.has(k) || (instance !== undefined && k === "instance") ? `field.${k}` : k] = v;
  try {
    return JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  } catch (e) {
    return JSON.stringify({ time, level, event, logError: `fields not serialisable: ${(e as Error).message}` });
  }
}

function textLine(time: string, level: Level, event: string, fields: Record<string, unknown>, instance?: string): string {
  const own = instance === undefined ? Object.entries(fields) : [...Object.entries(fields).map(([k, v]) => [k === "instance" ? "field.instance" : k, v] as const), ["instance", instance] as const];
  const kv = own
    .map(([k, v]) => `${k}=${typeof v === "string" && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${time} ${level} ${event}${kv ? " " + kv : ""}`;
}

/** `instance`: the name every line carries (--instance); none when undefined. */
export function createLogger(min: Level | "silent" = "info", format: LogFormat = "text", instance?: string): LogFn {
  if (min === "silent") return () => {};
  const line = format === "json" ? jsonLine : textLine;
  return (event, fields = {}, level = "info") => {
    if (ORDER[level] < ORDER[min]) return;
    process.stderr.write(`${line(new Date().toISOString(), level, event, fields, instance)}\n`);
  };
}
