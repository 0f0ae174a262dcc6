// A minimal bunty WebSocket client for the benchmark: opens a session, hands out the hello,
// lets callers wait for output, closes with a deadline. Uses Bun's built-in WebSocket.

import { decodeServerMessage, type ExitMessage, type HelloMessage, type ServerMessage } from "../../protocol/index.ts";
import { deadline } from "./util.ts";

/** How long a socket gets to finish its close handshake. */
const CLOSE_TIMEOUT_MS = 3000;

export interface Conn {
  ws: WebSocket;
  /** performance.now() just before `new WebSocket`. */
  t0: number;
  opened: Promise<number>;
  hello: Promise<{ at: number; message: HelloMessage }>;
  /** First binary frame: when, and its bytes. */
  firstOutput: Promise<{ at: number; bytes: Uint8Array }>;
  exit: Promise<{ at: number; message: ExitMessage }>;
  closed: Promise<CloseEvent>;
  /** Set to receive every binary frame (after firstOutput). */
  onBytes?: (bytes: Uint8Array) => void;
  /** Text messages other than hello/exit (errors, pongs). */
  others: ServerMessage[];
  close(): Promise<CloseEvent | null>;
}

/**
 * Opens a socket. Promises that can no longer happen (socket closed first) reject, so every
 * wait on them ends; callers still wrap waits in `deadline`.
 */
export function connect(url: string): Conn {
  const t0 = performance.now();
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const opened = Promise.withResolvers<number>();
  const hello = Promise.withResolvers<{ at: number; message: HelloMessage }>();
  const first = Promise.withResolvers<{ at: number; bytes: Uint8Array }>();
  const exit = Promise.withResolvers<{ at: number; message: ExitMessage }>();
  const closed = Promise.withResolvers<CloseEvent>();
  for (const p of [opened, hello, first, exit]) p.promise.catch(() => {}); // unobserved rejections are fine
  let gotFirst = false;
  const conn: Conn = {
    ws, t0, opened: opened.promise, hello: hello.promise, firstOutput: first.promise, exit: exit.promise, closed: closed.promise, others: [],
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) {
        try {
          ws.close(1000, "bench done");
        } catch {}
      }
      return deadline(closed.promise, CLOSE_TIMEOUT_MS, "socket close").catch(() => null);
    },
  };
  ws.onopen = () => opened.resolve(performance.now());
  ws.onmessage = (ev: MessageEvent) => {
    const at = performance.now();
    if (typeof ev.data !== "string") {
      const bytes = new Uint8Array(ev.data as ArrayBuffer);
      if (!gotFirst) {
        gotFirst = true;
        first.resolve({ at, bytes });
      }
      conn.onBytes?.(bytes);
      return;
    }
    const m = decodeServerMessage(ev.data);
    if (m?.type === "hello") hello.resolve({ at, message: m });
    else if (m?.type === "exit") exit.resolve({ at, message: m });
    else if (m) conn.others.push(m);
  };
  ws.onclose = (ev: CloseEvent) => {
    const why = new Error(`socket closed (${ev.code} ${ev.reason || "no reason"})`);
    for (const p of [opened, hello, first, exit]) p.reject(why);
    closed.resolve(ev);
  };
  return conn;
}
