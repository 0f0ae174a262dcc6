// The browser page: one xterm.js terminal bridged to one session over /ws.
// Wire format (protocol/index.ts): binary frames carry terminal bytes both ways, text frames
// carry JSON control messages.

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { CloseCode, Limits, decodeServerMessage, encodeMessage, type ExitMessage } from "../protocol/index.ts";

declare global {
  interface Window {
    term: Terminal;
  }
}

const TITLE = "bunty";
const RESIZE_DEBOUNCE_MS = 50;
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

const term = new Terminal({
  fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
  fontSize: 14,
  cursorBlink: true,
  scrollback: 5000,
  theme: {
    background: "#1a1b26",
    foreground: "#c0caf5",
    cursor: "#c0caf5",
    selectionBackground: "#33467c",
    black: "#15161e",
    red: "#f7768e",
    green: "#9ece6a",
    yellow: "#e0af68",
    blue: "#7aa2f7",
    magenta: "#bb9af7",
    cyan: "#7dcfff",
    white: "#a9b1d6",
    brightBlack: "#414868",
    brightRed: "#f7768e",
    brightGreen: "#9ece6a",
    brightYellow: "#e0af68",
    brightBlue: "#7aa2f7",
    brightMagenta: "#bb9af7",
    brightCyan: "#7dcfff",
    brightWhite: "#c0caf5",
  },
});
const fit = new FitAddon();
term.loadAddon(fit);
const container = document.getElementById("terminal")!;
term.open(container);
window.term = term;
document.title = TITLE;

const badge = document.getElementById("status")!;
function setStatus(state: "connecting" | "live" | "ended" | "disconnected", text: string): void {
  badge.dataset.state = state;
  badge.textContent = text;
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));
/** The terminal's size within the protocol's limits. */
const size = () => ({ cols: clamp(term.cols, Limits.minCols, Limits.maxCols), rows: clamp(term.rows, Limits.minRows, Limits.maxRows) });

// The server refuses sizes outside the limits, so a huge window is capped here rather than
// letting the terminal and the PTY disagree.
function fitTerminal(): void {
  fit.fit();
  const { cols, rows } = size();
  if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
}
fitTerminal();
term.focus();

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
// Observing the container covers window resizes, zoom and font loading alike.
new ResizeObserver(() => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(fitTerminal, RESIZE_DEBOUNCE_MS);
}).observe(container);

// Web fonts may finish loading after the first measurement; the cell size changes with them.
document.fonts?.ready.then(fitTerminal);

let ws: WebSocket | null = null;
let ended = false; // the session is over; Enter starts a new one
let exitInfo: ExitMessage | null = null;
const encoder = new TextEncoder();

function sendResize(): void {
  if (ws?.readyState === WebSocket.OPEN) ws.send(encodeMessage({ type: "resize", ...size() }));
}
term.onResize(sendResize);

function sendBytes(bytes: Uint8Array<ArrayBuffer>): void {
  if (ws?.readyState === WebSocket.OPEN) ws.send(bytes);
}

term.onData((data) => {
  if (ended) {
    if (data === "\r") newSession();
    return;
  }
  sendBytes(encoder.encode(data));
});
// onBinary carries raw bytes (e.g. legacy mouse reports) as a latin1 string; UTF-8 would corrupt them.
term.onBinary((data) => {
  if (ended) return;
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  sendBytes(bytes);
});

term.onTitleChange((title) => {
  document.title = title || TITLE; // document.title is plain text, so OSC titles cannot inject markup
});

function exitText(m: ExitMessage): string {
  if (m.signal) return `killed by ${m.signal}`;
  return `exited with code ${m.code ?? "?"}`;
}

function note(text: string): void {
  term.write(`\r\n${DIM}[${text}]${RESET}\r\n`);
}

function socketUrl(): string {
  // Relative to the page, so bunty also works behind a reverse proxy under a base path.
  const url = new URL("ws", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  // The initial size lets the program draw its first screen at the right width; the resize
  // sent on open still follows, for servers that ignore the query.
  const { cols, rows } = size();
  url.search = new URLSearchParams({ cols: String(cols), rows: String(rows) }).toString();
  return url.href;
}

function connect(): void {
  ended = false;
  exitInfo = null;
  setStatus("connecting", "connecting");
  const sock = new WebSocket(socketUrl());
  sock.binaryType = "arraybuffer";
  ws = sock;

  sock.onopen = () => sendResize();

  sock.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
    if (ws !== sock) return;
    if (typeof ev.data !== "string") {
      term.write(new Uint8Array(ev.data));
      return;
    }
    const msg = decodeServerMessage(ev.data);
    switch (msg?.type) {
      case "hello":
        setStatus("live", `live · ${msg.session}`);
        break;
      case "exit":
        exitInfo = msg;
        setStatus("ended", exitText(msg));
        note(`process ${exitText(msg)}`);
        break;
      case "error":
        console.warn(`bunty: server error ${msg.code}: ${msg.message}`);
        break;
      case "pong":
        break;
      default:
        console.warn("bunty: ignored unknown control message", ev.data);
    }
  };

  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ended = true;
    if (exitInfo && ev.code === CloseCode.normal) {
      setStatus("ended", exitText(exitInfo));
    } else {
      // 1006 has no reason by definition: the connection dropped or never opened.
      const reason = ev.reason || (ev.code === 1006 ? "connection lost" : "no reason given");
      setStatus("disconnected", `disconnected · ${ev.code} ${reason}`);
      note(`disconnected: ${ev.code} ${reason}`);
    }
    term.write(`${DIM}press Enter to start a new session${RESET}\r\n`);
  };
}

function newSession(): void {
  // A program that died mid-screen can leave modes set (alternate screen, mouse reporting,
  // hidden cursor); a full reset gives the new session a clean terminal.
  term.reset();
  document.title = TITLE;
  connect();
}

connect();
