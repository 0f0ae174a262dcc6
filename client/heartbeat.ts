// Owner: client (browser page). One socket's heartbeat: a ping every PING_EVERY_MS while it is
// open, and the verdict "dead" when nothing at all arrived within PING_TIMEOUT_MS of a ping (a
// half-open connection may never report its close). Knows nothing of what a ping carries: the
// connection sends it and measures the round trip from the pong.

/**
 * While live, ping this often: the heartbeat, and the round trip the page shows and predicts
 * typing by (a few bytes each way per pane; a hidden tab's timers run less often, which is fine).
 * Nothing received within PING_TIMEOUT_MS of a ping means the connection is dead.
 */
export const PING_EVERY_MS = 2_000;
export const PING_TIMEOUT_MS = 10_000;

export class Heartbeat {
  private lastRx = Date.now();
  /** When the oldest ping with nothing received since was sent; 0: none outstanding. */
  private unanswered = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  /** Starts at once (the socket just opened): `ping` now and every PING_EVERY_MS, `dead` once (then it stops). */
  constructor(ping: () => void, dead: () => void) {
    ping(); // the round trip, at once
    // Timestamps, not timer counts: background tabs throttle timers, which must not look like a dead link.
    this.timer = setInterval(() => {
      const now = Date.now();
      if (this.unanswered && this.lastRx < this.unanswered && now - this.unanswered > PING_TIMEOUT_MS) {
        this.stop();
        return dead();
      }
      if (!this.unanswered || this.lastRx >= this.unanswered) this.unanswered = now;
      ping();
    }, PING_EVERY_MS);
  }

  /** Anything arrived on the socket. */
  received(): void {
    this.lastRx = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
