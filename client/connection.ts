// Owner: client (browser page). A connection: one session over /ws shown in one terminal view,
// kept across reloads and dropped connections (resume from the log or a snapshot, backoff,
// heartbeat and the round trip it measures), the writer's size policy, and input to the program.
// It calls no feature: the badge, file transfer, prediction, the page's address and title
// subscribe to its events (on()).
// createConnection() makes one per pane; dispose() releases everything it started.
// Wire format and semantics: protocol/index.ts.

import type { IDisposable } from "@xterm/xterm";
import { CloseCode, Paths, Query, decodeServerMessage, encodeMessage, type ClientMessage, type ExitMessage, type Resumed, type ServerMessage } from "../protocol/index.ts";
import { endText } from "./close.ts";
import { apiFetch, withProof } from "./credentials.ts";
import { Emitter } from "./events.ts";
import { Heartbeat } from "./heartbeat.ts";
import type { Size, TerminalView } from "./terminal.ts";

const RESIZE_DEBOUNCE_MS = 50;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** A connection that stayed up this long starts the backoff over when it drops. */
const STABLE_MS = 10_000;
/** The smoothed round trip moves this much toward each sample (mosh's and TCP's SRTT: 1/8). */
const RTT_WEIGHT = 1 / 8;
const INPUT_FRAME_BYTES = 64 << 10;
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

export type State = "connecting" | "live" | "reconnecting" | "ended";

/** Every server control message by its type, delivered once the connection has acted on it. */
type ControlEvents = { [M in ServerMessage as M["type"]]: M };

/** What on() can subscribe to: the control messages, and these. */
export interface ConnectionEvents extends ControlEvents {
  /** The state, the role (writer, mode) or the time of the next retry changed: what a badge shows. */
  state: Connection;
  /** Something to tell the user for a moment (typing into a view-only session, input dropped). */
  notice: string;
  /** The session ended for this connection (or it was refused); the text says why. Enter starts a new one (newSession()). */
  end: string;
  /** The program's title (OSC 0/2, plain text); "" when a new session starts. */
  title: string;
  /** A round trip was measured (ping to pong); the value is that sample (ms); `srtt` is updated. */
  rtt: number;
}

export interface ConnectionOptions {
  /** Attach to this session; without it, the server starts one. */
  session?: string | null;
  /** The `mode` query parameter, passed through as given (the server decides): "view" joins read-only. */
  mode?: string | null;
  /** A view-only share link's grant for `session`. */
  share?: string | null;
  /**
   * Mark the first milestones (bunty:connect, open, hello, output) with performance.mark(), for
   * devtools and the browser check's load timing: for the page's first terminal only, so each
   * mark stays one per page.
   */
  marks?: boolean;
}

/** Read the fields; only the connection writes them. */
export interface Connection {
  readonly view: TerminalView;
  /** The session: the one asked for, then hello's; kept once it ended, null from newSession() to the next hello. */
  readonly session: string | null;
  /** Offset after the last output byte received (the view's stream), null until hello or a snapshot says. */
  readonly offset: number | null;
  readonly mode: "write" | "view";
  /** Whether this client is the session's writer (its input and size count). */
  readonly writer: boolean;
  readonly state: State;
  /** How the last attach resumed the stream. */
  readonly resumed: Resumed | null;
  /** Snapshots received (at attach, or after falling behind). */
  readonly snapshots: number;
  readonly socket: WebSocket | null;
  /** When the next reconnect attempt starts (ms since epoch), while one is scheduled. */
  readonly retryAt: number | null;
  /** Why the session ended, while the state is "ended". */
  readonly endedText: string;
  /** The last measured round trip (ping to pong, ms), and its smoothed value; null until measured. */
  readonly rtt: number | null;
  readonly srtt: number | null;
  /** When the server said it will end this session (a `draining` message; ms since epoch), and why; null otherwise. */
  readonly drainingAt: number | null;
  readonly drainingReason: string;
  /** The terminal's input modes as the program set them (from `termmode`); null until told. */
  readonly termMode: { echo: boolean; canonical: boolean } | null;
  /** The session's command (from hello), empty until then. */
  readonly command: readonly string[];
  /** Resolves when the first output of this connection has arrived. */
  readonly firstOutput: Promise<void>;
  /** Opens the socket (attaching to `session`, or starting one). */
  connect(): void;
  /** Starts a new session of this connection's own, as a writer, on a clean terminal. */
  newSession(): void;
  /** Sends what the user typed or pasted to the program. */
  input(data: string | Uint8Array<ArrayBuffer>): void;
  /** A writer fills its container; anyone else shows the session at the PTY's size. Then our size goes to the server. */
  applySize(): void;
  on<K extends keyof ConnectionEvents>(type: K, fn: (value: ConnectionEvents[K]) => void): IDisposable;
  /** Closes the socket, stops reconnecting, heartbeat and observing the view; delivers no more events. The view stays (dispose it too to close a pane). */
  dispose(): void;
}

