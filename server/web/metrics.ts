// GET /metrics: the server's counters and gauges in the Prometheus text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). Pure: reads the
// numbers it is given and renders them; nothing here is kept or computed on the hot path.
// docs/operations.md lists every metric. Every sample carries the instance's name as the label
// `bunty_instance`: not `instance`, which Prometheus sets itself to the scraped address (a
// scraped `instance` would be renamed `exported_instance`).

import type { Auth } from "./auth.ts";
import { COMMIT, VERSION } from "../core/version.ts";
import type { LagMonitor } from "../core/lag.ts";
import type { Pool } from "../core/pool.ts";
import type { ScreenModels } from "../core/screen.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge";
  value: number;
  labels?: Record<string, string>;
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const num = (v: number) => (Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v));

/** The exposition text: HELP and TYPE lines, then the sample, for every metric. */
export function renderMetrics(metrics: Metric[]): string {
  let out = "";
  for (const m of metrics) {
    const labels = m.labels ? `{${Object.entries(m.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
    out += `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n${m.name}${labels} ${num(m.value)}\n`;
  }
  return out;
}

/** The label every sample carries. */
export const INSTANCE_LABEL = "bunty_instance";

export interface MetricsSources {
  /** --instance. */
  instance: string;
  pool: Pool;
  auth: Auth;
  lag: LagMonitor;
  screen: ScreenModels;
}

/** Every metric bunty exports, read now. */
export function collectMetrics({ instance, pool, auth, lag, screen }: MetricsSources): Metric[] {
  const t = pool.totals();
  const metrics: Metric[] = [
    { name: "bunty_build_info", type: "gauge", value: 1, labels: { version: VERSION, commit: COMMIT }, help: "Always 1; the labels name the running version." },
    { name: "bunty_draining", type: "gauge", value: pool.draining ? 1 : 0, help: "1 while the instance drains (SIGTERM with --drain-timeout, POST /api/drain): no new sessions, its sessions end at the deadline." },
    { name: "bunty_sessions", type: "gauge", value: t.sessions, help: "Live sessions handed to clients or the API (warm spares not counted)." },
    { name: "bunty_detached_sessions", type: "gauge", value: t.detached, help: "Live sessions with no client attached (at most --max-detached)." },
    { name: "bunty_ending_sessions", type: "gauge", value: t.ending, help: "Sessions being ended: their processes are being reaped." },
    { name: "bunty_sessions_evicted_total", type: "counter", value: t.evicted, help: "Detached sessions ended to stay under --max-detached or to make room under --max-sessions." },
    { name: "bunty_spare_sessions", type: "gauge", value: t.spares, help: "Warm spares started and waiting (--pool-size)." },
    { name: "bunty_sessions_created_total", type: "counter", value: t.created, help: "Sessions started since the server started (warm spares included)." },
    { name: "bunty_sessions_ended_total", type: "counter", value: t.ended, help: "Sessions ended and reaped since the server started (warm spares included)." },
    { name: "bunty_clients", type: "gauge", value: t.clients, help: "WebSocket clients attached to sessions." },
    { name: "bunty_input_bytes_total", type: "counter", value: t.bytesIn, help: "Bytes of client input written to programs, over every session, ended ones included." },
    { name: "bunty_output_bytes_total", type: "counter", value: t.bytesOut, help: "Bytes of program output, over every session, ended ones included." },
    { name: "bunty_client_resyncs_total", type: "counter", value: t.resyncs, help: "Times a client that fell behind the output log was resynchronised with a screen snapshot." },
    { name: "bunty_clients_dropped_total", type: "counter", value: t.clientsDropped, help: "Clients closed (4001) because their connection refused more output." },
    { name: "bunty_auth_failures_total", type: "counter", value: auth.failuresTotal, help: "Requests refused for missing or wrong credentials (401)." },
    { name: "bunty_event_loop_lag_seconds", type: "gauge", value: lag.current() / 1000, help: "How late the server's 50 ms timer fired last time." },
    { name: "bunty_event_loop_lag_max_seconds", type: "gauge", value: lag.max() / 1000, help: "The largest event-loop lag in the last 10 s." },
    { name: "bunty_screen_skipped_bytes_total", type: "counter", value: screen.stats().skippedBytes, help: "Output bytes the screen models skipped instead of parsing (floods, a lagging worker)." },
    { name: "process_resident_memory_bytes", type: "gauge", value: process.memoryUsage.rss(), help: "Resident memory of the server process." },
  ];
  return metrics.map((m) => ({ ...m, labels: { [INSTANCE_LABEL]: instance, ...m.labels } }));
}
