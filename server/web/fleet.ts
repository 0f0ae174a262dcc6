// One instance among several behind a proxy (docs/deploy.md, "Many instances"): the front door
// (GET / outside the base path: a redirect into this instance's prefix, or 503 while it cannot
// take a new tab, so that the proxy asks the next instance) and the probes (/livez, /readyz:
// public, answered at the server's root whatever the base path, and under it). Reads the pool's
// state; keeps none of its own.

import { Paths } from "../../protocol/index.ts";
import type { LogFn } from "../core/log.ts";
import type { Pool } from "../core/pool.ts";

/** Retry-After of a front door or readiness refusal: about how long a proxy may leave this instance alone. */
export const RETRY_AFTER_S = 5;

export interface FleetDeps {
  /** --instance. */
  instance: string;
  /** --base-path ("" or "/i/a"): the prefix the front door sends new tabs into. */
  basePath: string;
  pool: Pick<Pool, "draining" | "full" | "drainNotice">;
  /** The security headers every response carries. */
  headers: Record<string, string>;
  log: LogFn;
}

/** Why this instance would refuse a new tab now, or null when it takes one. */
export function refusesNewTabs(pool: FleetDeps["pool"]): { code: "draining" | "too_many_sessions"; message: string } | null {
  if (pool.draining) return { code: "draining", message: `this instance is draining (${pool.drainNotice()?.reason ?? "stopping"}); ask another` };
  if (pool.full) return { code: "too_many_sessions", message: "this instance runs its maximum of sessions, each with a client; ask another" };
  return null;
}

/**
 * The answer to a probe or to the front door, or null for every other request (the guard goes on).
 * `path` is the request's path, base path included.
 */
export function fleetAnswer(method: string, path: string, search: string, deps: FleetDeps): Response | null {
  const { instance, basePath, pool, headers } = deps;
  if (method !== "GET" && method !== "HEAD") return null;
  const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
    Response.json(body, { status, headers: { ...headers, "cache-control": "no-store", ...extra } });
  const probe = path === Paths.live || path === Paths.ready || path === `${basePath}${Paths.live}` || path === `${basePath}${Paths.ready}`;
  if (probe) {
    const status = pool.draining ? "draining" : "ok";
    // Liveness says the process serves (a draining one does: restarting it would end its sessions early); readiness, whether it takes new sessions.
    if (path.endsWith(Paths.live)) return json(200, { status, instance });
    const inMs = pool.drainNotice()?.inMs;
    return pool.draining ? json(503, { status, instance, inMs }, { "retry-after": String(RETRY_AFTER_S) }) : json(200, { status, instance });
  }
  // The front door exists only beside a prefix: without one, "/" is the terminal page itself.
  if (basePath === "" || path !== "/") return null;
  const refused = refusesNewTabs(pool);
  if (refused) {
    deps.log("http.refused", { path, status: 503, code: refused.code, message: refused.message }, "warn");
    return json(503, { error: refused.code, message: refused.message, instance }, { "retry-after": String(RETRY_AFTER_S) });
  }
  // 302, not 301/308: the next new tab may be sent to another instance, so no browser or cache may keep it.
  return new Response(null, { status: 302, headers: { ...headers, location: `${basePath}/${search}`, "cache-control": "no-store" } });
}
