// The pool: every live session, the session limit, lookup, warm spares, the idle sweep, and
// ending them all on shutdown. Knows sessions, not sockets.

import { randomBytes } from "node:crypto";
import { CloseCode } from "../protocol/index.ts";
import { within } from "./deadline.ts";
import { spawnFailed, tooManySessions } from "./errors.ts";
import type { LogFn } from "./log.ts";
import { SpawnError } from "./pty.ts";
import type { Recorder } from "./recorder.ts";
import type { ScreenModels } from "./screen.ts";
import { Session, SESSION_END_BOUND_MS, type SessionInfo } from "./session.ts";

/** How often sessions are checked against the idle timeout. */
const IDLE_SWEEP_MS = 1000;
/** A spare that dies before it is used delays the next refill by this much, doubling up to the max (a command that exits at once must not fork in a loop). */
const SPARE_BACKOFF_MS = 1000;
const SPARE_BACKOFF_MAX_MS = 30_000;

export interface PoolOptions {
  /** The default command. */
  command: string[];
  cwd?: string;
  /** Environment for every program (TERM included). */
  env: Record<string, string>;
  maxSessions: number;
  /** How long a session without clients lives on; 0 = ends with its last client. */
  graceMs: number;
  /** End sessions with no input or output for this long; 0 = never. */
  idleTimeoutMs: number;
  /** Warm spares of the default command kept started and ready. */
  spares: number;
  screen: ScreenModels;
  log: LogFn;
  /** Called after any session (spares included) has ended and left the pool. */
  onEnded?(s: Session): void;
  /** --record: a recorder for a session handed out (a new one, or a spare when it is handed out). */
  record?(s: Session): Recorder | null;
  /** File transfer: a watcher of each session's output (bunty-get requests). */
  watchOutput?(s: Session): ((bytes: Uint8Array) => void) | null;
}

/** Running totals over every session the pool ever had (for GET /metrics). Counters only grow. */
export interface PoolTotals {
  /** Live sessions handed out (spares not counted). */
  sessions: number;
  spares: number;
  clients: number;
  /** Sessions started (spares included) and ended, since start. */
  created: number;
  ended: number;
  bytesIn: number;
  bytesOut: number;
  /** Clients resynchronised with a screen snapshot. */
  resyncs: number;
  /** Clients closed because they refused output. */
  clientsDropped: number;
}

