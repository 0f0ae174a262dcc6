// The pool: every live session, the session limit, lookup, warm spares, the idle sweep, the
// drain (no new sessions, every session told), and ending them all on shutdown. Knows sessions, not sockets.

import { randomBytes } from "node:crypto";
import { CloseCode, Limits, type DrainingMessage, type SessionInfo } from "../../protocol/index.ts";
import { within } from "./deadline.ts";
import { drainingNow, spawnFailed, tooManySessions } from "./errors.ts";
import type { LogFn } from "./log.ts";
import { SpawnError } from "./pty.ts";
import type { Recorder } from "./recorder.ts";

import { Session, SESSION_END_BOUND_MS, type Screens, type SessionOptions } from "./session.ts";

/** How often sessions are checked against the idle timeout. */
const IDLE_SWEEP_MS = 1000;
/**
 * Load shedding, the fairness rule between sessions: once the event loop is SHED_LAG_MS late, and
 * until it is back under SHED_RELEASE_LAG_MS, a session that prints faster than SHED_MIN_BYTES_PER_S
 * over a lag sample is paused for SHED_HOLD_MS at a time (its program waits, nothing is lost), if there
 * is someone to protect from it: another session with a client that is not flooding (typing, a
 * prompt), or another flood (many floods take turns on the loop, and the API and /api/health wait
 * behind all of them). So a flood in some sessions cannot starve typing in another one, and a
 * session that stopped flooding (Ctrl-C) is never left paused. One flood alone is left to run:
 * pausing it would protect nobody and only slow it (a late timer on a busy machine is mostly other
 * processes' doing), unless the loop is SHED_SEVERE_LAG_MS late.
 * 15 ms, not the 30 ms of before: beside 10 floods, loops 15-30 ms late (never shed) gave typing in
 * an eleventh session an echo p99 of 31-62 ms (p50 19-25 ms in some blocks) in three runs on
 * 2026-12-03; at 15 ms (release at 5) two runs gave 4.3 and 1.7 ms, the floods 33-47 MB/s instead
 * of 27-86 (`npm run bench -- --only sessions`).
 */
export const SHED_LAG_MS = 15;
export const SHED_RELEASE_LAG_MS = 5;
export const SHED_SEVERE_LAG_MS = 250;
/** A shed session is paused this long at a time (then it goes on, and is paused again if it floods again). */
export const SHED_HOLD_MS = 250;
/**
 * A flood prints more than this per second (320 KiB/s: far above typing and its echo), measured
 * over each lag sample whatever its length (a sample of a late loop lasts longer than 50 ms)...
 */
export const SHED_MIN_BYTES_PER_S = 320 << 10;
/** ...and at least this much (what 320 KiB/s prints in one 50 ms sample). */
export const SHED_MIN_BYTES = 16 << 10;
/**
 * Sessions being ended hold their processes until reaped (at most SESSION_END_BOUND_MS each).
 * Past --max-sessions of them, a new session waits for one to be gone, at most ROOM_WAIT_MS: so
 * live, ending and spare sessions together never hold more than 2 x --max-sessions + --pool-size
 * terminals' processes, however fast sessions are started and dropped.
 */
export const ROOM_WAIT_MS = SESSION_END_BOUND_MS + 1000;
/**
 * A drain refuses new sessions from this long after it began. A front door that sent a tab here
 * just before (its page loading, its socket not yet open) is not refused: the proxy already sends
 * new tabs elsewhere (the front door and the readiness probe refuse at once), and the page's script
 * loads and opens its socket well within this.
 */
export const DRAIN_HANDOVER_MS = 2000;
/** A spare that dies before it is used delays the next refill by this much, doubling up to the max (a command that exits at once must not fork in a loop). */
const SPARE_BACKOFF_MS = 1000;
const SPARE_BACKOFF_MAX_MS = 30_000;

