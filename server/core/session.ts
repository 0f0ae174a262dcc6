// A session: one program on one PTY, its output log and screen model, and the clients
// attached to it (one writer, any number of viewers). Owns attach/detach, roles, resize policy,
// bounded input, the grace period, and the end of the session (exit message, close codes,
// reaping). Never touches a socket: clients are anything with the `Client` shape.

import { CloseCode, PROTOCOL_VERSION, type Resumed, type ServerMessage, type SessionInfo } from "../../protocol/index.ts";
import { within } from "./deadline.ts";
import { Delivery } from "./delivery.ts";
import { OutputLog } from "./outlog.ts";
import { Pacing, RELEASE_AHEAD_BYTES } from "./pacing.ts";
import { spawnPty, type Pty, type PtyExit, type PtyOptions } from "./pty.ts";
import type { Recorder } from "./recorder.ts";
import { endSession, REAP_BOUND_MS, type ReapResult } from "./reap.ts";
import { SNAPSHOT_TIMEOUT_MS, type ScreenModels } from "./screen.ts";

/** Above this much input not yet flushed to the PTY, the sending client's socket is paused until it drains. */
export const MAX_INPUT_QUEUED_BYTES = 1 << 20;
/** After a session is ended, how long we wait for the program's exit status once its processes were signalled. */
const EXIT_WAIT_MS = 1000;
/** A view-only client that types is told so at most this often. */
const READ_ONLY_NOTICE_MS = 2000;
/**
 * A session nobody has a reason to keep (never typed in, never attached to by id, no client stayed
 * for SETTLE_MS) lives this long after its last client left instead of the full grace period:
 * enough for a reload or a short network drop, not enough for dropped sockets to pile up.
 */
export const DISPOSABLE_GRACE_MS = 5000;
/** A client that stays attached this long makes the session worth keeping (someone is watching it). */
export const SETTLE_MS = 30_000;
/**
 * The terminal's modes (echo, canonical) are read with every output chunk smaller than this (a
 * prompt, an echo: where a program changes them, e.g. sudo before "Password:"), and otherwise at
 * most every MODE_CHECK_MS (a flood). Clients hear of a change before the output it came with.
 */
const MODE_CHECK_SMALL_BYTES = 4096;
const MODE_CHECK_MS = 50;

/**
 * A session handed out with at most this much output, all still in the log (a warm spare's
 * prompt), streams it from offset 0 like a session started for the client: the bytes go out with
 * the hello, where a snapshot would wait for a screen model to parse them first.
 */
export const FRESH_REPLAY_BYTES = 64 << 10;
export const SESSION_END_BOUND_MS = REAP_BOUND_MS + EXIT_WAIT_MS;

/** What a session needs from a connected client. The socket layer implements it. */
export interface Client {
  /** Sends terminal bytes. Returns Bun's send result: > 0 sent, -1 queued, 0 dropped. */
  sendOutput(bytes: Uint8Array): number;
  /** A control message; the socket layer encodes it (the core never does). */
  sendControl(message: ServerMessage): void;
  /** Bytes queued for this client and not yet written to its socket. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  /** Stop/start reading this client's input (flow control toward the PTY). */
  pauseInput(): void;
  resumeInput(): void;
}

export interface AttachOptions {
  mode: "write" | "view";
  /** The client asked for this session by id (a reattach, a second tab, a viewer): it is worth keeping. */
  byId?: boolean;
  /** The output offset the client has already seen (reconnect); absent: it has nothing. */
  offset?: number;
  /** The client's terminal size; applied when it is the writer. */
  cols?: number;
  rows?: number;
  /** This session was just started for this client: stream it from offset 0, no snapshot. */
  fresh?: boolean;
}

