// One log line per event, on stderr, as `time level event key=value ...`. Never pass secrets.

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFn = (event: string, fields?: Record<string, unknown>, level?: Level) => void;

export function createLogger(min: Level | "silent" = "info"): LogFn {
  if (min === "silent") return () => {};
  return (event, fields = {}, level = "info") => {
    if (ORDER[level] < ORDER[min]) return;
    const kv = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    process.stderr.write(`${new Date().toISOString()} ${level} ${event}${kv ? " " + kv : ""}\n`);
  };
}