export function createConnection(view: TerminalView, options: ConnectionOptions = {}): Connection {
  return new Link(view, options);
}

const encoder = new TextEncoder();

class Link implements Connection {
  session: string | null;
  mode: "write" | "view";
  writer = false;
  state: State = "connecting";
  resumed: Resumed | null = null;
  snapshots = 0;
  socket: WebSocket | null = null;
  retryAt: number | null = null;
  endedText = "";
  rtt: number | null = null;
  srtt: number | null = null;
  drainingAt: number | null = null;
  drainingReason = "";
  command: readonly string[] = [];
  readonly firstOutput: Promise<void>;

  private modeParam: string | null; // passed through as given; the server decides
  /** A view-only share link's grant (kept in the URL: it is what the link is). */
  private readonly share: string | null;
  private readonly events = new Emitter<ConnectionEvents>();
  private sessionSize: Size;
  private sentSize: Size | null = null;
  private exitInfo: ExitMessage | null = null;
  private attempt = 0; // reconnects since the last stable connection
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stops listening to the current socket and closes it (its heartbeat too); null without one. */
  private hangUp: (() => void) | null = null;
  /** What dispose() undoes besides the socket and the timers: the observer, the listeners. */
  private readonly releases: (() => void)[] = [];
  private disposed = false;
  private sawOutput = false;
  private outputSeen: () => void = () => {};
  private readonly marked = new Set<string>();
  private readonly ack = (offset: number) => void this.send({ type: "ack", offset });

