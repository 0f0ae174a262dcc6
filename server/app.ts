// Assembles the server: config -> pool, routes, WebSocket settings, listen, shutdown.

import { Elysia } from "elysia";
import { CloseCode, Limits } from "../protocol/index.ts";
import type { Config } from "./cli.ts";
import { httpRoutes } from "./http.ts";
import { startLagMonitor } from "./lag.ts";
import type { LogFn } from "./log.ts";
import { Pool } from "./pool.ts";
import { ScreenModels } from "./screen.ts";
import { socketRoutes } from "./socket.ts";

/** Bun queues at most this much per socket; above it sends are dropped. Kept above the session's own per-client bound so that bound acts first. */
const SOCKET_BACKPRESSURE_LIMIT_BYTES = 16 << 20;
/** A socket silent this long is closed; Bun pings idle sockets first, so live browsers never hit it. */
const SOCKET_IDLE_TIMEOUT_S = 60;

export interface RunningServer {
  url: URL;
  pool: Pool;
  /** Closes clients (1001), ends every session, stops listening. Bounded. */
  shutdown(): Promise<void>;
}

/** The environment every program gets: the server's own, then TERM/COLORTERM, then --env. */
function childEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { ...env, TERM: config.term, COLORTERM: "truecolor", ...config.env };
}

export function startServer(config: Config, log: LogFn): RunningServer {
  const lag = startLagMonitor();
  const screen = new ScreenModels({ scrollback: config.scrollback });
  const pool = new Pool({
    command: config.command, cwd: config.cwd, env: childEnv(config), maxSessions: config.maxSessions,
    graceMs: config.graceS * 1000, idleTimeoutMs: config.idleTimeoutS * 1000, spares: config.poolSize, screen, log,
  });
  const app = new Elysia({
    websocket: {
      maxPayloadLength: Limits.maxFrameBytes,
      backpressureLimit: SOCKET_BACKPRESSURE_LIMIT_BYTES,
      closeOnBackpressureLimit: false,
      idleTimeout: SOCKET_IDLE_TIMEOUT_S,
      sendPings: true,
      perMessageDeflate: false,
    },
  })
    .onError(({ code, error }) => {
      if (code !== "NOT_FOUND") log("http.error", { code, message: String((error as Error)?.message ?? error) }, "error");
    })
    .use(httpRoutes(pool, lag, screen, { allowed: config.allowCommands, any: config.allowAnyCommand }, log))
    .use(socketRoutes(pool, log))
    .listen({ port: config.port, hostname: config.host });
  const server = app.server!;
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = new URL(`http://${host}:${server.port}/`);
  let stopping: Promise<void> | null = null;
  return {
    url,
    pool,
    shutdown() {
      stopping ??= (async () => {
        server.stop(false); // no new connections; existing sockets get their close frames below
        await pool.endAll(CloseCode.goingAway, "server shutting down");
        lag.stop();
        screen.stop();
        server.stop(true);
      })();
      return stopping;
    },
  };
}
