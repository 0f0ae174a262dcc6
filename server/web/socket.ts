// The WebSocket endpoint: the only module that knows Bun's ServerWebSocket. Refuses before the
// upgrade (origin, query, share grant, limits), then translates frames to session calls and
// session output to frames; owns per-connection state and the close/terminate deadline. All
// policy lives in Session/Pool.
//
// The upgrade is ours (server.upgrade in a GET route) and so are the socket's handlers (passed to
// Bun through listen()), not Elysia's `.ws()`: Elysia parses every text frame before a handler
// sees it (JSON.parse of up to a whole 1 MiB frame, "1" turned into a number), so neither the
// control-frame limit nor our own decoding could come first.

import { Elysia } from "elysia";
import type { ServerWebSocket, WebSocketHandler } from "bun";
import { checkSize, CloseCode, decodeClientMessage, encodeMessage, Limits, parseQuery, Paths, Query } from "../../protocol/index.ts";
import type { Auth, Identity } from "./auth.ts";
import { checkOrigin } from "./origin.ts";
import { toClose } from "./errors.ts";
import type { FdBudget } from "../core/fds.ts";
import type { LogFn } from "../core/log.ts";
import type { Pool } from "../core/pool.ts";
import type { AttachOptions, Client, Session } from "../core/session.ts";

/** After we close a socket, how long its peer gets to finish the close handshake before we drop the TCP connection. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;
/** Clients attached to one session at most (writers and viewers); more get 503 before the upgrade. */
export const MAX_CLIENTS_PER_SESSION = 64;
/** Viewers on one share grant at most: a link handed around cannot eat the server's sockets. */
export const MAX_CLIENTS_PER_GRANT = 16;

/** What each socket carries (Bun's ws.data): set at the upgrade, read by the handlers. */
interface SocketData {
  bunty: true;
  attach: AttachOptions;
  /** Attach to this session (by id), else start one. */
  sessionId?: string;
  /** The share grant it came with, if any (counted per grant). */
  grant?: string;
  /** Arguments for a new session's command (-a). */
  args: string[];
  /** The user a trusted proxy named (BUNTY_USER). */
  user?: string;
  problems: string[];
  conn?: Connection;
}

interface Connection {
  session?: Session;
  client: Client;
  closeTimer?: ReturnType<typeof setTimeout>;
  /** Aborted when the socket goes: a new session still waiting for room is then never started. */
  gone: AbortController;
}

type Raw = ServerWebSocket<SocketData>;

/** Closes with a reason that fits a close frame (123 bytes), and terminates if the peer does not answer in time. */
function closeWithDeadline(raw: Raw, conn: Connection, code: number, reason: string): void {
  if (conn.closeTimer) return;
  try {
    raw.close(code, Buffer.from(reason).subarray(0, 123).toString());
  } catch {}
  conn.closeTimer = setTimeout(() => {
    try {
      raw.terminate();
    } catch {}
  }, CLOSE_HANDSHAKE_TIMEOUT_MS);
}

function makeClient(raw: Raw, conn: Connection): Client {
  return {
    sendOutput: (b) => raw.sendBinary(b),
    sendControl: (m) => void raw.sendText(encodeMessage(m)),
    bufferedAmount: () => raw.getBufferedAmount(),
    close: (code, reason) => closeWithDeadline(raw, conn, code, reason),
    pauseInput: () => raw.pause(),
    resumeInput: () => raw.resume(),
  };
}

/** Reads the size, mode and offset parameters. Bad values are reported back as `error` messages, never fatal. */
export function attachOptions(get: (k: string) => string | undefined): { attach: AttachOptions; problems: string[] } {
  const problems: string[] = [];
  const attach: AttachOptions = { mode: "write" };
  if (get(Query.cols) !== undefined || get(Query.rows) !== undefined) {
    const cols = Number(get(Query.cols)), rows = Number(get(Query.rows));
    const bad = checkSize(cols, rows);
    if (bad) problems.push(`query: ${bad}; size ignored`);
    else Object.assign(attach, { cols, rows });
  }
  const mode = get(Query.mode);
  if (mode === "view" || mode === "write") attach.mode = mode;
  else if (mode !== undefined) {
    attach.mode = "view"; // least privilege when unsure
    problems.push(`query: mode must be "view" or "write"; joined as view`);
  }
  const offset = get(Query.offset);
  if (offset !== undefined) {
    if (/^\d{1,15}$/.test(offset)) attach.offset = Number(offset);
    else problems.push("query: offset must be a non-negative integer; ignored");
  }
  return { attach, problems };
}