  constructor(
    readonly view: TerminalView,
    private readonly options: ConnectionOptions,
  ) {
    this.session = options.session ?? null;
    this.modeParam = options.mode ?? null;
    this.mode = this.modeParam === "view" ? "view" : "write";
    this.share = options.share ?? null;
    this.firstOutput = new Promise<void>((resolve) => (this.outputSeen = resolve));
    view.stream.onAck = this.ack;
    this.sessionSize = view.fittedSize();

    // Observing the container covers window resizes, zoom and font loading alike.
    const observer = new ResizeObserver(() => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.applySize(), RESIZE_DEBOUNCE_MS);
    });
    observer.observe(view.container);
    // The network or the tab just came back: a connection waiting to reconnect tries now.
    const online = () => this.reconnectNow();
    const visible = () => document.visibilityState === "visible" && this.reconnectNow();
    addEventListener("online", online);
    document.addEventListener("visibilitychange", visible);
    const title = view.term.onTitleChange((t) => this.events.emit("title", t));
    this.releases.push(
      () => observer.disconnect(),
      () => removeEventListener("online", online),
      () => document.removeEventListener("visibilitychange", visible),
      () => title.dispose(),
    );
    document.fonts?.ready.then(() => this.applySize()); // applySize() does nothing once disposed
    view.fitToWindow();
  }

  get offset(): number | null {
    return this.view.stream.offset;
  }

  on<K extends keyof ConnectionEvents>(type: K, fn: (value: ConnectionEvents[K]) => void): IDisposable {
    return this.events.on(type, fn);
  }

  // ---- size: the writer's size wins ----

  applySize(): void {
    if (this.disposed) return;
    if (this.writer) this.view.fitToWindow();
    else this.view.resizeTo(this.sessionSize);
    this.sendSize();
  }
  /** Our fitted size, sent whether or not we are the writer: the server keeps it for when we become it. */
  private sendSize(): void {
    const s = this.view.fittedSize();
    if (this.sentSize && s.cols === this.sentSize.cols && s.rows === this.sentSize.rows) return;
    if (this.send({ type: "resize", ...s })) this.sentSize = s;
  }

  // ---- input ----

  private send(m: ClientMessage | Uint8Array<ArrayBuffer>): boolean {
    const ws = this.socket;
    if (ws?.readyState !== WebSocket.OPEN) return false;
    ws.send(m instanceof Uint8Array ? m : encodeMessage(m));
    return true;
  }
  input(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.disposed || this.state === "ended") return;
    if (this.mode === "view") return this.notice("view only: typing is off");
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    // A write-mode tab that is not the writer takes over by typing; the server decides and says so with `role`.
    // A big paste goes in pieces: one frame over Limits.maxFrameBytes would get the socket closed.
    for (let i = 0; i < bytes.length; i += INPUT_FRAME_BYTES) {
      if (!this.send(bytes.subarray(i, i + INPUT_FRAME_BYTES))) return this.notice("not connected: input dropped");
    }
  }

  // ---- the socket ----

  private socketUrl(): string {
    // Relative to the page, so bunty also works behind a reverse proxy under a base path.
    const url = new URL(Paths.socket.slice(1), location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams();
    if (this.session) {
      q.set(Query.session, this.session);
      if (this.offset !== null) q.set(Query.offset, String(this.offset));
    }
    if (this.modeParam) q.set(Query.mode, this.modeParam);
    if (this.share) q.set(Query.share, this.share);
    // The writer's size is applied on attach, so the first screen is drawn at the right width.
    const { cols, rows } = this.view.fittedSize();
    q.set(Query.cols, String(cols));
    q.set(Query.rows, String(rows));
    url.search = q.toString();
    return withProof(url).href;
  }

  /** This connection's milestones as performance marks (if it makes them); once each, so they never pile up. */
  private mark(name: string): void {
    if (!this.options.marks || this.marked.has(name)) return;
    this.marked.add(name);
    performance.mark(name);
  }

  connect(): void {
    if (this.disposed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = null;
    this.exitInfo = null;
    this.sentSize = null;
    if (this.state !== "reconnecting") this.state = "connecting";
    this.changed();
    this.mark("bunty:connect");
    this.hangUp?.(); // one socket at a time (newSession() may be called while one is open)
    const sock = new WebSocket(this.socketUrl());
    sock.binaryType = "arraybuffer";
    this.socket = sock;
    let openedAt = 0;
    let heartbeat: Heartbeat | undefined;
    const stop = () => {
      heartbeat?.stop();
      sock.onopen = sock.onmessage = sock.onclose = null;
      sock.close();
    };
    this.hangUp = () => {
      if (this.socket !== sock) return;
      stop();
      this.socket = null;
    };

    sock.onopen = () => {
      this.mark("bunty:open");
      openedAt = Date.now();
      heartbeat = new Heartbeat(() => this.ping(), () => abandon());
    };
    sock.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (this.socket !== sock) return;
      heartbeat?.received();
      if (typeof ev.data === "string") return this.control(decodeServerMessage(ev.data), ev.data);
      if (!this.sawOutput) {
        this.sawOutput = true;
        this.mark("bunty:output");
        this.outputSeen();
      }
      this.view.stream.bytes(new Uint8Array(ev.data));
    };
    // A half-open connection may never report its close; stop listening to it and start over.
    const abandon = () => {
      stop();
      void closed(4999, "no answer to ping");
    };
    const closed = async (code: number, reason: string) => {
      heartbeat?.stop();
      if (this.socket !== sock) return;
      this.socket = null;
      // Refused before the upgrade? A browser cannot see why; ask, rather than retry forever.
      if (!openedAt && !this.share) {
        const status = await apiFetch(Paths.auth.slice(1)).then((r) => r.status, () => 0);
        if (this.disposed) return;
        if (status === 401) return this.end("not signed in: open the address bunty printed at start (it carries the token)");
        if (status === 429) return this.end("too many failed sign-in attempts from this address; wait a minute and reload");
      }
      if (openedAt && Date.now() - openedAt > STABLE_MS) this.attempt = 0;
      const final = endText(code, reason, this.exitInfo);
      if (final) this.end(final, code === CloseCode.tooManySessions);
      else this.scheduleReconnect();
    };
    sock.onclose = (ev) => void closed(ev.code, ev.reason);
  }

  termMode: { echo: boolean; canonical: boolean } | null = null;

  /** A ping stamped with the page's clock: its pong's echo of `t` gives the round trip. */
  private ping(): void {
    this.send({ type: "ping", t: performance.now() });
  }
  private measured(t: number | undefined): void {
    if (typeof t !== "number") return;
    const sample = performance.now() - t;
    if (!(sample >= 0 && sample < 600_000)) return;
    this.rtt = sample;
    this.srtt = this.srtt === null ? sample : this.srtt + (sample - this.srtt) * RTT_WEIGHT;
    this.events.emit("rtt", sample);
  }

  private control(msg: ServerMessage | null, raw: string): void {
    const view = this.view;
    switch (msg?.type) {
      case "hello":
        this.mark("bunty:hello");
        this.session = msg.session;
        this.command = msg.command;
        this.termMode = null; // the server tells this socket after hello
        this.drainingAt = null; // a server that said it drains is not this one (or changed its mind)
        this.drainingReason = "";
        this.mode = msg.mode;
        this.writer = msg.writer;
        this.resumed = msg.resumed;
        this.sessionSize = { cols: msg.cols, rows: msg.rows };
        // "snapshot": keep our offset until the snapshot says where we are (a drop before it resumes from what we have).
        if (msg.resumed !== "snapshot") view.stream.startAt(msg.offset, msg.resumed === "new");
        view.inOrder(() => this.applySize());
        this.setState("live");
        break;
      case "snapshot":
        // At attach, or on a live connection after the server skipped us to the present.
        this.sessionSize = { cols: msg.cols, rows: msg.rows };
        view.stream.snapshot(msg, () => this.writer && view.fitToWindow());
        this.snapshots++;
        break;
      case "skip":
        view.stream.skip(); // a snapshot follows: stop parsing the flood we were sent
        break;
      case "size":
        this.sessionSize = { cols: msg.cols, rows: msg.rows };
        if (!this.writer) view.inOrder(() => !this.writer && view.resizeTo(this.sessionSize));
        break;
      case "role":
        this.writer = msg.writer;
        view.inOrder(() => this.applySize());
        this.changed();
        break;
      case "exit":
        this.exitInfo = msg;
        break;
      case "error":
        if (msg.code === "read_only") this.notice("view only: typing is off");
        else console.warn(`bunty: server error ${msg.code}: ${msg.message}`);
        break;
      case "pong":
        this.measured(msg.t);
        break;
      case "download":
        break; // for file transfer (transfer.ts subscribes): a notice with a button, output alone never downloads anything
      case "termmode":
        this.termMode = { echo: msg.echo, canonical: msg.canonical };
        break;
      case "draining":
        this.drainingAt = Date.now() + Math.max(0, msg.inMs);
        this.drainingReason = String(msg.reason ?? "");
        this.changed(); // the badge counts down
        break;
      default:
        console.warn("bunty: ignored unknown control message", raw); // later protocol versions add types
        return;
    }
    this.events.emit(msg.type, msg);
  }

  // ---- reconnecting, ending ----

  private scheduleReconnect(): void {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt++);
    // Jitter spreads the reconnects of many tabs after a server restart.
    const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.setState("reconnecting");
  }
  /** Waiting to reconnect? Then try now. */
  private reconnectNow(): void {
    if (this.state === "reconnecting" && this.retryTimer !== undefined) this.connect();
  }

  private end(text: string, full = false): void {
    this.endedText = text;
    this.writer = false;
    this.setState("ended");
    this.events.emit("end", text); // the page drops the session from its address: a reload starts a fresh shell instead of finding nothing
    const term = this.view.term;
    // After the output still queued (terminal.ts's Stream), not before it.
    this.view.inOrder(() => {
      term.write(`\r\n${DIM}[${text}] press Enter to start a new session${RESET}\r\n`);
      // Every session has a client: the sessions page is where one can be ended or joined (the link is clickable).
      if (full) term.write(`${DIM}sessions of this server: ${new URL(Paths.sessionsPage.slice(1), location.href).href}${RESET}\r\n`);
    });
  }

  newSession(): void {
    if (this.disposed) return;
    this.session = null;
    this.view.stream.offset = null;
    // A new session is this connection's own: typing is the point, so it joins as a writer.
    this.modeParam = null;
    this.mode = "write";
    this.attempt = 0;
    // A program that died mid-screen can leave modes set (alternate screen, mouse reporting,
    // hidden cursor); a full reset gives the new session a clean terminal.
    this.view.inOrder(() => this.view.term.reset());
    this.events.emit("title", "");
    this.connect();
  }

  // ---- events, disposal ----

  private setState(s: State): void {
    this.state = s;
    this.changed();
  }
  private changed(): void {
    this.events.emit("state", this);
  }
  private notice(text: string): void {
    this.events.emit("notice", text);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.hangUp?.();
    clearTimeout(this.retryTimer);
    clearTimeout(this.resizeTimer);
    this.retryTimer = this.resizeTimer = undefined;
    this.retryAt = null;
    for (const release of this.releases.splice(0)) release();
    if (this.view.stream.onAck === this.ack) this.view.stream.onAck = () => {};
    this.events.clear();
  }
}
