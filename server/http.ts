// HTTP routes: the page, health, and the sessions API (validated by Elysia schemas, described
// by the OpenAPI spec at /openapi/json). Mutating requests pass the same Origin check as the
// WebSocket, so a foreign page cannot start or end sessions.

import { Elysia, t } from "elysia";
import { openapi } from "@elysiajs/openapi";
import page from "../client/index.html";
import { CloseCode, Limits, Paths } from "../protocol/index.ts";
import { COMMIT, VERSION } from "./cli.ts";
import { AppError, asAppError } from "./errors.ts";
import type { LagMonitor } from "./lag.ts";
import type { LogFn } from "./log.ts";
import type { Pool } from "./pool.ts";
import type { ScreenModels } from "./screen.ts";
import { checkOrigin } from "./socket.ts";

export interface CommandPolicy {
  /** Names POST /api/sessions may ask for, and the argv each starts. */
  allowed: Record<string, string[]>;
  /** Whether a raw argv may be given. */
  any: boolean;
}

const SessionInfo = t.Object({
  id: t.String(), pid: t.Integer(), command: t.Array(t.String()), created: t.String({ format: "date-time" }),
  cols: t.Integer(), rows: t.Integer(), clients: t.Integer(), offset: t.Integer(), lastActivity: t.String({ format: "date-time" }),
});
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

/** Mutating routes refuse browser pages of other origins, like the WebSocket does. */
function requireSameOrigin(request: Request): void {
  const refused = checkOrigin(request.headers.get("origin"), request.headers.get("host"));
  if (refused) throw new AppError("forbidden", refused, 403, CloseCode.sessionEnded);
}

export function httpRoutes(pool: Pool, lag: LagMonitor, screen: ScreenModels, policy: CommandPolicy, log: LogFn) {
  const started = Date.now();
  const notFound = (id: string) => new AppError("not_found", `no session ${id.slice(0, 40)}`, 404, CloseCode.sessionNotFound);
  return new Elysia({ name: "bunty.http" })
    .use(openapi({ provider: null, documentation: { info: { title: "bunty", version: VERSION, description: "Web terminal server API. The WebSocket protocol is in docs/protocol.md." } } }))
    .get(Paths.page, page)
    .get(Paths.health, () => ({
      status: "ok", version: VERSION, commit: COMMIT, uptime: Math.round((Date.now() - started) / 1000),
      sessions: pool.size, spares: pool.spareCount, clients: pool.clientCount(), sessionsCreated: pool.created,
      eventLoopLagMs: lag.current(), eventLoopLagMaxMs: lag.max(), rssBytes: process.memoryUsage.rss(), screen: screen.stats(),
    }), { detail: { summary: "Liveness, load and event-loop lag" } })
    .get(Paths.sessions, () => pool.list(), { response: t.Array(SessionInfo), detail: { summary: "Live sessions" } })
    .get(`${Paths.sessions}/:id`, ({ params }) => {
      const s = pool.get(params.id);
      if (!s) throw notFound(params.id);
      return s.info();
    }, { params: t.Object({ id: t.String({ maxLength: 64 }) }), response: { 200: SessionInfo, 404: ErrorBody }, detail: { summary: "One session" } })
    .post(Paths.sessions, ({ body, set, request }) => {
      requireSameOrigin(request);
      let argv: string[] | undefined;
      if (body.argv) {
        if (!policy.any) throw new AppError("forbidden_command", "argv is refused: the server was not started with --allow-any-command", 403, CloseCode.spawnFailed);
        argv = body.argv;
      } else if (body.command !== undefined) {
        argv = Object.hasOwn(policy.allowed, body.command) ? policy.allowed[body.command] : undefined;
        if (!argv) throw new AppError("forbidden_command", `command ${JSON.stringify(body.command)} is not in the allow-list (--allow-command)`, 403, CloseCode.spawnFailed);
      }
      try {
        const s = pool.create(body.cols ?? Limits.defaultCols, body.rows ?? Limits.defaultRows, argv);
        s.startGrace(); // nobody is attached yet
        set.status = 201;
        return s.info();
      } catch (e) {
        throw asAppError(e);
      }
    }, { body: CreateBody, response: { 201: SessionInfo, 403: ErrorBody, 500: ErrorBody, 503: ErrorBody }, detail: { summary: "Start a session (default command, an allow-listed one, or any with --allow-any-command)" } })
    .delete(`${Paths.sessions}/:id`, async ({ params, set, request }) => {
      requireSameOrigin(request);
      const s = pool.get(params.id);
      if (!s) throw notFound(params.id);
      log("session.delete", { session: s.id });
      await s.end(CloseCode.sessionEnded, "ended through the API");
      set.status = 204;
    }, { params: t.Object({ id: t.String({ maxLength: 64 }) }), detail: { summary: "End a session: clients get close 4003, its processes are reaped" } });
}
