// Assembles the server: config -> auth, pool, routes, WebSocket settings, TLS, the guard every
// request passes (security headers, probes and front door, authentication, rate limit), listen,
// exit conditions, the drain, shutdown.

import { Elysia } from "elysia";
import { chmod } from "node:fs/promises";
import { CloseCode, INSTANCE_META, Limits, parseQuery, Paths, Query } from "../protocol/index.ts";
import { loadAssets, PAGE_PATHS, withMeta, withPageOptions, type Asset } from "./web/assets.ts";
import { Auth, type Identity } from "./web/auth.ts";
import type { Config } from "./config/types.ts";
import { within } from "./core/deadline.ts";
import { DomainError } from "./core/errors.ts";
import { fleetAnswer } from "./web/fleet.ts";
import { HttpError, toHttp } from "./web/errors.ts";
import { FDS_PER_SESSION, startFdBudget } from "./core/fds.ts";
import { HostAllowList } from "./web/hosts.ts";
import { httpRoutes, sameOriginCheck } from "./web/http.ts";
import { startLagMonitor } from "./core/lag.ts";
import type { LogFn } from "./core/log.ts";
import { ENV_NAMES } from "./config/options.ts";
import { DRAIN_HANDOVER_MS, Pool } from "./core/pool.ts";
import { Recordings } from "./core/recorder.ts";
import { ScreenModels } from "./core/screen.ts";
import { socketEndpoint } from "./web/socket.ts";
import { transferRoutes, UPLOAD_PATH } from "./web/transfer-routes.ts";
import { Transfers } from "./web/transfer.ts";

/** Bun queues at most this much per socket; above it sends are dropped. Kept far above the deliveries' own watermarks so those act first. */
const SOCKET_BACKPRESSURE_LIMIT_BYTES = 16 << 20;
/** A socket silent this long is closed; Bun pings idle sockets first, so live browsers never hit it. */
const SOCKET_IDLE_TIMEOUT_S = 60;
/** Environment variables of the server that programs never see: its own settings (BUNTY_TOKEN, and BUNTY_PORT... which a bunty inside would take as its own). */
const PRIVATE_ENV = ENV_NAMES;
/** Request bodies of the API (JSON) above this size are refused (413); uploads have their own limit. */
const MAX_API_BODY_BYTES = 1 << 20;
/** Bun's own body limit sits this far above --upload-max-bytes, so the upload route's own check (and message) comes first. */
const UPLOAD_BODY_SLACK_BYTES = 8 << 20;
/** Bun's default request body limit. */
const DEFAULT_MAX_BODY_BYTES = 128 << 20;
/** A unix socket is created with this mode unless --socket-mode says otherwise (the umask could have made it 0777). */
const DEFAULT_SOCKET_MODE = 0o600;

/** What the drain tells the pages when nobody said why. */
const DRAIN_REASON = "the server is restarting";

export interface ServerHooks {
  /** A drain began (a signal or POST /api/drain): its sessions end within `inMs`, and `done` resolves once the server has shut down. */
  onDrain?(inMs: number, done: Promise<void>): void;
}

export interface RunningServer {
  url: URL;
  /** The URL to print: with the token, when there is one. */
  openUrl: URL;
  pool: Pool;
  /** Closes clients (1001), ends every session, stops listening. Bounded. */
  shutdown(): Promise<void>;
  /**
   * Drains: no new sessions (after the pool's handover), readiness 503, every page told; once the
   * sessions have ended or `timeoutMs` (default --drain-timeout) has passed, shutdown(). Once: a
   * later call joins the drain under way. Returns the time left.
   */
  drain(timeoutMs: number | undefined, source: string, reason?: string): { inMs: number };
  readonly draining: boolean;
  /** SIGHUP: applies the options marked `reload` in options.ts (except the log's, which main.ts owns); ignores every other field. Live sessions stay. */
  update(config: Config): void;
}