export interface SocketOptions {
  allowOrigins: string[];
  /** Every client joins view-only. */
  readonly: boolean;
  /** Most clients at once; 0 = no limit. */
  maxClients: number;
  /** Accept one client in the server's life. */
  once: boolean;
  /** Accept `arg` query parameters as extra arguments for new sessions. */
  urlArgs: boolean;
  /** The default command (url args are appended to it). */
  command: string[];
  /** Every route lives under this prefix ("" or "/term"). */
  basePath: string;
  onClientGone(): void;
}

/** Checks ?arg= values against the limits; returns them, or a reason to refuse. */
export function checkUrlArgs(args: string[]): string[] | string {
  if (args.length > Limits.maxUrlArgs) return `at most ${Limits.maxUrlArgs} arg parameters`;
  if (args.some((a) => Buffer.byteLength(a) > Limits.maxUrlArgBytes || a.includes("\0"))) return `each arg is at most ${Limits.maxUrlArgBytes} bytes, without NUL`;
  return args;
}

export interface SocketDeps {
  pool: Pool;
  auth: Auth;
  log: LogFn;
  /** The identity the guard (app.ts) found for a request, once per request. */
  identityOf(request: Request): Identity | undefined;
  fds: FdBudget;
  opts: SocketOptions;
}

/** The route that upgrades `GET {base}/ws`, and the socket handlers to give Bun (app.ts passes them to listen()). */
export function socketEndpoint({ pool, auth, log, identityOf, fds, opts }: SocketDeps): { routes: Elysia<any>; websocket: WebSocketHandler<SocketData> } {
  let accepted = 0;
  const perGrant = new Map<string, number>();
  /** Every refusal before the upgrade, in one place, each with a log line and an HTTP status. */
  const refuse = (code: 400 | 403 | 404 | 503, reason: string, why: string) => {
    log("socket.refused", { reason: why, message: reason.slice(0, 120) }, "warn");
    return Response.json({ error: why, message: reason }, { status: code });
  };

  const routes = new Elysia({ name: "bunty.socket", prefix: opts.basePath }).get(Paths.socket, ({ request, server }) => {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return refuse(400, "this is the WebSocket endpoint: connect with Upgrade: websocket", "not-websocket");
    const origin = request.headers.get("origin");
    const refused = checkOrigin(origin, request.headers.get("host"), opts.allowOrigins);
    if (refused) return refuse(403, refused, "origin");
    const q = parseQuery(new URL(request.url).search);
    if (!q.ok) return refuse(400, q.error, "query");
    const data: SocketData = { bunty: true, args: [], ...attachOptions(q.get) };
    const grant = q.get(Query.share);
    if (grant !== undefined) {
      // A share link opens the one live session it was made for, view-only; it never starts one.
      const id = q.get(Query.session);
      const granted = auth.grantedSession(grant);
      if (id === undefined || granted !== id || !pool.get(id)) return refuse(403, "this share link does not grant a live session by that id", "share");
      if ((perGrant.get(grant) ?? 0) >= MAX_CLIENTS_PER_GRANT) return refuse(503, `this share link already has its maximum of ${MAX_CLIENTS_PER_GRANT} viewers`, "grant-full");
      Object.assign(data, { sessionId: id, grant });
      data.attach.mode = "view";
    } else {
      const who = identityOf(request);
      // Browsers always send Origin; a client without one must show its credential itself, not ride on a sign-in.
      if (origin === null && auth.required && !(who?.ok && who.explicit)) return refuse(403, "clients without an Origin header must authenticate with the token (Authorization: Bearer)", "no-origin");
      data.sessionId = q.get(Query.session);
      if (who?.ok && who.via === "header" && who.user) data.user = who.user;
      if (data.sessionId === undefined && opts.urlArgs) {
        const args = checkUrlArgs(q.all(Query.arg));
        if (typeof args === "string") return refuse(400, args, "url-arg");
        data.args = args;
      }
    }
    if (opts.readonly) data.attach.mode = "view";
    if (opts.maxClients > 0 && pool.clientCount() >= opts.maxClients) return refuse(503, `the server already has its maximum of ${opts.maxClients} clients`, "max-clients");
    if (data.sessionId !== undefined) {
      const s = pool.get(data.sessionId);
      if (s && s.clientCount >= MAX_CLIENTS_PER_SESSION) return refuse(503, `that session already has its maximum of ${MAX_CLIENTS_PER_SESSION} clients`, "session-full");
    }
    if (!fds.room()) return refuse(503, "the server is near its limit of open files; try again later", "fd-limit");
    if (opts.once && accepted > 0) return refuse(503, "this server serves one client only (--once)", "once");
    if (server?.upgrade(request, { data })) return;
    return refuse(400, "the WebSocket upgrade failed", "upgrade");
  });

  const websocket: WebSocketHandler<SocketData> = {
    open(raw) {
      const d = raw.data;
      const conn: Connection = { gone: new AbortController() } as Connection;
      conn.client = makeClient(raw, conn);
      d.conn = conn;
      accepted++;
      if (d.grant) perGrant.set(d.grant, (perGrant.get(d.grant) ?? 0) + 1);
      const attachTo = (s: Session) => {
        conn.session = s;
        s.attach(conn.client, d.attach);
        for (const p of d.problems) s.send(conn.client, { type: "error", code: "bad_message", message: p });
        // A client attaching during a drain (a reattach, a tab in the handover) is told too, right after its hello.
        const notice = pool.drainNotice();
        if (notice && !s.ended) s.send(conn.client, notice);
      };
      if (d.sessionId !== undefined) {
        const s = pool.get(d.sessionId);
        if (!s) return closeWithDeadline(raw, conn, CloseCode.sessionNotFound, `no session ${d.sessionId.slice(0, 40)}`);
        d.attach.byId = true;
        return attachTo(s);
      }
      const env: Record<string, string> = d.user ? { BUNTY_USER: d.user } : {};
      // Usually at once; after a storm of dropped sessions, once enough of them are reaped (Pool.room).
      void pool.room(conn.gone.signal).then(() => {
        if (conn.gone.signal.aborted) return;
        const s = pool.create(d.attach.cols ?? Limits.defaultCols, d.attach.rows ?? Limits.defaultRows, d.args.length ? [...opts.command, ...d.args] : undefined, env);
        d.attach.fresh = s.replayable; // a spare's prompt comes as bytes, at once
        d.attach.offset = undefined;
        attachTo(s);
      }).catch((e) => {
        if (conn.gone.signal.aborted) return; // nobody to tell
        const err = toClose(e);
        log("session.refused", { reason: err.kind, message: err.reason }, "warn");
        closeWithDeadline(raw, conn, err.code, err.reason);
      });
    },
    message(raw, message) {
      const conn = raw.data.conn;
      const s = conn?.session;
      if (!conn || !s) return;
      if (typeof message !== "string") return s.input(conn.client, message);
      // The limit comes before any parsing.
      if (message.length > Limits.maxControlBytes || Buffer.byteLength(message) > Limits.maxControlBytes) return conn.client.sendControl({ type: "error", code: "too_large", message: `control frames are limited to ${Limits.maxControlBytes} bytes` });
      const d = decodeClientMessage(message);
      if (!d.ok) return conn.client.sendControl(d.error);
      const m = d.message;
      switch (m.type) {
        case "resize": return s.resize(conn.client, m.cols, m.rows);
        case "ack": return s.ack(conn.client, m.offset);
        case "take": return s.take(conn.client);
        case "ping": return conn.client.sendControl(m.t === undefined ? { type: "pong" } : { type: "pong", t: m.t });
      }
    },
    drain(raw) {
      const conn = raw.data.conn;
      conn?.session?.drained(conn.client);
    },
    close(raw) {
      const d = raw.data;
      const conn = d.conn;
      if (!conn) return;
      d.conn = undefined;
      conn.gone.abort();
      clearTimeout(conn.closeTimer);
      if (d.grant) {
        const n = (perGrant.get(d.grant) ?? 1) - 1;
        if (n > 0) perGrant.set(d.grant, n);
        else perGrant.delete(d.grant);
      }
      conn.session?.detach(conn.client);
      opts.onClientGone();
    },
  };
  // A throw in a handler must not become an uncaught exception of the server: logged, and that socket closed.
  const guarded = <A extends unknown[]>(name: string, f: (raw: Raw, ...a: A) => void) => (raw: Raw, ...a: A) => {
    try {
      f(raw, ...a);
    } catch (e) {
      log("socket.error", { in: name, message: String((e as Error)?.message ?? e).slice(0, 200) }, "error");
      const conn = raw.data.conn;
      if (conn) closeWithDeadline(raw, conn, CloseCode.internalError, "internal server error");
    }
  };
  return {
    routes,
    websocket: {
      open: guarded("open", websocket.open!),
      message: guarded("message", websocket.message as (raw: Raw, message: string | Buffer) => void),
      drain: guarded("drain", websocket.drain!),
      close: guarded("close", websocket.close as (raw: Raw) => void),
    },
  };
}
