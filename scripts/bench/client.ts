// A minimal bunty WebSocket client for the benchmark: opens a session, hands out the hello,
// lets callers wait for output, closes with a deadline. Uses Bun's built-in WebSocket.

import { decodeServerMessage, type ExitMessage, type HelloMessage, type ServerMessage, type SnapshotMessage } from "../../protocol/index.ts";
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
  /** First thing that draws a screen: a binary frame or a `snapshot` message, whichever comes first. */
  firstScreen: Promise<{ at: number; kind: "bytes" | "snapshot"; text: string }>;
  exit: Promise<{ at: number; message: ExitMessage }>;
  closed: Promise<CloseEvent>;
  /** Set to receive every binary frame (after firstOutput). */
  onBytes?: (bytes: Uint8Array) => void;
  /** Set to receive every `snapshot` message (they are also kept in `others`). */
  onSnapshot?: (message: SnapshotMessage, at: number) => void;
  /** Text messages other than hello/exit (snapshots, errors, pongs). */
  others: ServerMessage[];
  /** `snapshot` messages received so far. */
  snapshots: number;
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
  const screen = Promise.withResolvers<{ at: number; kind: "bytes" | "snapshot"; text: string }>();
  const exit = Promise.withResolvers<{ at: number; message: ExitMessage }>();
  const closed = Promise.withResolvers<CloseEvent>();
  for (const p of [opened, hello, first, screen, exit]) p.promise.catch(() => {}); // unobserved rejections are fine
  let gotFirst = false;
  const conn: Conn = {
    ws, t0, opened: opened.promise, hello: hello.promise, firstOutput: first.promise, firstScreen: screen.promise, exit: exit.promise,
    closed: closed.promise, others: [], snapshots: 0,
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
        screen.resolve({ at, kind: "bytes", text: new TextDecoder().decode(bytes) }); // no-op after a snapshot
      }
      conn.onBytes?.(bytes);
      return;
    }
    const m = decodeServerMessage(ev.data);
    if (m?.type === "hello") hello.resolve({ at, message: m });
    else if (m?.type === "exit") exit.resolve({ at, message: m });
    else if (m) {
      conn.others.push(m);
      if (m.type === "snapshot") {
        conn.snapshots++;
        screen.resolve({ at, kind: "snapshot", text: m.data });
        conn.onSnapshot?.(m, at);
      }
    }
  };
  ws.onclose = (ev: CloseEvent) => {
    const why = new Error(`socket closed (${ev.code} ${ev.reason || "no reason"})`);
    for (const p of [opened, hello, first, screen, exit]) p.reject(why);
    closed.resolve(ev);
  };
  return conn;
}