export interface PoolOptions {
  /** The default command. */
  command: string[];
  cwd?: string;
  /** Environment for every program (TERM included). */
  env: Record<string, string>;
  /** Most live sessions (handed out, not ending; spares not counted). */
  maxSessions: number;
  /** Most live sessions without a client; past it, the least worth keeping is ended (evicted). */
  maxDetached: number;
  /** How long a session without clients lives on; 0 = ends with its last client. */
  graceMs: number;
  /** End sessions with no input or output for this long; 0 = never. */
  idleTimeoutMs: number;
  /** Warm spares of the default command kept started and ready. */
  spares: number;
  screen: Screens;
  /** The PTY spawner and the reaper for sessions (defaults: the real ones; tests pass fakes). */
  spawn?: SessionOptions["spawn"];
  reap?: SessionOptions["reap"];
  log: LogFn;
  /** Called after any session (spares included) has ended and left the pool. */
  onEnded?(s: Session): void;
  /** --record: a recorder for a session handed out (a new one, or a spare when it is handed out), held until the session is worth keeping (Session.keep): a disposable session leaves no file. */
  record?(s: Session): Recorder | null;
  /** File transfer: a watcher of each session's output (bunty-get requests). */
  watchOutput?(s: Session): ((bytes: Uint8Array) => void) | null;
}

