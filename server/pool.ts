// The pool: every live session, the session limit, lookup, and ending them all on shutdown.
// Knows sessions, not sockets.

import { randomBytes } from "node:crypto";
import { spawnFailed, tooManySessions } from "./errors.ts";
import { SpawnError } from "./pty.ts";
import { Session, SESSION_END_BOUND_MS, type SessionInfo } from "./session.ts";
import { within } from "./deadline.ts";

export interface PoolOptions {
  command: string[];
  cwd?: string;
  /** Environment for every program (TERM included). */
  env: Record<string, string>;
  maxSessions: number;
  log(event: string, fields: Record<string, unknown>): void;
}

export class Pool {
  private readonly sessions = new Map<string, Session>();
  private readonly opts: PoolOptions;
  created = 0;

  constructor(opts: PoolOptions) {
    this.opts = opts;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Starts a new session. Throws AppError (too many sessions, spawn failed). */
  create(cols: number, rows: number): Session {
    if (this.sessions.size >= this.opts.maxSessions) throw tooManySessions(this.opts.maxSessions);
    const id = randomBytes(9).toString("base64url");
    let session: Session;
    try {
      session = new Session({
        id,
        command: this.opts.command,
        cwd: this.opts.cwd,
        env: { ...this.opts.env, BUNTY_SESSION: id },
        cols,
        rows,
        log: this.opts.log,
        onEnded: (s) => this.sessions.delete(s.id),
      });
    } catch (e) {
      if (e instanceof SpawnError) throw spawnFailed(e.message);
      throw e;
    }
    this.sessions.set(id, session);
    this.created++;
    this.opts.log("session.start", { session: id, pid: session.pid, command: this.opts.command });
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  clientCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.clientCount;
    return n;
  }

  /** Ends every session (clients get `code`), bounded by the session end bound plus `slackMs`. */
  async endAll(code: number, reason: string, slackMs = 500): Promise<void> {
    const all = [...this.sessions.values()].map((s) => s.end(code, reason));
    await within(Promise.all(all), SESSION_END_BOUND_MS + slackMs, null);
  }
}