export interface SessionOptions {
  id: string;
  command: string[];
  cwd?: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Started as a warm spare (state "spare" until handOut()). */
  spare?: boolean;
  /**
   * The pool's load state (load shedding): while `overloaded`, a session that printed more than
   * `shedMinBytes`, and faster than `shedBytesPerMs`, since the lag sample at `sampleAt` pauses its output.
   */
  load?: { readonly overloaded: boolean; readonly sampleAt: number; readonly shedMinBytes: number; readonly shedBytesPerMs: number; readonly shedMs: number };
  screen: Screens;
  /** Starts the program on a terminal (default: the real PTY, pty.ts). Tests pass a fake. */
  spawn?: (o: PtyOptions) => Pty;
  /** Ends every process of the program's terminal session (default: reap.ts). Tests pass a fake. */
  reap?: (pid: number) => Promise<ReapResult>;
  /** How long a session with no clients lives on; 0 = it ends with its last client. */
  graceMs: number;
  /** Called once, after the program has exited and all its processes are gone. */
  onEnded(session: Session): void;
  /** Called when the session loses its last client (the pool keeps the detached ones under their bound). */
  onDetached?(session: Session): void;
  /** Called once, when the session first becomes worth keeping (see `keptBy`). */
  onKept?(session: Session): void;
  /** Sees every output chunk (file transfer: bunty-get requests); called once at start, before any output. */
  watchOutput?(session: Session): ((bytes: Uint8Array) => void) | null;
  log?(event: string, fields: Record<string, unknown>, level?: "debug" | "info" | "warn" | "error"): void;
}


/** What a session needs of the screen models (screen.ts); tests pass a fake. */
export type Screens = Pick<ScreenModels, "create" | "resize" | "snapshot" | "dispose">;

/** Why a session is worth keeping while nobody is attached. A session with none of these is disposable. */
export type KeptBy = "input" | "attach" | "api" | "settled";
/** The one lifecycle state: started ahead of demand / handed out / being ended (processes reaped) / gone. */
export type SessionState = "spare" | "live" | "ending" | "ended";

interface Attachment {
  client: Client;
  mode: "write" | "view";
  delivery: Delivery;
  cols?: number;
  rows?: number;
  lastNotice: number;
}

export class Session {
  readonly id: string;
  readonly command: string[];
  readonly created = new Date();
  readonly pty: Pty;
  readonly log = new OutputLog();
  cols: number;
  rows: number;
  bytesIn = 0;
  lastActivity = Date.now();
  exit: PtyExit | null = null;
  /** "spare": a warm spare, not yet handed to anyone (no grace timer runs); "ending": end() was called. */
  state: SessionState = "live";
  /** The reasons this session is worth keeping while detached; empty: disposable. Eviction takes the fewest first. */
  readonly keptBy = new Set<KeptBy>();
  /** When the last client left (ms since epoch); 0 while a client is attached. */
  detachedAt = 0;
  /** Clients closed because they refused output (4001). */
  clientsDropped = 0;
  /** Where output and resizes are recorded (--record); null when not recording: one null check per chunk. */
  private recorder: Recorder | null = null;
  /** Sees every output chunk (bunty-get requests); null when file transfer is off. */
  private readonly watch: ((bytes: Uint8Array) => void) | null;
  /** Snapshot resyncs of clients that have left (see `resyncs`). */
  private resyncsOfGone = 0;
  private readonly attached = new Map<Client, Attachment>();
  private writer: Attachment | null = null;
  private readonly paused = new Set<Client>();
  private ending: Promise<void> | null = null;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the program's output is paused: every client far behind, detached over budget, shed by the pool. */
  private readonly pacing: Pacing;
  /** Output bytes since the pool last looked (Pool.shedLoad). */
  recentBytes = 0;
  /** The terminal's modes as last told to clients, and when they were last read. */
  private modes: { echo: boolean; canonical: boolean } | null = null;
  private modesAt = 0;
  private readonly opts: SessionOptions;

