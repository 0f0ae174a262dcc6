// Owner: client (browser page). The connection: one session over /ws, kept across reloads and dropped
// connections (resume from the log or a snapshot, backoff, heartbeat), the writer's size policy,
// and input to the program. Wire format and semantics: protocol/index.ts.

import { CloseCode, Paths, Query, decodeServerMessage, encodeMessage, type ClientMessage, type ExitMessage, type ServerMessage } from "../protocol/index.ts";
import { setUrl } from "./address.ts";
import { apiFetch, withProof } from "./credentials.ts";
import { bunty, endText, flash, render, setState, shown } from "./status.ts";
import { container, fitToWindow, fittedSize, inOrder, resizeTo, Stream, term, type Size } from "./terminal.ts";
import { offerDownload } from "./transfer.ts";

export const TITLE = "bunty";
const RESIZE_DEBOUNCE_MS = 50;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** A connection that stayed up this long starts the backoff over when it drops. */
const STABLE_MS = 10_000;
/** While live, ping this often; no answer within PING_TIMEOUT_MS means the connection is dead. */
const PING_EVERY_MS = 15_000;
const PING_TIMEOUT_MS = 10_000;
const INPUT_FRAME_BYTES = 64 << 10;
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

let modeParam = new URLSearchParams(location.search).get(Query.mode); // passed through as given; the server decides
/** A view-only share link's grant (kept in the URL: it is what the link is). */
const shareParam = new URLSearchParams(location.search).get(Query.share);

let ws: WebSocket | null = null;
const stream = new Stream((offset) => send({ type: "ack", offset }));
let sessionSize: Size = fittedSize();
let sentSize: Size | null = null;
let exitInfo: ExitMessage | null = null;
let attempt = 0; // reconnects since the last stable connection
let retryTimer: ReturnType<typeof setTimeout> | undefined;

// ---- size: the writer's size wins ----

/** A writer fills its window; anyone else shows the session at the PTY's size, so the program's drawing is not garbled. */
export function applySize(): void {
  if (bunty.writer) fitToWindow();
  else resizeTo(sessionSize);
  sendSize();
}
/** Our fitted size, sent whether or not we are the writer: the server keeps it for when we become it. */
function sendSize(): void {
  const s = fittedSize();
  if (sentSize && s.cols === sentSize.cols && s.rows === sentSize.rows) return;
  if (send({ type: "resize", ...s })) sentSize = s;
}
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
// Observing the container covers window resizes, zoom and font loading alike.
new ResizeObserver(() => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(applySize, RESIZE_DEBOUNCE_MS);
}).observe(container);
document.fonts?.ready.then(applySize);
fitToWindow();

// ---- input ----

const encoder = new TextEncoder();

function send(m: ClientMessage | Uint8Array<ArrayBuffer>): boolean {
  if (ws?.readyState !== WebSocket.OPEN) return false;
  ws.send(m instanceof Uint8Array ? m : encodeMessage(m));
  return true;
}
/** Sends what the user typed or pasted to the program. */
export function input(data: string | Uint8Array<ArrayBuffer>): void {
  if (bunty.state === "ended") return;
  if (bunty.mode === "view") return flash("view only: typing is off");
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  // A write-mode tab that is not the writer takes over by typing; the server decides and says so with `role`.
  // A big paste goes in pieces: one frame over Limits.maxFrameBytes would get the socket closed.
  for (let i = 0; i < bytes.length; i += INPUT_FRAME_BYTES) {
    if (!send(bytes.subarray(i, i + INPUT_FRAME_BYTES))) return flash("not connected: input dropped");
  }
}

// ---- connection ----