/** Running totals over every session the pool ever had (for GET /metrics). Counters only grow. */
export interface PoolTotals {
  /** Live sessions handed out (spares not counted). */
  sessions: number;
  /** Of those, sessions with no client attached. */
  detached: number;
  /** Sessions being ended (their processes being reaped). */
  ending: number;
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
  /** Detached sessions ended to stay under --max-detached or to make room for a new session. */
  evicted: number;
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
  evicted = 0;
  /** What sessions that have left the pool contributed to the totals. */
  private readonly gone = { bytesIn: 0, bytesOut: 0, resyncs: 0, clientsDropped: 0 };
  /** Sessions out of `sessions` early (a spare that gave way) that have not been forgotten yet. */
  private readonly leaving = new Set<Session>();
  /** New sessions waiting for ending ones to be gone (see ROOM_WAIT_MS), first come first served. */
  private readonly roomWaiters: (() => void)[] = [];
  /** Read by every session on every output chunk: while overloaded, a session printing faster than the flood rate since the last sample pauses itself at once. */
  private readonly load = { overloaded: false, sampleAt: performance.now(), shedMinBytes: SHED_MIN_BYTES, shedBytesPerMs: SHED_MIN_BYTES_PER_S / 1000, shedMs: SHED_HOLD_MS };
  /** The loop is SHED_LAG_MS late (until it is back under SHED_RELEASE_LAG_MS), or even SHED_SEVERE_LAG_MS. */
  private lagging = false;
  private severe = false;
  /** Set once by drain(): when it began and when its sessions are ended (performance.now() ms), and why. */
  private drainState: { since: number; endsAt: number; reason: string } | null = null;

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.configure(opts);
  }

  /**
   * Sets the limits (at start, and on SIGHUP). Live sessions stay: a lower maximum refuses new
   * ones only, a smaller pool ends the extra spares, a new grace applies from the next time a
   * session loses its last client, a new idle timeout at the next sweep.
   */
  configure(o: Pick<PoolOptions, "maxSessions" | "maxDetached" | "graceMs" | "idleTimeoutMs" | "spares">): void {
    Object.assign(this.opts, { maxSessions: o.maxSessions, maxDetached: o.maxDetached, graceMs: o.graceMs, idleTimeoutMs: o.idleTimeoutMs, spares: o.spares });
    clearInterval(this.sweep);
    this.sweep = undefined;
    if (o.idleTimeoutMs > 0 && !this.stopped) {
      this.sweep = setInterval(() => this.endIdle(), IDLE_SWEEP_MS);
      this.sweep.unref();
    }
    while (this.spares.length > o.spares) this.dropSpare(this.spares.pop()!, "pool size lowered");
    this.enforceDetached();
    this.scheduleRefill(0);
  }

  /** Ends a spare that is no longer wanted; it stays counted in the totals until forget(). */
  private dropSpare(spare: Session, reason: string): void {
    void spare.end(CloseCode.sessionEnded, reason);
    this.sessions.delete(spare.id);
    this.leaving.add(spare);
  }

  /** Live sessions handed to clients (spares and sessions being ended not counted). */
  get size(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === "live") n++;
    return n;
  }
  get spareCount(): number {
    return this.spares.length;
  }
  /** Live sessions without a client. */
  get detachedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.detached) n++;
    return n;
  }
  /** Sessions being ended: their processes are being reaped (at most about SESSION_END_BOUND_MS each). */
  get endingCount(): number {
    let n = this.leaving.size;
    for (const s of this.sessions.values()) if (s.state === "ending") n++;
    return n;
  }

  /**
   * Resolves once a new session may be started without more than --max-sessions sessions being
   * ended at once (at once, normally). Rejects after ROOM_WAIT_MS (the reaper is stuck: refused
   * like a full server), or when `signal` aborts (the client went away meanwhile).
   */
  async room(signal?: AbortSignal): Promise<void> {
    if (this.endingCount < this.opts.maxSessions && this.roomWaiters.length === 0) return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const wake = () => resolve();
    this.roomWaiters.push(wake);
    const fail = (e: unknown) => {
      const i = this.roomWaiters.indexOf(wake);
      if (i >= 0) this.roomWaiters.splice(i, 1);
      reject(e);
    };
    const timer = setTimeout(() => fail(tooManySessions(this.opts.maxSessions, "ending")), ROOM_WAIT_MS);
    const onAbort = () => fail(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Lets waiting new sessions go while there is room. */
  private wakeWaiters(): void {
    let free = this.opts.maxSessions - this.endingCount;
    while (free-- > 0 && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
  }

  /**
   * The detached session least worth keeping, or null: fewest reasons to keep it (none = never
   * typed in, never attached to by id, nobody stayed), then the longest detached.
   */
  private leastKept(): Session | null {
    let worst: Session | null = null;
    for (const s of this.sessions.values()) {
      if (!s.detached) continue;
      if (!worst || s.keptBy.size < worst.keptBy.size || (s.keptBy.size === worst.keptBy.size && s.detachedAt < worst.detachedAt)) worst = s;
    }
    return worst;
  }

  /** Ends a detached session to respect a bound; logged and counted (bunty_sessions_evicted_total). */
  private evict(s: Session, bound: "max-detached" | "max-sessions"): void {
    this.evicted++;
    this.opts.log("session.evicted", { session: s.id, bound, keptBy: [...s.keptBy].join(",") || "nothing", detachedMs: Date.now() - s.detachedAt }, "warn");
    void s.end(CloseCode.sessionEnded, "evicted");
  }

  /** Keeps the detached sessions within --max-detached (after a client left, or the bound was lowered). */
  private enforceDetached(): void {
    let over = this.detachedCount - this.opts.maxDetached;
    for (; over > 0; over--) {
      const s = this.leastKept();
      if (!s) return;
      this.evict(s, "max-detached");
    }
  }

  /** Whether a new session would be refused for the session limit: --max-sessions live, each with a client (nothing to evict). */
  get full(): boolean {
    return this.size >= this.opts.maxSessions && this.leastKept() === null;
  }

  get draining(): boolean {
    return this.drainState !== null;
  }

  /** While draining: the message for a client (sent to each one attaching), with the time left. */
  drainNotice(): DrainingMessage | null {
    const d = this.drainState;
    return d ? { type: "draining", inMs: Math.max(0, Math.round(d.endsAt - performance.now())), reason: d.reason } : null;
  }

  /**
   * Starts draining (once; later calls change nothing): new sessions are refused after
   * DRAIN_HANDOVER_MS, spares end and are not replaced, and every live session's clients are told
   * that it ends in `inMs`. Ending the sessions then (endAll) is the caller's.
   */
  drain(inMs: number, reason: string): void {
    if (this.drainState) return;
    const now = performance.now();
    this.drainState = { since: now, endsAt: now + inMs, reason };
    this.stopped = true; // nothing is started ahead of demand any more
    clearTimeout(this.refillTimer);
    while (this.spares.length > 0) this.dropSpare(this.spares.pop()!, "draining");
    const notice = this.drainNotice()!;
    for (const s of this.sessions.values()) if (s.state === "live") s.broadcast(notice);
  }

  /**
   * Starts a session, or hands out a warm spare when the default command is asked for.
   * Throws DomainError (draining, too many sessions, spawn failed).
   */
  create(cols: number, rows: number, command?: string[], env: Record<string, string> = {}): Session {
    if (this.drainState && performance.now() - this.drainState.since > DRAIN_HANDOVER_MS) throw drainingNow(this.drainState.reason);
    if (this.size >= this.opts.maxSessions) {
      // Room is made from the detached sessions, least worth keeping first; only attached ones alone can fill the limit.
      const s = this.leastKept();
      if (!s) throw tooManySessions(this.opts.maxSessions);
      this.evict(s, "max-sessions");
    }
    if (!command && Object.keys(env).length === 0) {
      const spare = this.spares.shift();
      if (spare) {
        spare.handOut();
        this.startRecording(spare); // before the resize: its prompt was drawn at the spare's size, then comes an "r" event
        spare.applySize(cols, rows);
        this.spareBackoffMs = 0;
        this.opts.log("session.start", { session: spare.id, pid: spare.pid, command: spare.command, cols, rows, spare: true });
        this.scheduleRefill(0);
        return spare;
      }
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

  private spawn(command: string[], cols: number, rows: number, env: Record<string, string> = {}, spare = false): Session {
    const id = randomBytes(9).toString("base64url");
    let s: Session;
    const opts = this.opts;
    try {
      s = new Session({
        id, command, cwd: opts.cwd, env: { ...opts.env, ...env, BUNTY_SESSION: id }, cols, rows, spare, load: this.load,
        screen: opts.screen, spawn: opts.spawn, reap: opts.reap,
        get graceMs() { return opts.graceMs; }, log: opts.log, // read when the grace starts: SIGHUP may change it
        onEnded: (x) => this.forget(x), onDetached: () => this.enforceDetached(), onKept: (x) => x.commitRecording(), watchOutput: opts.watchOutput,
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
    this.wakeWaiters();
    this.opts.onEnded?.(s);
  }

  /** Tops the spares up to the configured count, off the caller's path. */
  private scheduleRefill(delayMs: number): void {
    if (this.stopped || this.refillTimer || this.spares.length >= this.opts.spares) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      while (!this.stopped && this.spares.length < this.opts.spares && this.endingCount < this.opts.maxSessions) {
        try {
          this.spares.push(this.spawn(this.opts.command, Limits.defaultCols, Limits.defaultRows, {}, true)); // resized when handed out
        } catch (e) {
          this.opts.log("spare.failed", { message: (e as Error).message }, "error");
          return;
        }
      }
    }, delayMs);
  }

  /** A live session (not a spare, not being ended). */
  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    return s?.state === "live" ? s : undefined;
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].filter((s) => s.state === "live").map((s) => s.info());
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
    return { sessions: this.size, detached: this.detachedCount, ending: this.endingCount, spares: this.spares.length, clients, created: this.created, ended: this.ended, evicted: this.evicted, ...t };
  }

  /** Called with every event-loop lag sample (lag.ts): pauses the heaviest printers while the loop is late. */
  shedLoad(lagMs: number): void {
    if (lagMs > SHED_LAG_MS) this.lagging = true;
    else if (lagMs <= SHED_RELEASE_LAG_MS) this.lagging = this.severe = false;
    if (lagMs > SHED_SEVERE_LAG_MS) this.severe = true;
    // Someone to protect: a session with a client that is not flooding (and not paused for flooding),
    // or other floods: several floods take turns on the loop, one alone does not hold it up.
    const now = performance.now();
    const flood = Math.max(SHED_MIN_BYTES, SHED_MIN_BYTES_PER_S * ((now - this.load.sampleAt) / 1000)); // over this sample
    this.load.sampleAt = now;
    let quiet = false, floods = 0;
    for (const s of this.sessions.values()) {
      if (s.recentBytes > flood) floods++;
      else if (s.clientCount > 0 && s.shedUntil === 0) quiet = true;
    }
    this.load.overloaded = this.lagging && (quiet || floods > 1 || this.severe);
    for (const s of this.sessions.values()) {
      // A pause lasts its time and no longer, overloaded or not: a session that floods again is
      // paused again at once (Session.output), one that went quiet (Ctrl-C: only a prompt) is not.
      if (s.shedUntil > 0 && s.shedUntil <= now) s.shedFor(0);
      else if (this.load.overloaded && s.recentBytes > flood) s.shedFor(SHED_HOLD_MS);
      s.recentBytes = 0;
    }
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
