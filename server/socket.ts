// The WebSocket endpoint: translates frames to session calls and session output to frames.
// Owns per-connection state and the close/terminate deadline; all policy lives in Session/Pool.

import { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import { checkSize, decodeClientMessage, encodeMessage, Limits, Paths, PROTOCOL_VERSION } from "../protocol/index.ts";
import { asAppError } from "./errors.ts";
import type { LogFn } from "./log.ts";
import type { Pool } from "./pool.ts";
import type { Client, Session } from "./session.ts";

/** After we close a socket, how long its peer gets to finish the close handshake before we drop the TCP connection. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

interface Connection {
  session?: Session;
  client: Client;
  closeTimer?: ReturnType<typeof setTimeout>;
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

function makeClient(raw: ServerWebSocket<unknown>, conn: () => Connection): Client {
  return {
    sendBytes: (b) => raw.sendBinary(b),
    sendText: (t) => raw.sendText(t),
    bufferedAmount: () => raw.getBufferedAmount(),
    close: (code, reason) => closeWithDeadline(raw, conn(), code, reason),
    pauseInput: () => raw.pause(),
    resumeInput: () => raw.resume(),
  };
}

/** The initial size may come in the query (`/ws?cols=C&rows=R`) so the first prompt is drawn at the right width. */
function initialSize(query: Record<string, string | undefined>): { cols: number; rows: number; error?: string } {
  if (query.cols === undefined && query.rows === undefined) return { cols: Limits.defaultCols, rows: Limits.defaultRows };
  const cols = Number(query.cols), rows = Number(query.rows);
  const bad = checkSize(cols, rows);
  return bad ? { cols: Limits.defaultCols, rows: Limits.defaultRows, error: `query: ${bad}; using ${Limits.defaultCols}x${Limits.defaultRows}` } : { cols, rows };
}

/**
 * Cross-site WebSocket hijacking guard: a browser always sends Origin, and it must name this
 * very host. Clients that send no Origin (scripts, curl) are not browsers and are let through.
 * Returns a reason to refuse, or null.
 */
export function checkOrigin(origin: string | null, host: string | null): string | null {
  if (origin === null) return null;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return "malformed Origin header";
  }
  return host !== null && o.host === host ? null : `Origin ${origin.slice(0, 100)} does not match this server`;
}

export function socketRoutes(pool: Pool, log: LogFn) {
  // Elysia wraps the Bun socket in a new object per event; the raw socket is stable.
  const conns = new WeakMap<ServerWebSocket<unknown>, Connection>();
  return new Elysia({ name: "bunty.socket" }).ws(Paths.socket, {
    // An array: a plain function here runs twice per upgrade (Elysia 1.4).
    beforeHandle: [
      ({ request, status }) => {
        const refused = checkOrigin(request.headers.get("origin"), request.headers.get("host"));
        if (!refused) return;
        log("socket.refused", { reason: "origin", origin: request.headers.get("origin")?.slice(0, 100) }, "warn");
        return status(403, refused);
      },
    ],
    open(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>;
      const conn: Connection = { client: undefined as unknown as Client };
      conn.client = makeClient(raw, () => conn);
      conns.set(raw, conn);
      const size = initialSize(ws.data.query as Record<string, string | undefined>);
      try {
        conn.session = pool.create(size.cols, size.rows);
      } catch (e) {
        const err = asAppError(e);
        log("session.refused", { reason: err.code, message: err.message }, "warn");
        closeWithDeadline(raw, conn, err.closeCode, err.message);
        return;
      }
      const s = conn.session;
      s.attach(conn.client);
      s.send(conn.client, { type: "hello", protocol: PROTOCOL_VERSION, session: s.id, pid: s.pid, command: s.command, cols: s.cols, rows: s.rows });
      if (size.error) s.send(conn.client, { type: "error", code: "bad_message", message: size.error });
    },
    message(ws, message) {
      const conn = conns.get(ws.raw as ServerWebSocket<unknown>);
      const s = conn?.session;
      if (!conn || !s) return;
      if (message instanceof Uint8Array) return s.input(message, conn.client);
      const d = decodeClientMessage(message);
      if (!d.ok) return void conn.client.sendText(encodeMessage(d.error));
      if (d.message.type === "resize") s.resize(d.message.cols, d.message.rows);
      else conn.client.sendText(encodeMessage(d.message.t === undefined ? { type: "pong" } : { type: "pong", t: d.message.t }));
    },
    close(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>;
      const conn = conns.get(raw);
      if (!conn) return;
      conns.delete(raw);
      clearTimeout(conn.closeTimer);
      conn.session?.detach(conn.client);
    },
    error({ error }) {
      log("socket.error", { message: String((error as Error)?.message ?? error) }, "error");
    },
  });
}