function socketUrl(): string {
  // Relative to the page, so bunty also works behind a reverse proxy under a base path.
  const url = new URL("ws", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams();
  if (bunty.session) {
    q.set(Query.session, bunty.session);
    if (stream.offset !== null) q.set(Query.offset, String(stream.offset));
  }
  if (modeParam) q.set(Query.mode, modeParam);
  if (shareParam) q.set(Query.share, shareParam);
  // The writer's size is applied on attach, so the first screen is drawn at the right width.
  const { cols, rows } = fittedSize();
  q.set(Query.cols, String(cols));
  q.set(Query.rows, String(rows));
  url.search = q.toString();
  return withProof(url).href;
}

let outputSeen: () => void = () => {};
/** Resolves when the first output of the first connection has arrived. */
export const firstOutput = new Promise<void>((resolve) => (outputSeen = resolve));

/** The first connection's milestones as performance marks (devtools, the browser check's load timing); once each, so they never pile up. */
const marked = new Set<string>();
function markOnce(name: string): void {
  if (marked.has(name)) return;
  marked.add(name);
  performance.mark(name);
}

export function connect(): void {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  shown.retryAt = null;
  exitInfo = null;
  sentSize = null;
  if (bunty.state !== "reconnecting") setState("connecting");
  else render();
  markOnce("bunty:connect");
  const sock = new WebSocket(socketUrl());
  sock.binaryType = "arraybuffer";
  ws = bunty.socket = sock;
  let openedAt = 0;
  let lastRx = 0;
  let pingSentAt = 0;
  let heartbeat: ReturnType<typeof setInterval> | undefined;

  sock.onopen = () => {
    markOnce("bunty:open");
    openedAt = lastRx = Date.now();
    // Timestamps, not timer counts: background tabs throttle timers, which must not look like a dead link.
    heartbeat = setInterval(() => {
      if (pingSentAt && lastRx < pingSentAt && Date.now() - pingSentAt > PING_TIMEOUT_MS) return abandon();
      pingSentAt = Date.now();
      send({ type: "ping" });
    }, PING_EVERY_MS);
  };
  sock.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
    if (ws !== sock) return;
    lastRx = Date.now();
    if (typeof ev.data === "string") return control(decodeServerMessage(ev.data), ev.data);
    if (!marked.has("bunty:output")) {
      markOnce("bunty:output");
      outputSeen();
    }
    stream.bytes(new Uint8Array(ev.data));
    bunty.offset = stream.offset;
  };
  // A half-open connection may never report its close; stop listening to it and start over.
  const abandon = () => {
    sock.onclose = null;
    sock.close();
    closed(4999, "no answer to ping");
  };
  const closed = async (code: number, reason: string) => {
    clearInterval(heartbeat);
    if (ws !== sock) return;
    ws = bunty.socket = null;
    // Refused before the upgrade? A browser cannot see why; ask, rather than retry forever.
    if (!openedAt && !shareParam) {
      const status = await apiFetch(Paths.auth.slice(1)).then((r) => r.status, () => 0);
      if (status === 401) return end("not signed in: open the address bunty printed at start (it carries the token)");
      if (status === 429) return end("too many failed sign-in attempts from this address; wait a minute and reload");
    }
    if (openedAt && Date.now() - openedAt > STABLE_MS) attempt = 0;
    const final = endText(code, reason, exitInfo);
    if (final) end(final, code === CloseCode.tooManySessions);
    else scheduleReconnect();
  };
  sock.onclose = (ev) => closed(ev.code, ev.reason);
}

function control(msg: ServerMessage | null, raw: string): void {
  switch (msg?.type) {
    case "hello":
      markOnce("bunty:hello");
      bunty.session = msg.session;
      bunty.mode = msg.mode;
      bunty.writer = msg.writer;
      bunty.resumed = msg.resumed;
      sessionSize = { cols: msg.cols, rows: msg.rows };
      setUrl(msg.session);
      // "snapshot": keep our offset until the snapshot says where we are (a drop before it resumes from what we have).
      if (msg.resumed !== "snapshot") stream.startAt(msg.offset, msg.resumed === "new");
      bunty.offset = stream.offset;
      inOrder(applySize);
      setState("live");
      break;
    case "snapshot":
      // At attach, or on a live connection after the server skipped us to the present.
      sessionSize = { cols: msg.cols, rows: msg.rows };
      stream.snapshot(msg, () => bunty.writer && fitToWindow());
      bunty.snapshots++;
      bunty.offset = stream.offset;
      break;
    case "size":
      sessionSize = { cols: msg.cols, rows: msg.rows };
      if (!bunty.writer) inOrder(() => !bunty.writer && resizeTo(sessionSize));
      break;
    case "role":
      bunty.writer = msg.writer;
      inOrder(applySize);
      render();
      break;
    case "exit":
      exitInfo = msg;
      break;
    case "error":
      if (msg.code === "read_only") flash("view only: typing is off");
      else console.warn(`bunty: server error ${msg.code}: ${msg.message}`);
      break;
    case "pong":
      break;
    case "download":
      offerDownload(msg); // a notice with a button: output alone never downloads anything
      break;
    default:
      console.warn("bunty: ignored unknown control message", raw); // later protocol versions add types
  }
}

function scheduleReconnect(): void {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt++);
  // Jitter spreads the reconnects of many tabs after a server restart.
  const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
  shown.retryAt = Date.now() + delay;
  retryTimer = setTimeout(connect, delay);
  setState("reconnecting");
}
/** Waiting to reconnect? Then try now (the network or the tab just came back). */
function reconnectNow(): void {
  if (bunty.state === "reconnecting" && retryTimer !== undefined) connect();
}
addEventListener("online", reconnectNow);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && reconnectNow());


function end(text: string, full = false): void {
  shown.endedText = text;
  bunty.writer = false;
  // Dropped from the URL now, so a reload starts a fresh shell instead of finding nothing.
  setUrl(null);
  setState("ended");
  term.write(`\r\n${DIM}[${text}] press Enter to start a new session${RESET}\r\n`);
  // Every session has a client: the sessions page is where one can be ended or joined (the link is clickable).
  if (full) term.write(`${DIM}sessions of this server: ${new URL(Paths.sessionsPage.slice(1), location.href).href}${RESET}\r\n`);
}

export function newSession(): void {
  bunty.session = null;
  bunty.offset = stream.offset = null;
  // A new session is this tab's own: typing is the point, so it joins as a writer.
  modeParam = null;
  bunty.mode = "write";
  attempt = 0;
  // A program that died mid-screen can leave modes set (alternate screen, mouse reporting,
  // hidden cursor); a full reset gives the new session a clean terminal.
  inOrder(() => term.reset());
  document.title = TITLE;
  connect();
}
