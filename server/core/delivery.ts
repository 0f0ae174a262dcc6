// Output delivery to one client, with flow control that never slows the program: past a high
// watermark we stop sending to that client (nothing is queued for it); once it has drained
// below a low watermark it catches up from the output log if the log still holds its position,
// else from a fresh screen snapshot (the Mosh idea: a slow viewer skips to the present).
// Owns one client's stream position; knows nothing of sockets or PTYs.

import type { ServerMessage, SnapshotMessage } from "../../protocol/index.ts";
import type { OutputLog } from "./outlog.ts";

/**
 * Stop sending to a client with more than this queued in its socket... Kept small on purpose: Bun
 * (uWS) keeps a socket's queue in one buffer and moves the rest to the front after each partial
 * write, so a deep queue costs a memmove per write (measured: a 4 MiB queue made sendBinary 90% of
 * the server's CPU in a flood). The output log is the deep queue instead; a client below this
 * resumes from the log with no byte lost.
 */
export const SOCKET_HIGH_BYTES = 256 << 10;
/** ...and catch it up once the queue is below this. */
export const SOCKET_LOW_BYTES = 64 << 10;
/**
 * For clients that ack what they parsed (browsers): stop above this much sent but not yet
 * parsed... What is in flight must be parsed before anything newer shows (Ctrl-C's prompt): a
 * browser parses a flood at 2-4 MB/s here, so 192 KiB is 50-100 ms of it. (A browser 150 ms
 * away still gets 1.3 MB/s of a flood, and skips to the present past BROWSER_REPLAY_LIMIT_BYTES.)
 */
export const UNACKED_HIGH_BYTES = 192 << 10;
/** ...and catch up below this. */
export const UNACKED_LOW_BYTES = 64 << 10;
/**
 * A browser (a client that acks) further behind than this skips to the present with a snapshot
 * instead of replaying the log: replaying 1 MiB of `seq` to a browser kept its prompt off the
 * screen for 300 ms after the program was done. Clients that do not ack (scripts) always get the
 * lossless replay while the log holds their position.
 */
export const BROWSER_REPLAY_LIMIT_BYTES = 128 << 10;
/** A browser that types while behind skips to the present at once (hurry), at most this often. */
export const HURRY_MIN_INTERVAL_MS = 200;
/**
 * ...and so does one that is not behind yet but has this much in flight (half the window): in a
 * flood it is always just under the high watermark, so what it types would otherwise show only
 * after it parsed up to 192 KiB first (50-100 ms). The page drops output it has not parsed yet when
 * a snapshot comes (client/terminal.ts), so the snapshot overtakes the rest.
 */
export const HURRY_MIN_UNACKED_BYTES = 96 << 10;
/**
 * ...and so does one whose window filled this recently, whatever it has in flight now: just after
 * an ack let it catch up, a flooded browser has little in flight for a millisecond or so, and a
 * Ctrl-C landing then would otherwise be shown only after the page parsed the flood's tail.
 */
export const HURRY_RECENT_FULL_MS = 250;
/**
 * After a hurry the flood's tail is not replayed either. A Ctrl-C lands while the program is still
 * writing: what it wrote between the snapshot and its death (190-290 KiB measured here in `yes`)
 * would be parsed by the page before the prompt shows (50-100 ms). So live output waits until the
 * program has been quiet for one HURRY_QUIET_MS (its prompt is out) or HURRY_WINDOW_MS have passed,
 * and then the client gets the present: a replay of what came if it is at most HURRY_REPLAY_BYTES,
 * else one more snapshot. A program that goes on flooding is shown again after HURRY_WINDOW_MS.
 */
export const HURRY_QUIET_MS = 10;
export const HURRY_WINDOW_MS = 300;
export const HURRY_REPLAY_BYTES = 16 << 10;
/**
 * A hurry's snapshot is made from at most the newest this-many bytes the screen model has not
 * parsed yet: enough to redraw a screen of line output or a few full-screen redraws. (The flood
 * rule's 256 KiB of `yes` took the model 24-26 ms to parse on an idle core here, 30-90 ms beside a
 * browser parsing the same flood; 64 KiB took 7 ms.)
 */
export const HURRY_KEEP_BYTES = 64 << 10;
/** Largest frame sent while catching up from the log. */
const CATCH_UP_FRAME_BYTES = 64 << 10;
/** When a snapshot could not be had (model busy or lost), try again after this long. */
const RESYNC_RETRY_MS = 250;

