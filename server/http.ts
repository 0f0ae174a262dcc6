// HTTP routes: the page and the JSON API. Reads pool state; changes nothing.

import { Elysia } from "elysia";
import page from "../client/index.html";
import { Paths } from "../protocol/index.ts";
import { COMMIT, VERSION } from "./cli.ts";
import type { LagMonitor } from "./lag.ts";
import type { Pool } from "./pool.ts";

export function httpRoutes(pool: Pool, lag: LagMonitor) {
  const started = Date.now();
  return new Elysia({ name: "bunty.http" })
    .get(Paths.page, page)
    .get(Paths.health, () => ({
      status: "ok",
      version: VERSION,
      commit: COMMIT,
      uptime: Math.round((Date.now() - started) / 1000),
      sessions: pool.size,
      clients: pool.clientCount(),
      eventLoopLagMs: lag.current(),
      eventLoopLagMaxMs: lag.max(),
      rssBytes: process.memoryUsage.rss(),
    }))
    .get(Paths.sessions, () => pool.list());
}