/** The environment every program gets: the server's own (minus secrets), then TERM/COLORTERM, then --env; bunty-get's directory first on PATH. */
function childEnv(config: Config, binDir: string | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !PRIVATE_ENV.includes(k)) env[k] = v;
  const all: Record<string, string> = { ...env, TERM: config.term, COLORTERM: "truecolor", ...config.env };
  if (binDir) Object.assign(all, { PATH: `${binDir}:${all.PATH ?? "/usr/local/bin:/usr/bin:/bin"}`, BUNTY_GET: `${binDir}/bunty-get` });
  return all;
}

/** Headers on every HTTP response. The page loads only its own bundled files; nothing may frame it unless allowed. */
export function securityHeaders(allowEmbed: boolean): Record<string, string> {
  const csp = [
    "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'",
    `frame-ancestors ${allowEmbed ? "*" : "'none'"}`,
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(allowEmbed ? {} : { "x-frame-options": "DENY" }),
  };
}

/** A unix socket path given as -i /path or -i unix:/path, else null. */
export const unixPath = (host: string) => (host.startsWith("unix:") ? host.slice(5) : host.startsWith("/") ? host : null);

export async function startServer(config: Config, log: LogFn, hooks: ServerHooks = {}): Promise<RunningServer> {
  const unix = unixPath(config.host);
  const auth = new Auth({
    token: config.token, credential: config.credential, authHeader: config.authHeader, trustedProxies: config.trustedProxies,
    proxySecret: config.proxySecret ?? null, unixProxy: unix !== null && config.authHeader !== null, basePath: config.basePath,
  });
  const hosts = new HostAllowList(config.host, config.allowOrigins, config.allowHosts);
  const fds = await startFdBudget();
  const fdsWanted = 2 * config.maxSessions * FDS_PER_SESSION + config.poolSize * FDS_PER_SESSION + Math.max(config.maxClients, config.maxSessions * 2) + 128;
  if (fds.limit < fdsWanted)
    log("server.fd_limit", { limit: fds.limit, wanted: fdsWanted, message: `the open-file limit (ulimit -n ${fds.limit}) is below what --max-sessions ${config.maxSessions} may need (${fdsWanted}); new sockets are refused near it` }, "warn");
  const assets = await loadAssets();
  // Every page names the instance (its title); the terminal page also carries the display defaults (-t).
  const plainPages = new Map<string, Asset>(PAGE_PATHS.map((p) => [p, assets.get(p)!]));
  const dressPages = (clientOptions: Record<string, string>) => {
    for (const [path, page] of plainPages) {
      const named = withMeta(page, INSTANCE_META, config.instance);
      assets.set(path, path === Paths.page ? withPageOptions(named, clientOptions) : named);
    }
  };
  dressPages(config.clientOptions);
  // Relative to this file, which a bundle places at the executable's root (scripts/build.ts).
  const screen = new ScreenModels({ scrollback: config.scrollback, log, workerUrl: new URL("./core/screen-worker.ts", import.meta.url) });
  const transfers = config.noFileTransfer ? null : new Transfers({ log, uploadMaxBytes: config.uploadMaxBytes, startCwd: config.cwd ?? process.cwd() });
  if (transfers) await transfers.install().catch((e) => log("file.helper_failed", { message: String((e as Error)?.message ?? e) }, "error")); // bunty-get missing; uploads still work
  const env = childEnv(config, transfers?.binDir ?? null);
  let recordings: Recordings | null = null;
  if (config.record !== null) {
    recordings = new Recordings({ dir: config.record, maxBytes: config.recordMaxBytes, env: { TERM: config.term, SHELL: env.SHELL ?? config.command[0]! }, log });
    await recordings.prepare(); // a directory that cannot be made is logged; sessions run unrecorded
  }
  let shutdown: () => Promise<void> = async () => {};
  /** Wakes the drain once its last session has ended. */
  let drainIdle: (() => void) | null = null;
  const pool: Pool = new Pool({
    command: config.command, cwd: config.cwd, env, maxSessions: config.maxSessions, maxDetached: config.maxDetached,
    graceMs: config.graceS * 1000, idleTimeoutMs: config.idleTimeoutS * 1000, spares: config.poolSize, screen, log,
    onEnded: (s) => {
      transfers?.forget(s.id);
      auth.endGrants(s.id);
      if (pool.draining && pool.size === 0) drainIdle?.();
      if (config.once && pool.created > 0 && pool.size === 0) void shutdown().then(() => process.exit(0));
    },
    record: recordings ? (s) => recordings.start({ sessionId: s.id, created: s.created, cols: s.cols, rows: s.rows, command: s.command }, true) : undefined,
    watchOutput: transfers ? (s) => transfers.watch(s) : undefined,
  });
  // Started after the pool, which sees every sample: the awaits above (the helper's install, the
  // recording directory) can outlast a sample's 50 ms on a busy machine.
  const lag = startLagMonitor((ms) => pool.shedLoad(ms));
  // What update() may change, read by the routes on every request: one object or array each, changed in place.
  const live = { metricsPublic: config.metricsPublic, drainTimeoutS: config.drainTimeoutS };
  const allowOrigins = [...config.allowOrigins];
  const policy = { allowed: config.allowCommands, any: config.allowAnyCommand };
  /** The identity the guard found for each request, for the routes (a credential is checked once per request). */
  const identities = new WeakMap<Request, Identity>();
  const socketOpts = {
    allowOrigins, readonly: config.readonly, maxClients: config.maxClients, once: config.once,
    urlArgs: config.urlArgs, command: config.command, basePath: config.basePath,
    onClientGone: () => {
      if (config.exitNoConn && pool.clientCount() === 0) void shutdown().then(() => process.exit(0));
    },
  };
  const headers = securityHeaders(config.allowEmbed);
  const endpoint = socketEndpoint({ pool, auth, log, identityOf: (r) => identities.get(r), fds, opts: socketOpts });
  const base = config.basePath;
  const fleet = { instance: config.instance, basePath: base, pool, headers, log };
  const tls = config.tlsCert && config.tlsKey
    ? { cert: Bun.file(config.tlsCert), key: Bun.file(config.tlsKey), ...(config.tlsCa ? { ca: Bun.file(config.tlsCa), requestCert: true, rejectUnauthorized: true } : {}) }
    : undefined;
  // Uploads stream up to --upload-max-bytes; Bun's own body limit must not cut them first (other bodies: MAX_API_BODY_BYTES, in the guard).
  const maxRequestBodySize = transfers ? Math.max(DEFAULT_MAX_BODY_BYTES, config.uploadMaxBytes + UPLOAD_BODY_SLACK_BYTES) : DEFAULT_MAX_BODY_BYTES;
  const app = new Elysia({
    serve: { maxRequestBodySize, ...(tls ? { tls } : {}) },
    websocket: {
      maxPayloadLength: Limits.maxFrameBytes,
      backpressureLimit: SOCKET_BACKPRESSURE_LIMIT_BYTES,
      closeOnBackpressureLimit: false,
      idleTimeout: SOCKET_IDLE_TIMEOUT_S,
      sendPings: true,
      perMessageDeflate: false,
    },
  })
    // The one place every request passes: headers, the host, the query, then authentication (all refusals are logged here).
    .onRequest(async ({ request, server, set }) => {
      Object.assign(set.headers, headers);
      const url = new URL(request.url);
      const refuse = (status: number, error: string, message: string, extra: Record<string, string> = {}) => {
        log("http.refused", { path: url.pathname.slice(0, 100), status, code: error, message }, "warn");
        return Response.json({ error, message }, { status, headers: { ...headers, ...extra } });
      };
      if (!hosts.allows(request.headers.get("host")))
        return refuse(421, "unknown_host", `this server does not answer for ${JSON.stringify(request.headers.get("host")!.slice(0, 100))}; start it with --allow-host NAME (docs/security.md: DNS rebinding)`);
      // The probes and the front door are public: they say whether this instance takes new tabs, and nothing else (web/fleet.ts).
      const answer = fleetAnswer(request.method, url.pathname, url.search, fleet);
      if (answer) return answer;
      // Under --base-path, everything else is not ours; the base itself gets its trailing slash (relative URLs need it).
      if (base && url.pathname === base) return Response.redirect(`${base}/${url.search}`, 308);
      if (base && !url.pathname.startsWith(`${base}/`)) return new Response("not found", { status: 404, headers });
      const path = url.pathname.slice(base.length);
      if (assets.has(path) && !auth.basic) return; // the page is public (no secrets in it) unless basic auth must prompt for it
      const q = parseQuery(url.search);
      if (!q.ok) return refuse(400, "bad_query", q.error);
      if (path === Paths.socket && q.get(Query.share) !== undefined) return; // a share link: its grant is checked by the socket route
      if (live.metricsPublic && path === Paths.metrics) return; // --metrics-public: counts only, no secrets
      const peer = server?.requestIP(request)?.address ?? null;
      const id = await auth.check(request, peer);
      identities.set(request, id);
      if (id.ok) {
        // -R: a read-only server starts and ends nothing.
        if (socketOpts.readonly && ((request.method === "POST" && (path === Paths.sessions || path === Paths.drain)) || (request.method === "DELETE" && path.startsWith(`${Paths.sessions}/`))))
          return refuse(403, "read_only", "the server is read-only (-R): sessions are neither started nor ended through the API (drain it with SIGTERM)");
        if (request.method === "PUT" && UPLOAD_PATH.test(path)) return; // streamed and counted by the upload route
        if (Number(request.headers.get("content-length")) > MAX_API_BODY_BYTES)
          return Response.json({ error: "too_large", message: `request bodies are limited to ${MAX_API_BODY_BYTES} bytes` }, { status: 413, headers });
        // A body of unknown length (chunked) would be buffered up to Bun's limit, raised for uploads: refused.
        if (request.headers.has("transfer-encoding"))
          return Response.json({ error: "length_required", message: `send a Content-Length (request bodies are limited to ${MAX_API_BODY_BYTES} bytes)` }, { status: 411, headers });
        return;
      }
      log("auth.refused", { path: url.pathname.slice(0, 100), peer, client: id.client, status: id.status, reason: id.reason }, "warn");
      return Response.json(
        { error: id.status === 429 ? "rate_limited" : "unauthorized", message: id.reason },
        {
          status: id.status,
          headers: { ...headers, ...(auth.basic ? { "www-authenticate": 'Basic realm="bunty", charset="UTF-8"' } : {}), ...(id.retryAfterS ? { "retry-after": String(id.retryAfterS) } : {}) },
        },
      );
    })
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") return;
      const path = new URL(request.url).pathname.slice(0, 100);
      // Refusals (bad request, forbidden command, unknown id, too many sessions...) are warnings; only server faults are errors.
      // The core's failures get their HTTP answer here (web/errors.ts); HttpErrors answer by themselves.
      const e = error instanceof HttpError || error instanceof DomainError ? toHttp(error) : null;
      if (e && e.status !== 500) {
        log("http.refused", { path, status: e.status, code: e.code, message: e.message }, "warn");
        return e.toResponse();
      }
      if (code === "VALIDATION" || code === "PARSE") return log("http.refused", { path, status: code === "PARSE" ? 400 : 422, code: code.toLowerCase() }, "warn"); // no message: it quotes the body
      log("http.error", { path, code, message: String((error as Error)?.message ?? error) }, "error");
    })
    .use(httpRoutes({ pool, lag, screen, assets, auth, log, secure: !!tls, allowOrigins, policy, recordings, basePath: base, identityOf: (r) => identities.get(r), fds, instance: config.instance, drain: (ms, source, reason) => drain(ms, source, reason) }))
    .use(endpoint.routes)
    .use(transferRoutes(transfers, { pool, basePath: base, live: socketOpts, uploadMaxBytes: config.uploadMaxBytes, requireSameOrigin: sameOriginCheck(allowOrigins) }));
  // A unix socket never exists, even for a moment, with more access than asked for: the umask is
  // narrowed around its creation (chmod after listen() would leave a window), then the mode set.
  const umask = unix ? process.umask(0o777 & ~(config.socketMode ?? DEFAULT_SOCKET_MODE)) : null;
  try {
    // The socket handlers are ours (socket.ts), given to Bun here: Elysia's would parse every text frame first.
    app.listen({ ...(unix ? { unix } : { port: config.port, hostname: config.host }), websocket: endpoint.websocket } as never);
  } finally {
    if (umask !== null) process.umask(umask);
  }
  const server = app.server!;
  if (unix) await chmod(unix, config.socketMode ?? DEFAULT_SOCKET_MODE);
  const host = unixPath(config.host) ? "localhost" : server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = new URL(`${tls ? "https" : "http"}://${host}${unixPath(config.host) ? "" : `:${server.port}`}${base}/`);
  const openUrl = new URL(url);
  if (config.token) openUrl.searchParams.set(Query.token, config.token);
  let stopping: Promise<void> | null = null;
  shutdown = () => {
    stopping ??= (async () => {
      server.stop(false); // no new connections; existing sockets get their close frames below
      await pool.endAll(CloseCode.goingAway, "server shutting down");
      await recordings?.closeAll(); // bounded: CLOSE_DEADLINE_MS
      await transfers?.uninstall(); // bounded: FS_TIMEOUT_MS
      lag.stop();
      fds.stop();
      screen.stop();
      server.stop(true);
    })();
    return stopping;
  };
  let drained: Promise<void> | null = null;
  const drain = (timeoutMs: number | undefined, source: string, reason = DRAIN_REASON): { inMs: number } => {
    if (!drained) {
      const ms = timeoutMs ?? live.drainTimeoutS * 1000;
      const started = Date.now();
      log("server.drain", { source, timeoutMs: ms, sessions: pool.size, clients: pool.clientCount() });
      pool.drain(ms, reason);
      drained = (async () => {
        // Not over before the handover, even with no session left: a tab the front door sent here just before may still come.
        const handover = Math.min(DRAIN_HANDOVER_MS, ms);
        await Bun.sleep(handover);
        const idle = new Promise<"idle">((resolve) => {
          drainIdle = () => resolve("idle");
          if (pool.size === 0) resolve("idle");
        });
        // The sessions go on until they end by themselves or the deadline; then they end as at any shutdown.
        const cause = await within(idle, ms - handover, "timeout" as const);
        log("server.drained", { source, cause, sessions: pool.size, ms: Date.now() - started });
        await shutdown();
      })();
      hooks.onDrain?.(ms, drained);
    }
    return { inMs: pool.drainNotice()?.inMs ?? 0 };
  };
  const update = (next: Config) => {
    pool.configure({ maxSessions: next.maxSessions, maxDetached: next.maxDetached, graceMs: next.graceS * 1000, idleTimeoutMs: next.idleTimeoutS * 1000, spares: next.poolSize });
    Object.assign(socketOpts, { readonly: next.readonly, maxClients: next.maxClients });
    allowOrigins.splice(0, allowOrigins.length, ...next.allowOrigins);
    hosts.update(next.host, next.allowOrigins, next.allowHosts);
    if (next.token !== config.token) {
      auth.rotate(next.token); // every page signed in with the old token is signed out
      config.token = next.token;
    }
    Object.assign(policy, { allowed: next.allowCommands, any: next.allowAnyCommand });
    live.metricsPublic = next.metricsPublic;
    live.drainTimeoutS = next.drainTimeoutS;
    dressPages(next.clientOptions);
  };
  return { url, openUrl, pool, shutdown: () => shutdown(), update, drain, get draining() { return pool.draining; } };
}