/** What a delivery needs from a connected client (a subset of session.ts's Client). */
export interface Sink {
  /** Terminal bytes. Returns Bun's send result: > 0 sent, -1 queued, 0 dropped. */
  sendOutput(bytes: Uint8Array): number;
  /** A control message (the socket layer encodes it). */
  sendControl(message: ServerMessage): void;
  bufferedAmount(): number;
}

export interface StreamSource {
  readonly log: OutputLog;
  /**
   * The current screen as terminal bytes, with the log offset it corresponds to; null when
   * unavailable. `keep`: the screen model may skip all but this much of what it has not parsed.
   */
  snapshot(keep?: number): Promise<Omit<SnapshotMessage, "type"> | null>;
}

export class Delivery {
  /** Absolute offset up to which output was handed to the socket. */
  sent: number;
  /** Highest offset the client said it parsed; null for clients that never ack (socket backpressure only). */
  acked: number | null = null;
  /** True while output is not being sent to this client (it fell behind, or is being brought up to date). */
  behind = true;
  /** How many times this client was resynchronised with a snapshot. */
  resyncs = 0;
  /** The catch-up under way, if any. */
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** The next catch-up takes a snapshot whatever the distance (the client typed while behind). */
  private skipAhead = false;
  /** The client was told a snapshot comes (`skip`) and may have dropped what it had: nothing but a snapshot will do. */
  private owesSnapshot = false;
  private hurriedAt = -Infinity;
  /** performance.now() when output last stopped because the client's window was full. */
  private fullAt = -Infinity;
  /** While a hurry holds live output back (performance.now() it ends at; 0: no hold). */
  private holdUntil = 0;
  private quietTimer: ReturnType<typeof setTimeout> | undefined;

  /** `from`: the offset to stream from; one the log does not hold means "start with a snapshot". */
  constructor(
    private readonly sink: Sink,
    private readonly src: StreamSource,
    from: number,
    /** Called when the socket refused a send outright (closed, or over Bun's hard limit). */
    private readonly onDropped: () => void,
    /** Called after a catch-up moved `sent` forward (the session may let a held program go on). */
    private readonly onProgress: () => void = () => {},
  ) {
    this.sent = from;
  }

  private unacked(): number {
    return this.acked === null ? 0 : this.sent - this.acked;
  }
  /** Over the high watermark: stop sending (both callers do; the time is kept for hurry()). */
  private full(): boolean {
    if (this.sink.bufferedAmount() <= SOCKET_HIGH_BYTES && this.unacked() <= UNACKED_HIGH_BYTES) return false;
    this.fullAt = performance.now();
    return true;
  }
  /** Under the low watermark: ready to catch up. */
  private ready(): boolean {
    return this.sink.bufferedAmount() <= SOCKET_LOW_BYTES && this.unacked() <= UNACKED_LOW_BYTES;
  }

  /** Live output, called for every chunk after it was appended to the log. */
  push(bytes: Uint8Array): void {
    if (this.behind) {
      if (!this.inFlight && this.ready()) void this.catchUp();
      return;
    }
    if (this.full()) {
      this.behind = true;
      return;
    }
    this.send(bytes);
  }

  ack(offset: number): void {
    if (offset > this.sent) offset = this.sent; // cannot have parsed what was never sent
    if (this.acked === null || offset > this.acked) this.acked = offset;
    if (this.behind) void this.catchUp();
  }

  /**
   * The client typed (Ctrl-C in a flood): a browser that is behind, was full a moment ago, or has
   * much in flight, skips to the present now, with a snapshot sent at once, instead of a replay of
   * the output it missed.
   * The page drops what it received but has not parsed yet when the snapshot comes.
   */
  hurry(): void {
    if (this.acked === null || this.closed) return;
    const flooded = this.behind || performance.now() - this.fullAt < HURRY_RECENT_FULL_MS;
    if (!flooded && this.unacked() < HURRY_MIN_UNACKED_BYTES) return;
    this.skip();
  }