  /** Throws SpawnError when the program cannot be started. */
  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.command = opts.command;
    this.cols = opts.cols;
    this.rows = opts.rows;
    if (opts.spare) this.state = "spare";
    this.watch = opts.watchOutput?.(this) ?? null;
    this.pacing = new Pacing((paused) => this.pty.pauseOutput(paused));
    this.pty = (opts.spawn ?? spawnPty)({
      command: opts.command,
      cwd: opts.cwd,
      env: opts.env,
      cols: opts.cols,
      rows: opts.rows,
      onData: (bytes) => this.output(bytes),
      onDrain: () => this.inputDrained(),
    });
    opts.screen.create(this.id, opts.cols, opts.rows, this.log); // the model reads output straight from the log
    this.pty.exited.then((exit) => this.programExited(exit));
  }

  get pid(): number {
    return this.pty.pid;
  }
  get clientCount(): number {
    return this.attached.size;
  }
  get ended(): boolean {
    return this.ending !== null;
  }
  get spare(): boolean {
    return this.state === "spare";
  }
  /** Handed out and not ending, with no client attached. */
  get detached(): boolean {
    return this.state === "live" && this.attached.size === 0;
  }

  /** Records a reason to keep this session (the first one makes it non-disposable: onKept). */
  keep(why: KeptBy): void {
    if (this.ending || this.keptBy.has(why)) return;
    this.keptBy.add(why);
    if (this.keptBy.size === 1) this.opts.onKept?.(this);
  }

  info(): SessionInfo {
    return {
      id: this.id, pid: this.pid, command: this.command, created: this.created.toISOString(), cols: this.cols, rows: this.rows,
      clients: this.attached.size, offset: this.log.end, lastActivity: new Date(this.lastActivity).toISOString(),
    };
  }

  /** Clients resynchronised with a screen snapshot, over the session's life. */
  get resyncs(): number {
    let n = this.resyncsOfGone;
    for (const a of this.attached.values()) n += a.delivery.resyncs;
    return n;
  }

  /** Starts recording: everything the log holds so far (a spare's prompt), then every chunk, resize and the end. */
  record(recorder: Recorder): void {
    if (this.ending || this.recorder) return;
    this.recorder = recorder;
    for (const piece of this.log.readFrom(this.log.start, 64 << 10) ?? []) recorder.output(piece);
    if (this.keptBy.size > 0) recorder.commit();
  }
  /** The session became worth keeping: its recording (held until now) becomes a file. */
  commitRecording(): void {
    this.recorder?.commit();
  }

  /** Sessions with no clients wait this long for one (called at creation without a client, and when the last one leaves). */
  startGrace(): void {
    clearTimeout(this.graceTimer);
    if (this.spare || this.ending || this.attached.size > 0) return;
    this.detachedAt = Date.now();
    this.pacing.detached();
    const disposable = this.keptBy.size === 0;
    const ms = disposable ? Math.min(this.opts.graceMs, DISPOSABLE_GRACE_MS) : this.opts.graceMs;
    if (ms <= 0) return void this.end(CloseCode.sessionEnded, "last client left");
    const why = disposable ? "never used, and no client came back" : "no client within the grace period";
    this.graceTimer = setTimeout(() => void this.end(CloseCode.sessionEnded, why), ms);
    this.opts.onDetached?.(this);
  }

  /** True while the whole of the output is small and still in the log: a new client can get it as bytes from 0 (FRESH_REPLAY_BYTES). */
  get replayable(): boolean {
    return this.log.start === 0 && this.log.end <= FRESH_REPLAY_BYTES;
  }

  /** A spare is handed out: from now on it is a session like any other. */
  handOut(): void {
    if (this.state === "spare") this.state = "live";
  }

  attach(client: Client, o: AttachOptions): void {
    if (this.ending) return client.close(CloseCode.sessionEnded, "session has ended");
    clearTimeout(this.graceTimer);
    this.detachedAt = 0;
    this.pacing.attached();
    if (o.byId) this.keep("attach");
    if (this.attached.size === 0 && !this.settleTimer && this.keptBy.size === 0) {
      // Someone who stays this long is watching: the session is then kept like a typed-in one.
      this.settleTimer = setTimeout(() => this.attached.size > 0 && this.keep("settled"), SETTLE_MS);
      this.settleTimer.unref?.();
    }
    let resumed: Resumed, from: number;
    if (o.offset !== undefined && this.log.has(o.offset)) [resumed, from] = ["log", o.offset];
    else if (o.fresh) [resumed, from] = ["new", this.log.start];
    else [resumed, from] = ["snapshot", -1];
    const delivery = new Delivery(client, this, from, () => this.dropped(client), () => this.pacing.held && this.checkHold());
    const a: Attachment = { client, mode: o.mode, delivery, cols: o.cols, rows: o.rows, lastNotice: 0 };
    this.attached.set(client, a);
    if (o.mode === "write") this.setWriter(a, "a new client took over typing", false); // hello tells the newcomer
    this.send(client, {
      type: "hello", protocol: PROTOCOL_VERSION, session: this.id, pid: this.pid, command: this.command, cols: this.cols, rows: this.rows,
      offset: resumed === "snapshot" ? this.log.end : from, resumed, mode: o.mode, writer: this.writer === a,
    });
    this.modes ??= this.pty.modes();
    if (this.modes) this.send(client, { type: "termmode", ...this.modes });
    void delivery.catchUp();
  }

  /** The client went away (any way). */
  detach(client: Client): void {
    const a = this.attached.get(client);
    if (!a) return;
    this.attached.delete(client);
    this.paused.delete(client);
    a.delivery.close();
    this.resyncsOfGone += a.delivery.resyncs;
    if (this.pacing.held) this.checkHold(); // it may have been the one holding everyone back
    if (this.writer === a) {
      this.writer = null;
      // Typing passes to the most recently attached client that may write.
      const next = [...this.attached.values()].reverse().find((x) => x.mode === "write");
      if (next) this.setWriter(next, "the writer left");
    }
    if (this.attached.size === 0) this.startGrace();
  }

  send(client: Client, message: ServerMessage): void {
    client.sendControl(message);
  }

  /** Sends a control message to every client of the session (size, exit). */
  broadcast(message: ServerMessage): void {
    for (const c of this.attached.keys()) c.sendControl(message);
  }

  /**
   * Sends a control message to the clients that joined with mode "write" only (a bunty-get download
   * offer): view-only clients (share-link viewers) are not trusted with what the session's files are.
   */
  broadcastToWriters(message: ServerMessage): void {
    for (const a of this.attached.values()) if (a.mode === "write") a.client.sendControl(message);
  }

  private setWriter(a: Attachment, reason: string, tellNew = true): void {
    const old = this.writer;
    if (old === a) return;
    this.writer = a;
    if (old) this.send(old.client, { type: "role", writer: false, reason });
    if (tellNew) this.send(a.client, { type: "role", writer: true, reason });
    if (a.cols !== undefined && a.rows !== undefined) this.applySize(a.cols, a.rows);
  }

  input(client: Client, bytes: Uint8Array): void {
    const a = this.attached.get(client);
    if (!a || this.ending) return;
    if (a.mode === "view") {
      const now = Date.now();
      if (now - a.lastNotice > READ_ONLY_NOTICE_MS) {
        a.lastNotice = now;
        this.send(client, { type: "error", code: "read_only", message: "this client is view-only; input ignored" });
      }
      return;
    }
    if (this.writer !== a) this.setWriter(a, "another client started typing"); // typing takes over
    if (this.bytesIn === 0) this.keep("input");
    this.bytesIn += bytes.byteLength;
    this.lastActivity = Date.now();
    this.pty.write(bytes);
    a.delivery.hurry(); // a browser behind a flood (Ctrl-C) skips to the present
    if (this.pty.pendingInput > MAX_INPUT_QUEUED_BYTES && !this.paused.has(client)) {
      this.paused.add(client);
      client.pauseInput();
    }
  }

  /** A client asks to become the writer. */
  take(client: Client): void {
    const a = this.attached.get(client);
    if (!a) return;
    if (a.mode === "view") return this.send(client, { type: "error", code: "read_only", message: "this client is view-only and cannot take over typing" });
    this.setWriter(a, "took over typing");
  }

  /** Resize policy: the writer's size wins; other clients' sizes are kept for when they become the writer. */
  resize(client: Client, cols: number, rows: number): void {
    const a = this.attached.get(client);
    if (!a) return;
    a.cols = cols;
    a.rows = rows;
    if (this.writer === a) this.applySize(cols, rows);
  }

  /** Resizes the PTY (and the screen model), e.g. for a spare handed to a client of another size. */
  applySize(cols: number, rows: number): void {
    if (this.ending || (cols === this.cols && rows === this.rows)) return;
    this.cols = cols;
    this.rows = rows;
    this.pty.resize(cols, rows);
    this.opts.screen.resize(this.id, cols, rows);
    this.recorder?.resize(cols, rows);
    this.broadcast({ type: "size", cols, rows });
  }

  ack(client: Client, offset: number): void {
    this.attached.get(client)?.delivery.ack(offset);
  }
  drained(client: Client): void {
    this.attached.get(client)?.delivery.drained();
  }

  snapshot(keep?: number) {
    return this.opts.screen.snapshot(this.id, SNAPSHOT_TIMEOUT_MS, keep);
  }

  private inputDrained(): void {
    for (const c of this.paused) c.resumeInput();
    this.paused.clear();
  }

  private output(bytes: Uint8Array): void {
    this.lastActivity = Date.now();
    this.recentBytes += bytes.length;
    const load = this.opts.load;
    if (load?.overloaded && this.pacing.shedUntil === 0 && this.recentBytes > load.shedMinBytes && this.recentBytes > load.shedBytesPerMs * (performance.now() - load.sampleAt)) this.shedFor(load.shedMs);
    this.recorder?.output(bytes);
    if (this.ending) return; // its log is released and nobody is attached any more
    this.log.append(bytes);
    this.watch?.(bytes);
    if (this.attached.size === 0) {
      if (this.state === "live") this.pacing.spendDetached(bytes.length); // a spare's prompt spends nothing
      return;
    }
    const now = performance.now();
    if (bytes.length < MODE_CHECK_SMALL_BYTES || now - this.modesAt > MODE_CHECK_MS) this.checkModes(now);
    for (const a of this.attached.values()) a.delivery.push(bytes);
    if (!this.pacing.held) this.checkHold();
  }

  /** Tells clients when the program changed the terminal's echo or canonical mode. */
  private checkModes(now: number): void {
    this.modesAt = now;
    const m = this.pty.modes();
    if (!m || (this.modes && m.echo === this.modes.echo && m.canonical === this.modes.canonical)) return;
    this.modes = m;
    this.broadcast({ type: "termmode", ...m });
  }

  /** Holds the program's output while every client is far behind, lets it go once one is close again (pacing.ts). */
  private checkHold(): void {
    const end = this.log.end;
    let nearest = Infinity;
    for (const a of this.attached.values()) {
      nearest = Math.min(nearest, end - a.delivery.sent);
      if (nearest <= RELEASE_AHEAD_BYTES) break;
    }
    const w = this.writer?.delivery;
    const behind = w && w.acked === null ? Math.max(nearest, end - w.sent) : nearest; // a script writer gets every byte
    this.pacing.hold(this.attached.size > 0 && !this.ending, behind);
  }

  /** When the pool shed this session until (performance.now()); 0 when it is not shed. */
  get shedUntil(): number {
    return this.pacing.shedUntil;
  }
  /** The pool pauses a session that prints the most while the event loop is overloaded, for at least `ms` (0 releases it). */
  shedFor(ms: number): void {
    this.pacing.shedFor(ms, this.ending !== null);
  }

  private dropped(client: Client): void {
    this.clientsDropped++;
    this.opts.log?.("client.dropped", { session: this.id }, "warn");
    client.close(CloseCode.slowConsumer, "the connection could not take more output");
    this.detach(client);
  }

  private async programExited(exit: PtyExit): Promise<void> {
    this.exit = exit;
    if (this.ending) return;
    // Every client gets the end of the output before `exit`; a snapshot still on its way lands first.
    await within(Promise.all([...this.attached.values()].map((a) => a.delivery.finish())), SNAPSHOT_TIMEOUT_MS + 500, null);
    if (this.ending) return;
    this.broadcast({ type: "exit", code: exit.code, signal: exit.signal });
    void this.end(CloseCode.normal, "program exited");
  }

  /**
   * Ends the session: closes every client with `code`, then ends every process of the
   * terminal's session (HUP, TERM, KILL) and closes the PTY. Idempotent; resolves within
   * about SESSION_END_BOUND_MS.
   */
  end(code: number, reason: string): Promise<void> {
    if (this.ending) return this.ending;
    // Set before closing anyone: a close can call back into detach() synchronously.
    let done!: () => void;
    this.ending = new Promise<void>((r) => (done = r));
    this.state = "ending";
    clearTimeout(this.graceTimer);
    clearTimeout(this.settleTimer);
    this.pacing.stop(); // a program waiting on a paused terminal must be free to see its signals and go
    const all = [...this.attached.values()];
    this.attached.clear();
    this.paused.clear();
    this.writer = null;
    for (const a of all) {
      a.delivery.close();
      this.resyncsOfGone += a.delivery.resyncs;
      a.client.close(code, reason);
    }
    // Nobody reads the output any more: the model goes now, and the log's ring to the next session.
    this.opts.screen.dispose(this.id);
    this.log.release();
    void this.reap(reason).finally(done);
    return this.ending;
  }

  private async reap(reason: string): Promise<void> {
    const started = Date.now();
    try {
      const reaped = await (this.opts.reap ?? endSession)(this.pid);
      await within(this.pty.exited, EXIT_WAIT_MS, null);
      this.opts.log?.("session.end", {
        session: this.id, pid: this.pid, command: this.command, reason, exitCode: this.exit?.code ?? null, signal: this.exit?.signal ?? null,
        reaped, reapMs: Date.now() - started, durationMs: Date.now() - this.created.getTime(), bytesOut: this.log.end, bytesIn: this.bytesIn,
      });
    } finally {
      this.pty.close();
      void this.recorder?.end(); // writes the rest and closes the file, in the background
      this.state = "ended";
      this.opts.onEnded(this);
    }
  }
}