export class Pool {
  private readonly sessions = new Map<string, Session>();
  private readonly spares: Session[] = [];
  private readonly opts: PoolOptions;
  private sweep: ReturnType<typeof setInterval> | undefined;
  private refillTimer: ReturnType<typeof setTimeout> | undefined;
  private spareBackoffMs = 0;
  private stopped = false;
  created = 0;
  ended = 0;
  /** What sessions that have left the pool contributed to the totals. */
  private readonly gone = { bytesIn: 0, bytesOut: 0, resyncs: 0, clientsDropped: 0 };
  /** Sessions out of `sessions` early (a spare that gave way) that have not been forgotten yet. */
  private readonly leaving = new Set<Session>();

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.configure(opts);
  }

  /**
   * Sets the limits (at start, and on SIGHUP). Live sessions stay: a lower maximum refuses new
   * ones only, a smaller pool ends the extra spares, a new grace applies from the next time a
   * session loses its last client, a new idle timeout at the next sweep.
   */
  configure(o: Pick<PoolOptions, "maxSessions" | "graceMs" | "idleTimeoutMs" | "spares">): void {
    Object.assign(this.opts, { maxSessions: o.maxSessions, graceMs: o.graceMs, idleTimeoutMs: o.idleTimeoutMs, spares: o.spares });
    clearInterval(this.sweep);
    this.sweep = undefined;
    if (o.idleTimeoutMs > 0 && !this.stopped) {
      this.sweep = setInterval(() => this.endIdle(), IDLE_SWEEP_MS);
      this.sweep.unref();
    }
    while (this.spares.length > o.spares) this.dropSpare(this.spares.pop()!, "pool size lowered");
    this.scheduleRefill(0);
  }

  /** Ends a spare that is no longer wanted; it stays counted in the totals until forget(). */
  private dropSpare(spare: Session, reason: string): void {
    void spare.end(CloseCode.sessionEnded, reason);
    this.sessions.delete(spare.id);
    this.leaving.add(spare);
  }

  /** Live sessions handed to clients (spares not counted). */
  get size(): number {
    return this.sessions.size - this.spares.length;
  }
  get spareCount(): number {
    return this.spares.length;
  }

  /**
   * Starts a session, or hands out a warm spare when the default command is asked for.
   * Throws AppError (too many sessions, spawn failed).
   */
  create(cols: number, rows: number, command?: string[], env: Record<string, string> = {}): Session {
    if (!command && Object.keys(env).length === 0) {
      const spare = this.spares.shift();
      if (spare) {
        spare.spare = false;
        this.startRecording(spare); // before the resize: its prompt was drawn at the spare's size, then comes an "r" event
        spare.applySize(cols, rows);
        this.spareBackoffMs = 0;
        this.opts.log("session.start", { session: spare.id, pid: spare.pid, command: spare.command, cols, rows, spare: true });
        this.scheduleRefill(0);
        return spare;
      }
    }
    if (this.sessions.size >= this.opts.maxSessions) {
      const spare = this.spares.pop(); // a spare gives way to a real session
      if (!spare) throw tooManySessions(this.opts.maxSessions);
      this.dropSpare(spare, "spare gave way");
    }
    const s = this.spawn(command ?? this.opts.command, cols, rows, env);
    this.opts.log("session.start", { session: s.id, pid: s.pid, command: s.command, cols, rows });
    this.startRecording(s);
    return s;
  }

  private startRecording(s: Session): void {
    const r = this.opts.record?.(s);
    if (r) s.record(r);
  }

  private spawn(command: string[], cols: number, rows: number, env: Record<string, string> = {}): Session {
    const id = randomBytes(9).toString("base64url");
    let s: Session;
    const opts = this.opts;
    try {
      s = new Session({
        id, command, cwd: opts.cwd, env: { ...opts.env, ...env, BUNTY_SESSION: id }, cols, rows,
        screen: opts.screen, get graceMs() { return opts.graceMs; }, log: opts.log, // read when the grace starts: SIGHUP may change it
        onEnded: (x) => this.forget(x), watchOutput: opts.watchOutput,
      });
    } catch (e) {
      if (e instanceof SpawnError) throw spawnFailed(e.message);
      throw e;
    }
    this.sessions.set(id, s);
    this.created++;
    return s;
  }

  private forget(s: Session): void {
    this.sessions.delete(s.id);
    this.leaving.delete(s);
    this.ended++;
    this.gone.bytesIn += s.bytesIn;
    this.gone.bytesOut += s.log.end;
    this.gone.resyncs += s.resyncs;
    this.gone.clientsDropped += s.clientsDropped;
    const i = this.spares.indexOf(s);
    if (i >= 0) {
      this.spares.splice(i, 1);
      this.spareBackoffMs = Math.min(SPARE_BACKOFF_MAX_MS, Math.max(SPARE_BACKOFF_MS, this.spareBackoffMs * 2));
      this.opts.log("spare.died", { session: s.id, exit: s.exit, retryMs: this.spareBackoffMs }, "warn");
    }
    this.scheduleRefill(this.spareBackoffMs);
    this.opts.onEnded?.(s);
  }

  /** Tops the spares up to the configured count, off the caller's path. */
  private scheduleRefill(delayMs: number): void {
    if (this.stopped || this.refillTimer || this.spares.length >= this.opts.spares) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      while (!this.stopped && this.spares.length < this.opts.spares && this.sessions.size < this.opts.maxSessions) {
        try {
          const s = this.spawn(this.opts.command, 80, 24);
          s.spare = true;
          this.spares.push(s);
        } catch (e) {
          this.opts.log("spare.failed", { message: (e as Error).message }, "error");
          return;
        }
      }
    }, delayMs);
  }

  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    return s && !s.spare ? s : undefined;
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].filter((s) => !s.spare).map((s) => s.info());
  }

  clientCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.clientCount;
    return n;
  }

  /** Totals over live sessions and every one that has ended. */
  totals(): PoolTotals {
    const t = { ...this.gone };
    let clients = 0;
    for (const s of [...this.sessions.values(), ...this.leaving]) {
      t.bytesIn += s.bytesIn;
      t.bytesOut += s.log.end;
      t.resyncs += s.resyncs;
      t.clientsDropped += s.clientsDropped;
      clients += s.clientCount;
    }
    return { sessions: this.size, spares: this.spares.length, clients, created: this.created, ended: this.ended, ...t };
  }

  private endIdle(): void {
    const cutoff = Date.now() - this.opts.idleTimeoutMs;
    for (const s of this.sessions.values()) if (!s.spare && s.lastActivity < cutoff) void s.end(CloseCode.sessionEnded, "idle timeout");
  }

  /** Ends every session, spares included (clients get `code`), bounded by the session end bound plus `slackMs`. */
  async endAll(code: number, reason: string, slackMs = 500): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearTimeout(this.refillTimer);
    const all = [...this.sessions.values()].map((s) => s.end(code, reason));
    await within(Promise.all(all), SESSION_END_BOUND_MS + slackMs, null);
  }
}
