// HTTP routes: the page, health, the drain, and the sessions API (validated by Elysia schemas,
// described by the OpenAPI spec at /openapi/json). Mutating requests pass the same Origin check
// as the WebSocket, so a foreign page cannot start or end sessions.

import { Elysia, t, type Static } from "elysia";
import { openapi } from "@elysiajs/openapi";
import { CloseCode, Limits, Paths, Query, SessionPaths, type SessionInfo as SessionInfoShape, type ShareLink, type SignIn } from "../../protocol/index.ts";
import type { Assets } from "./assets.ts";
import { SIGN_IN_MAX_AGE_S, type Auth, type Identity } from "./auth.ts";
import type { FdBudget } from "../core/fds.ts";
import { COMMIT, VERSION } from "../core/version.ts";
import { HttpError, toHttp } from "./errors.ts";
import type { LagMonitor } from "../core/lag.ts";
import type { LogFn } from "../core/log.ts";
import { collectMetrics, METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import type { Pool } from "../core/pool.ts";
import { ASCIICAST_TYPE, type Recordings } from "../core/recorder.ts";
import type { ScreenModels } from "../core/screen.ts";
import { checkOrigin } from "./origin.ts";

export interface CommandPolicy {
  /** Names POST /api/sessions may ask for, and the argv each starts. */
  allowed: Record<string, string[]>;
  /** Whether a raw argv may be given. */
  any: boolean;
}

/** The schema of protocol/index.ts's SessionInfo (for validation and the OpenAPI spec); the two checks below keep them the same shape. */
const SessionInfo = t.Object({
  id: t.String(), pid: t.Integer(), command: t.Array(t.String()), created: t.String({ format: "date-time" }),
  cols: t.Integer(), rows: t.Integer(), clients: t.Integer(), offset: t.Integer(), lastActivity: t.String({ format: "date-time" }),
});
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sessionInfoMatches: Same<Static<typeof SessionInfo>, SessionInfoShape> = true;
void sessionInfoMatches;
const ErrorBody = t.Object({ error: t.String(), message: t.String() });
const CreateBody = t.Object(
  {
    command: t.Optional(t.String({ maxLength: 64, description: "a name given to --allow-command" })),
    argv: t.Optional(t.Array(t.String({ maxLength: 4096 }), { minItems: 1, maxItems: 64, description: "any command; only with --allow-any-command" })),
    cols: t.Optional(t.Integer({ minimum: Limits.minCols, maximum: Limits.maxCols })),
    rows: t.Optional(t.Integer({ minimum: Limits.minRows, maximum: Limits.maxRows })),
  },
  { additionalProperties: false },
);

export interface HttpDeps {
  pool: Pool;
  lag: LagMonitor;
  screen: ScreenModels;
  assets: Assets;
  auth: Auth;
  log: LogFn;
  /** Served over TLS (cookies get Secure). */
  secure: boolean;
  allowOrigins: string[];
  policy: CommandPolicy;
  /** Every route lives under this prefix ("" or "/term"). */
  basePath: string;
  /** --record: the recording directory; null when recording is off. */
  recordings: Recordings | null;
  /** The identity the guard found for a request. */
  identityOf(request: Request): Identity | undefined;
  fds: FdBudget;
  /** --instance. */
  instance: string;
  drain: StartDrain;
}

const DrainBody = t.Optional(t.Object(
  {
    timeoutS: t.Optional(t.Integer({ minimum: 0, maximum: 86400, description: "how long the sessions are kept (default: --drain-timeout)" })),
    reason: t.Optional(t.String({ maxLength: 200, description: "shown to the pages (default: the server is restarting)" })),
  },
  { additionalProperties: false },
));

/** Starts a drain (app.ts owns it: the wait, the end, the exit); a second call changes nothing. Returns the time left. */
export type StartDrain = (timeoutMs: number | undefined, source: string, reason?: string) => { inMs: number };

const Recording = t.Object({ name: t.String(), size: t.Integer(), created: t.String({ format: "date-time" }) });

/** Mutating routes refuse browser pages of other origins, like the WebSocket does (`allowOrigins` is read at each call). */
export const sameOriginCheck = (allowOrigins: string[]) => (request: Request) => {
  const refused = checkOrigin(request.headers.get("origin"), request.headers.get("host"), allowOrigins);
  if (refused) throw new HttpError("forbidden", refused, 403);
};

export function httpRoutes({ pool, lag, screen, assets, auth, log, secure, allowOrigins, policy, recordings, basePath, identityOf, fds, instance, drain }: HttpDeps) {
  const started = Date.now();
  const requireSameOrigin = sameOriginCheck(allowOrigins);
  const asset = (path: string, request: Request) => {
    const a = assets.get(path);
    if (!a) return new Response("not found", { status: 404 });
    const headers: Record<string, string> = { "content-type": a.type, "cache-control": a.type.startsWith("text/html") ? "no-cache" : "max-age=31536000, immutable", vary: "accept-encoding" };
    const gzip = a.gzip && /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
    if (gzip) headers["content-encoding"] = "gzip";
    return new Response((gzip ? a.gzip : a.body) as Uint8Array<ArrayBuffer>, { headers });
  };
  const notFound = (id: string) => new HttpError("not_found", `no session ${id.slice(0, 40)}`, 404);
  const recordingsOn = (): Recordings => {
    if (!recordings) throw new HttpError("not_found", "recording is off (start the server with --record DIR)", 404);
    return recordings;
  };
  const app = new Elysia({ name: "bunty.http", prefix: basePath })
    .use(openapi({ provider: null, documentation: { info: { title: "bunty", version: VERSION, description: "Web terminal server API. The WebSocket protocol is in docs/protocol.md." } } }))
    .get(Paths.page, ({ request }) => asset("/", request))
    .post(Paths.auth, ({ request, set }): SignIn => {
      // The guard already checked the credential (the guessing limit included); this trades it for a sign-in.
      requireSameOrigin(request);
      set.headers["cache-control"] = "no-store";
      if (!auth.required) return { authenticated: true, proof: "", expires: new Date(Date.now() + SIGN_IN_MAX_AGE_S * 1000).toISOString() };
      const s = auth.signIn(secure);
      set.headers["set-cookie"] = s.setCookie;
      return { authenticated: true, proof: s.proof, expires: s.expires.toISOString() };
    }, { detail: { summary: "Trade the token (Authorization: Bearer) for a sign-in: an HttpOnly, SameSite=Strict cookie, and the proof to send with it (X-Bunty-Proof)" } })
    .delete(Paths.auth, ({ request, set }) => {
      requireSameOrigin(request);
      const who = identityOf(request);
      if (who?.ok && who.signIn) auth.revoke(who.signIn);
      set.headers["set-cookie"] = auth.signOutCookie(secure);
      set.headers["cache-control"] = "no-store";
      set.status = 204;
    }, { detail: { summary: "Sign out: this sign-in is refused from now on" } })
    .get(Paths.auth, () => ({ authenticated: true }), { detail: { summary: "200 when this client is authenticated (else the guard answers 401)" } })
    .get(Paths.health, ({ set }) => {
      // A load balancer polling it sends new sessions elsewhere while this instance drains (503); /livez stays 200.
      const notice = pool.drainNotice();
      if (notice) set.status = 503;
      return {
        status: notice ? "draining" : "ok", instance, ...(notice ? { drainInMs: notice.inMs } : {}), version: VERSION, commit: COMMIT, uptime: Math.round((Date.now() - started) / 1000),
        sessions: pool.size, detached: pool.detachedCount, ending: pool.endingCount, sessionsEvicted: pool.evicted, spares: pool.spareCount, clients: pool.clientCount(), sessionsCreated: pool.created, authFailures: auth.failuresTotal,
        eventLoopLagMs: lag.current(), eventLoopLagMaxMs: lag.max(), rssBytes: process.memoryUsage.rss(), screen: screen.stats(),
      };
    }, { detail: { summary: "Status (503 while draining), load and event-loop lag" } })
    .post(Paths.drain, ({ body, request, set }) => {
      requireSameOrigin(request);
      const { inMs } = drain(body?.timeoutS === undefined ? undefined : body.timeoutS * 1000, "api", body?.reason);
      set.status = 202;
      return { status: "draining", instance, inMs };
    }, { body: DrainBody, detail: { summary: "Drain: no new sessions, the pages told, the sessions ended after the timeout (or when they end), then the server exits" } })
    .get(Paths.metrics, () => new Response(renderMetrics(collectMetrics({ instance, pool, auth, lag, screen })), { headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" } }),
      { detail: { summary: "Counters and gauges in the Prometheus text format 0.0.4 (docs/operations.md)" } })
    .get(Paths.recordings, () => recordingsOn().list(), { response: { 200: t.Array(Recording), 404: ErrorBody }, detail: { summary: "Session recordings (--record), oldest first" } })
    .get(`${Paths.recordings}/:name`, async ({ params }) => {
      const dir = recordingsOn();
      // Only the names we write: nothing with a path separator or a parent reference gets near the file system.
      if (/[/\\\0]|\.\./.test(params.name)) throw new HttpError("bad_name", "a recording name has no path separators or '..'", 400);
      const file = await dir.serve(params.name); // a regular file only, opened without following a symlink
      if (!file) throw new HttpError("not_found", `no recording ${params.name.slice(0, 80)}`, 404);
      return new Response(file.body, { headers: { "content-type": ASCIICAST_TYPE, "cache-control": "no-store" } });
    }, { params: t.Object({ name: t.String() }), detail: { summary: "One recording, as an asciicast v2 file (application/x-asciicast)" } })
    .get(Paths.sessions, () => pool.list(), { response: t.Array(SessionInfo), detail: { summary: "Live sessions" } })
    .get(`${Paths.sessions}/:id`, ({ params }) => {
      const s = pool.get(params.id);
      if (!s) throw notFound(params.id);
      return s.info();
    }, { params: t.Object({ id: t.String({ maxLength: 64 }) }), response: { 200: SessionInfo, 404: ErrorBody }, detail: { summary: "One session" } })
    .post(Paths.sessions, async ({ body, set, request }) => {
      requireSameOrigin(request);
      let argv: string[] | undefined;
      if (body.argv) {
        if (!policy.any) throw new HttpError("forbidden_command", "argv is refused: the server was not started with --allow-any-command", 403);
        argv = body.argv;
      } else if (body.command !== undefined) {
        argv = Object.hasOwn(policy.allowed, body.command) ? policy.allowed[body.command] : undefined;
        if (!argv) throw new HttpError("forbidden_command", `command ${JSON.stringify(body.command)} is not in the allow-list (--allow-command)`, 403);
      }
      if (!fds.room()) throw new HttpError("fd_limit", "the server is near its limit of open files; try again later", 503);
      try {
        await pool.room(request.signal);
        const s = pool.create(body.cols ?? Limits.defaultCols, body.rows ?? Limits.defaultRows, argv);
        s.keep("api"); // someone asked for it and holds its id
        s.startGrace(); // nobody is attached yet
        set.status = 201;
        return s.info();
      } catch (e) {
        throw toHttp(e);
      }
    }, { body: CreateBody, response: { 201: SessionInfo, 403: ErrorBody, 500: ErrorBody, 503: ErrorBody }, detail: { summary: "Start a session (default command, an allow-listed one, or any with --allow-any-command)" } })
    .post(`${Paths.sessions}/:id${SessionPaths.share}`, ({ params, request }) => {
      requireSameOrigin(request);
      const s = pool.get(params.id);
      if (!s) throw notFound(params.id);
      const q = new URLSearchParams({ [Query.session]: s.id, [Query.mode]: "view", [Query.share]: auth.grant(s.id) });
      return { path: `${basePath}${Paths.page}?${q}` } satisfies ShareLink;
    }, { params: t.Object({ id: t.String({ maxLength: 64 }) }), detail: { summary: "A view-only link to one session: works without the token, for that session only" } })
    .delete(`${Paths.sessions}/:id`, async ({ params, set, request }) => {
      requireSameOrigin(request);
      const s = pool.get(params.id);
      if (!s) throw notFound(params.id);
      log("session.delete", { session: s.id });
      await s.end(CloseCode.sessionEnded, "ended through the API");
      set.status = 204;
    }, { params: t.Object({ id: t.String({ maxLength: 64 }) }), detail: { summary: "End a session: clients get close 4003, its processes are reaped" } });
  // Only the bundled files, each by its exact path.
  for (const path of assets.keys()) if (path !== "/") app.get(path, ({ request }) => asset(path, request), { detail: { hide: true } });
  return app;
}
