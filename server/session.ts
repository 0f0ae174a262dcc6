// A session: one program on one PTY, and the clients attached to it. Owns output fan-out with
// a per-client bound, bounded input, resize, and the end of the session (exit message, close
// codes, reaping). Never touches a socket: clients are anything with the `Client` shape.

import { CloseCode, encodeMessage, type ServerMessage } from "../protocol/index.ts";
import { spawnPty, type Pty, type PtyExit } from "./pty.ts";
import { within } from "./deadline.ts";
import { endSession, REAP_BOUND_MS } from "./reap.ts";

/** A client may have at most this much output queued (unsent) before it is closed with 4001. */
export const MAX_CLIENT_BACKLOG_BYTES = 4 << 20;
/** Above this much input not yet flushed to the PTY, clients' sockets are paused (not read) until it drains. */
export const MAX_INPUT_QUEUED_BYTES = 1 << 20;
/** After a session is ended, how long we wait for the program's exit status once its processes were signalled. */
const EXIT_WAIT_MS = 1000;

/** What a session needs from a connected client. The socket layer implements it. */
export interface Client {
  /** Sends terminal bytes. Returns Bun's send result: > 0 sent, -1 queued, 0 dropped. */
  sendBytes(bytes: Uint8Array): number;
  sendText(text: string): number;
  /** Bytes queued for this client and not yet written to its socket. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  /** Stop/start reading this client's input (flow control toward the PTY). */
  pauseInput(): void;
  resumeInput(): void;
}

export interface SessionOptions {
  id: string;
  command: string[];
  cwd?: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Called once, after the program has exited and all its processes are gone. */
  onEnded(session: Session): void;
  log?(event: string, fields: Record<string, unknown>): void;
}

export interface SessionInfo {
  id: string;
  pid: number;
  command: string[];
  created: string;
  cols: number;
  rows: number;
  clients: number;
}

export class Session {
  readonly id: string;
  readonly command: string[];
  readonly created = new Date();
  readonly pty: Pty;
  cols: number;
  rows: number;
  bytesOut = 0;
  bytesIn = 0;
  exit: PtyExit | null = null;
  private readonly clients = new Set<Client>();
  private readonly paused = new Set<Client>();
  private ending: Promise<void> | null = null;
  private readonly opts: SessionOptions;

  /** Throws SpawnError when the program cannot be started. */
  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.command = opts.command;
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.pty = spawnPty({
      command: opts.command,
      cwd: opts.cwd,
      env: opts.env,
      cols: opts.cols,
      rows: opts.rows,
      onData: (bytes) => this.output(bytes),
      onDrain: () => this.inputDrained(),
    });
    this.pty.exited.then((exit) => this.programExited(exit));
  }

  get pid(): number {
    return this.pty.pid;
  }
  get clientCount(): number {
    return this.clients.size;
  }
  get ended(): boolean {
    return this.ending !== null;
  }

  info(): SessionInfo {
    return { id: this.id, pid: this.pid, command: this.command, created: this.created.toISOString(), cols: this.cols, rows: this.rows, clients: this.clients.size };
  }

  attach(client: Client): void {
    if (this.ending) {
      client.close(CloseCode.sessionEnded, "session has ended");
      return;
    }
    this.clients.add(client);
  }

  /** The client went away (any way). A session with no clients left ends. */
  detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.paused.delete(client);
    if (this.clients.size === 0) void this.end(CloseCode.sessionEnded, "last client left");
  }

  send(client: Client, message: ServerMessage): void {
    client.sendText(encodeMessage(message));
  }

  input(bytes: Uint8Array, from: Client): void {
    if (this.ending) return;
    this.bytesIn += bytes.byteLength;
    this.pty.write(bytes);
    if (this.pty.pendingInput > MAX_INPUT_QUEUED_BYTES && !this.paused.has(from)) {
      this.paused.add(from);
      from.pauseInput();
    }
  }

  resize(cols: number, rows: number): void {
    if (this.ending || (cols === this.cols && rows === this.rows)) return;
    this.cols = cols;
    this.rows = rows;
    this.pty.resize(cols, rows);
  }

  private inputDrained(): void {
    for (const c of this.paused) c.resumeInput();
    this.paused.clear();
  }

  private output(bytes: Uint8Array): void {
    this.bytesOut += bytes.byteLength;
    for (const c of this.clients) {
      // Bun's PTY cannot be paused, so a client that does not read is cut off rather than queued for without bound.
      if (c.bufferedAmount() > MAX_CLIENT_BACKLOG_BYTES || c.sendBytes(bytes) === 0) this.dropSlow(c);
    }
  }

  private dropSlow(c: Client): void {
    this.clients.delete(c);
    this.paused.delete(c);
    this.opts.log?.("client.slow", { session: this.id, backlog: c.bufferedAmount() });
    c.close(CloseCode.slowConsumer, `more than ${MAX_CLIENT_BACKLOG_BYTES} bytes of output queued`);
    if (this.clients.size === 0) void this.end(CloseCode.slowConsumer, "last client was too slow");
  }

  private programExited(exit: PtyExit): void {
    this.exit = exit;
    if (this.ending) return;
    const msg = encodeMessage({ type: "exit", code: exit.code, signal: exit.signal });
    for (const c of this.clients) c.sendText(msg);
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
    const clients = [...this.clients];
    this.clients.clear();
    this.paused.clear();
    for (const c of clients) c.close(code, reason);
    void this.reap(reason).then(done);
    return this.ending;
  }

  private async reap(reason: string): Promise<void> {
    const started = Date.now();
    try {
      const reaped = await endSession(this.pid);
      await within(this.pty.exited, EXIT_WAIT_MS, null);
      this.opts.log?.("session.end", {
        session: this.id, pid: this.pid, reason, exit: this.exit, reaped, reapMs: Date.now() - started,
        duration: Date.now() - this.created.getTime(), bytesOut: this.bytesOut, bytesIn: this.bytesIn,
      });
    } finally {
      this.pty.close();
      this.opts.onEnded(this);
    }
  }
}

export const SESSION_END_BOUND_MS = REAP_BOUND_MS + EXIT_WAIT_MS;
