// The WebSocket endpoint: translates frames to session calls and session output to frames.
// Owns per-connection state, the origin check and the close/terminate deadline; all policy
// lives in Session/Pool.

import { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import { checkSize, CloseCode, decodeClientMessage, encodeMessage, Limits, Paths, Query } from "../protocol/index.ts";
import type { Auth } from "./auth.ts";
import { URL_ARG_MAX_BYTES, URL_ARG_MAX_COUNT } from "./cli.ts";
import { asAppError } from "./errors.ts";
import type { LogFn } from "./log.ts";
import type { Pool } from "./pool.ts";
import type { AttachOptions, Client, Session } from "./session.ts";

/** After we close a socket, how long its peer gets to finish the close handshake before we drop the TCP connection. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

interface Connection {
  session?: Session;
  client: Client;
  closeTimer?: ReturnType<typeof setTimeout>;
  /** Aborted when the socket goes: a new session still waiting for room is then never started. */
  gone: AbortController;
}

/** Closes with a reason that fits a close frame (123 bytes), and terminates if the peer does not answer in time. */
function closeWithDeadline(raw: ServerWebSocket<unknown>, conn: Connection, code: number, reason: string): void {
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

function makeClient(raw: ServerWebSocket<unknown>, conn: Connection): Client {
  return {
    sendBytes: (b) => raw.sendBinary(b),
    sendText: (t) => raw.sendText(t),
    bufferedAmount: () => raw.getBufferedAmount(),
    close: (code, reason) => closeWithDeadline(raw, conn, code, reason),
    pauseInput: () => raw.pause(),
    resumeInput: () => raw.resume(),
  };
}

type Q = Record<string, string | undefined>;

/** Reads the WebSocket URL's query. Problems are reported back as `error` messages, never fatal. */
export function parseQuery(q: Q): { session?: string; attach: AttachOptions; problems: string[] } {
  const problems: string[] = [];
  const attach: AttachOptions = { mode: "write" };
  if (q[Query.cols] !== undefined || q[Query.rows] !== undefined) {
    const cols = Number(q[Query.cols]), rows = Number(q[Query.rows]);
    const bad = checkSize(cols, rows);
    if (bad) problems.push(`query: ${bad}; size ignored`);
    else Object.assign(attach, { cols, rows });
  }
  const mode = q[Query.mode];
  if (mode === "view" || mode === "write") attach.mode = mode;
  else if (mode !== undefined) {
    attach.mode = "view"; // least privilege when unsure
    problems.push(`query: mode must be "view" or "write"; joined as view`);
  }
  const offset = q[Query.offset];
  if (offset !== undefined) {
    if (/^\d{1,15}$/.test(offset)) attach.offset = Number(offset);
    else problems.push("query: offset must be a non-negative integer; ignored");
  }
  const session = q[Query.session];
  return { session: session || undefined, attach, problems };
}

/**
 * Cross-site WebSocket hijacking guard: a browser always sends Origin, and it must name this
 * very host. Clients that send no Origin (scripts, curl) are not browsers and are let through.
 * Returns a reason to refuse, or null.
 */
export function checkOrigin(origin: string | null, host: string | null, allowed: string[] = []): string | null {
  if (origin === null) return null;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return "malformed Origin header";
  }
  if (allowed.includes(o.origin)) return null;
  return host !== null && o.host === host ? null : `Origin ${origin.slice(0, 100)} does not match this server`;
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
export function urlArgs(url: URL): string[] | string {
  const args = url.searchParams.getAll(Query.arg);
  if (args.length > URL_ARG_MAX_COUNT) return `at most ${URL_ARG_MAX_COUNT} arg parameters`;
  if (args.some((a) => Buffer.byteLength(a) > URL_ARG_MAX_BYTES || a.includes("\0"))) return `each arg is at most ${URL_ARG_MAX_BYTES} bytes, without NUL`;
  return args;
}

export function socketRoutes(pool: Pool, auth: Auth, log: LogFn, opts: SocketOptions) {
  // Elysia wraps the Bun socket in a new object per event; the raw socket is stable.
  const conns = new WeakMap<ServerWebSocket<unknown>, Connection>();
  const connOf = (ws: { raw: unknown }) => conns.get(ws.raw as ServerWebSocket<unknown>);
  let accepted = 0;
  /** Every refusal before the upgrade, in one place, each with a log line and an HTTP status. */
  const refuse = (status: (code: 400 | 403 | 503, body: string) => unknown, code: 400 | 403 | 503, reason: string, why: string) => {
    log("socket.refused", { reason: why, message: reason.slice(0, 120) }, "warn");
    return status(code, reason);
  };
  return new Elysia({ name: "bunty.socket", prefix: opts.basePath }).ws(Paths.socket, {
    // An array: a plain function here runs twice per upgrade (Elysia 1.4).
    beforeHandle: [
      ({ request, status, server }) => {
        const origin = request.headers.get("origin");
        const refused = checkOrigin(origin, request.headers.get("host"), opts.allowOrigins);
        if (refused) return refuse(status, 403, refused, "origin");
        const url = new URL(request.url);
        if (url.searchParams.has(Query.share)) {
          const id = url.searchParams.get(Query.session) ?? "";
          if (!auth.checkShare(id, url.searchParams.get(Query.share)!)) return refuse(status, 403, "this share link does not grant that session", "share");
        } else if (origin === null && auth.required) {
          // Browsers always send Origin; a client without one must show its credential itself, not ride on a cookie.
          const who = auth.check(request, server?.requestIP(request)?.address ?? null);
          if (!who.ok || !who.explicit) return refuse(status, 403, "clients without an Origin header must authenticate with the token (Authorization: Bearer)", "no-origin");
        }
        if (opts.maxClients > 0 && pool.clientCount() >= opts.maxClients) return refuse(status, 503, `the server already has its maximum of ${opts.maxClients} clients`, "max-clients");
        if (opts.once && accepted > 0) return refuse(status, 503, "this server serves one client only (--once)", "once");
        const args = opts.urlArgs ? urlArgs(url) : [];
        if (typeof args === "string") return refuse(status, 400, args, "url-arg");
      },
    ],
    open(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>;
      const conn = { gone: new AbortController() } as Connection;
      conn.client = makeClient(raw, conn);
      conns.set(raw, conn);
      accepted++;
      const { session: id, attach, problems } = parseQuery(ws.data.query as Q);
      const url = new URL(ws.data.request.url);
      if (opts.readonly || url.searchParams.has(Query.share)) attach.mode = "view";
      const attachTo = (s: Session) => {
        conn.session = s;
        s.attach(conn.client, attach);
        for (const p of problems) s.send(conn.client, { type: "error", code: "bad_message", message: p });
      };
      if (id !== undefined) {
        const s = pool.get(id);
        if (!s) return closeWithDeadline(raw, conn, CloseCode.sessionNotFound, `no session ${id.slice(0, 40)}`);
        attach.byId = true;
        return attachTo(s);
      }
      const who = auth.check(ws.data.request, raw.remoteAddress);
      const env: Record<string, string> = who.ok && who.via === "header" && who.user ? { BUNTY_USER: who.user } : {};
      const args = opts.urlArgs ? (urlArgs(url) as string[]) : [];
      // Usually at once; after a storm of dropped sessions, once enough of them are reaped (Pool.room).
      void pool.room(conn.gone.signal).then(
        () => {
          if (conn.gone.signal.aborted) return;
          const s = pool.create(attach.cols ?? Limits.defaultCols, attach.rows ?? Limits.defaultRows, args.length ? [...opts.command, ...args] : undefined, env);
          attach.fresh = s.log.end === 0;
          attach.offset = undefined;
          attachTo(s);
        },
      ).catch((e) => {
        if (conn.gone.signal.aborted) return; // nobody to tell
        const err = asAppError(e);
        log("session.refused", { reason: err.code, message: err.message }, "warn");
        closeWithDeadline(raw, conn, err.closeCode, err.message);
      });
    },
    message(ws, message) {
      const conn = connOf(ws);
      const s = conn?.session;
      if (!conn || !s) return;
      if (message instanceof Uint8Array) return s.input(conn.client, message);
      const d = decodeClientMessage(message);
      if (!d.ok) return void conn.client.sendText(encodeMessage(d.error));
      const m = d.message;
      switch (m.type) {
        case "resize": return s.resize(conn.client, m.cols, m.rows);
        case "ack": return s.ack(conn.client, m.offset);
        case "take": return s.take(conn.client);
        case "ping": return void conn.client.sendText(encodeMessage(m.t === undefined ? { type: "pong" } : { type: "pong", t: m.t }));
      }
    },
    drain(ws) {
      const conn = connOf(ws);
      conn?.session?.drained(conn.client);
    },
    close(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>;
      const conn = conns.get(raw);
      if (!conn) return;
      conns.delete(raw);
      conn.gone.abort();
      clearTimeout(conn.closeTimer);
      conn.session?.detach(conn.client);
      opts.onClientGone();
    },
    error({ error }) {
      log("socket.error", { message: String((error as Error)?.message ?? error) }, "error");
    },
  });
}