  /** Skips to the present with a snapshot now (at most every HURRY_MIN_INTERVAL_MS). */
  private skip(): void {
    if (this.closed) return;
    const now = performance.now();
    if (now - this.hurriedAt < HURRY_MIN_INTERVAL_MS) return;
    this.hurriedAt = now;
    this.skipAhead = true; // this catch-up, or the next one if one is under way
    this.behind = true; // live output waits for the snapshot, which comes first...
    this.holdUntil = now + HURRY_WINDOW_MS; // ...and then for the program to be quiet (watched from the snapshot on)
    // The page stops parsing what it has now rather than when the snapshot is ready (the screen
    // model's parse of a flood's tail took 15-90 ms here while the page went on parsing `yes`).
    this.sink.sendControl({ type: "skip" });
    this.owesSnapshot = true;
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.release(), HURRY_WINDOW_MS); // whatever becomes of the snapshot
    if (!this.inFlight) this.inFlight = this.bringUp().finally(() => (this.inFlight = null));
  }

  /** Ends the hold once the log did not grow for HURRY_QUIET_MS, or at the end of the window. */
  private watchQuiet(end: number): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      const now = this.src.log.end;
      if (now !== end && performance.now() < this.holdUntil) return this.watchQuiet(now);
      this.release();
    }, HURRY_QUIET_MS);
  }

  private release(): void {
    this.endHold();
    void this.catchUp();
  }

  /** The hold is over: what came during it is replayed if small, else skipped with a snapshot. */
  private endHold(): void {
    clearTimeout(this.quietTimer);
    if (this.holdUntil === 0) return;
    this.holdUntil = 0;
    if (this.src.log.end - this.sent > HURRY_REPLAY_BYTES) this.skipAhead = true;
  }

  /** The socket's send queue emptied. */
  drained(): void {
    if (this.behind) void this.catchUp();
  }

  /**
   * The stream is over (the program exited): a catch-up on its way lands first, then the client
   * gets the rest, watermarks aside (at most the log's size; a snapshot if it never had a screen).
   * Bounded by the snapshot deadline.
   */
  async finish(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    clearTimeout(this.retry);
    this.endHold();
    if (this.closed || !this.behind) return;
    const log = this.src.log;
    const skip = (this.skipAhead || this.owesSnapshot) && this.acked !== null;
    this.skipAhead = false;
    if (!log.has(this.sent) || skip) {
      const snap = await this.src.snapshot();
      if (!snap || this.closed) return;
      this.sendSnapshot(snap);
    }
    for (const piece of log.readFrom(this.sent, CATCH_UP_FRAME_BYTES) ?? []) if (!this.closed) this.send(piece);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.quietTimer);
  }

  private send(bytes: Uint8Array): void {
    if (this.sink.sendOutput(bytes) === 0) {
      this.close();
      this.onDropped();
      return;
    }
    this.sent += bytes.length;
  }

  /** Sends a snapshot; the stream goes on from its offset. */
  private sendSnapshot(snap: Omit<SnapshotMessage, "type">): void {
    // During a sustained flood the screen model can trail the log by more than the log holds.
    // Then the snapshot is labelled with the log's start and the stream goes on from there: the
    // bytes in between are skipped (the next redraw covers them; line output redraws at once),
    // and the client's offset stays exact, so a later resume by offset is still lossless.
    snap.offset = Math.max(snap.offset, this.src.log.start);
    this.sink.sendControl({ type: "snapshot", ...snap });
    this.owesSnapshot = false;
    this.sent = snap.offset;
    if (this.acked !== null) this.acked = snap.offset; // it parses nothing older than the snapshot
    this.resyncs++;
  }

  /** Brings the client to the present: from the log while it holds our position, else via a snapshot. */
  catchUp(): Promise<void> {
    if (this.inFlight || this.closed || !this.behind || this.holdUntil !== 0 || !this.ready()) return this.inFlight ?? Promise.resolve();
    this.inFlight = this.bringUp().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async bringUp(): Promise<void> {
    const log = this.src.log;
    const hurried = this.skipAhead || this.owesSnapshot; // only a hurry sets these
    const tooFarForABrowser = this.acked !== null && (hurried || log.end - this.sent > BROWSER_REPLAY_LIMIT_BYTES);
    this.skipAhead = false;
    if (!log.has(this.sent) || tooFarForABrowser) {
      const snap = await this.src.snapshot(hurried ? HURRY_KEEP_BYTES : undefined);
      if (this.closed) return;
      if (!snap || snap.offset > log.end) {
        this.endHold(); // no present to hold on to
        this.retry = setTimeout(() => void this.catchUp(), RESYNC_RETRY_MS);
        return;
      }
      this.sendSnapshot(snap);
    }
    // A hurry's hold: the rest comes once the program is quiet. The session is told of the jump, so
    // a program paused because this client was far behind goes on (and its tail comes out now).
    if (this.holdUntil !== 0) {
      this.watchQuiet(log.end);
      return this.onProgress();
    }
    // One piece at a time: a client that fills up again after a few pieces costs only those copies.
    while (!this.closed && this.sent < log.end) {
      if (this.full()) return this.onProgress(); // still behind: the next drain or ack continues
      const piece = log.read(this.sent, CATCH_UP_FRAME_BYTES);
      if (!piece) return; // overtaken by the log while sending: the next attempt takes a snapshot
      this.send(piece);
    }
    this.behind = this.closed || this.sent !== log.end;
    this.onProgress();
  }
}
