// When a session's program may write: its output is paused (pty.pauseOutput) for any of three
// reasons, each with its own rule: every client is far behind (held), nobody is attached and the
// detached allowance is spent (throttled), or the pool sheds load (shed). Owns the three flags,
// the detached budget and its timer; knows nothing of clients or sockets: the session says how far
// behind its nearest client is.

import { OUTPUT_LOG_BYTES } from "./outlog.ts";

/**
 * While no client is attached, a session's output averages at most this much: past it the
 * program's output is paused (pty.pauseOutput) until the budget refills, so a detached `yes`
 * costs the server almost nothing while a detached build still runs (few print this much).
 */
export const DETACHED_OUTPUT_BYTES_PER_S = 32 << 10;
/** ...in bursts of up to this much. */
export const DETACHED_OUTPUT_BURST_BYTES = 256 << 10;
/** A paused detached session is looked at again after at least this long. */
const DETACHED_RESUME_MIN_MS = 50;
/**
 * When every client is more than this far behind the newest output, the program's output is
 * held (pty.pauseOutput) until one of them is within RELEASE_AHEAD_BYTES again: the program runs
 * at the pace of its fastest client, like over ssh, instead of the server reading a flood nobody
 * can take. The writer, when it never skips (a script: it sends no acks), is waited for the same
 * way even if a viewer is faster: the one who types gets every byte. Half the output log, so such
 * a client loses nothing; browsers, which skip to the present past BROWSER_REPLAY_LIMIT_BYTES, let
 * it run on in big steps; a viewer slower than the writer skips (a snapshot) once the log moved
 * past it, and can never hold up the session for the others.
 */
export const HOLD_AHEAD_BYTES = OUTPUT_LOG_BYTES / 2;
export const RELEASE_AHEAD_BYTES = 1 << 20;

export class Pacing {
  /** Paused because every client is far behind. */
  held = false;
  /** Paused by the pool (the event loop is overloaded and this session prints the most) until at least this performance.now(); 0: not shed. */
  shedUntil = 0;
  private throttled = false;
  private shed = false;
  /** Output budget while detached (bytes) and when it was last topped up; see DETACHED_OUTPUT_BYTES_PER_S. */
  private budget = DETACHED_OUTPUT_BURST_BYTES;
  private budgetAt = 0;
  private resumeTimer: ReturnType<typeof setTimeout> | undefined;

  /** `pause`: pauses (true) or lets go (false) the program's output; called whenever a reason may have changed. */
  constructor(private readonly pause: (paused: boolean) => void) {}

  /**
   * Holds the output while the nearest client (or a script writer) is more than HOLD_AHEAD_BYTES
   * behind, lets it go once it is within RELEASE_AHEAD_BYTES. `active`: clients are attached and
   * the session is not ending (else nothing is held).
   */
  hold(active: boolean, behind: number): void {
    const hold = active && (this.held ? behind > RELEASE_AHEAD_BYTES : behind > HOLD_AHEAD_BYTES);
    if (hold === this.held) return;
    this.held = hold;
    this.apply();
  }

  /** The last client left: the detached allowance starts full. */
  detached(): void {
    [this.budget, this.budgetAt] = [DETACHED_OUTPUT_BURST_BYTES, Date.now()];
  }

  /** Output while nobody is attached: over the budget, the program waits (its output is paused) until the budget refills. */
  spendDetached(n: number): void {
    const now = Date.now();
    // The debt is capped at one burst: output that came before the pause took hold is not the program's doing.
    this.budget = Math.max(-DETACHED_OUTPUT_BURST_BYTES, Math.min(DETACHED_OUTPUT_BURST_BYTES, this.budget + ((now - this.budgetAt) * DETACHED_OUTPUT_BYTES_PER_S) / 1000) - n);
    this.budgetAt = now;
    if (this.budget >= 0 || this.resumeTimer) return;
    this.throttled = true;
    this.apply();
    const wait = () => {
      const ms = Math.max(DETACHED_RESUME_MIN_MS, (-this.budget * 1000) / DETACHED_OUTPUT_BYTES_PER_S);
      this.resumeTimer = setTimeout(() => {
        this.budget = Math.min(DETACHED_OUTPUT_BURST_BYTES, this.budget + ((Date.now() - this.budgetAt) * DETACHED_OUTPUT_BYTES_PER_S) / 1000);
        this.budgetAt = Date.now();
        if (this.budget < 0) return wait();
        this.resumeTimer = undefined;
        this.throttled = false;
        this.apply();
      }, ms);
    };
    wait();
  }

  /** A client attached: output flows at full speed again. */
  attached(): void {
    clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.throttled = false;
    this.apply();
  }

  /** Shed for at least `ms` (0 lets go); never while the session ends (`ending`). */
  shedFor(ms: number, ending: boolean): void {
    const on = ms > 0 && !ending;
    this.shedUntil = on ? performance.now() + ms : 0;
    if (on === this.shed) return;
    this.shed = on;
    this.apply();
  }

  /** The session ends: nothing is paused any more (a program waiting on a paused terminal must be free to see its signals and go). */
  stop(): void {
    this.held = false;
    this.shed = false;
    this.shedUntil = 0;
    this.attached();
  }

  private apply(): void {
    this.pause(this.held || this.throttled || this.shed);
  }
}
