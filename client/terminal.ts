// Owner: client (browser page). A terminal view: one xterm.js terminal (built from the display
// options) in its container, its sizing, and the output stream into it with offset accounting and
// acks (flow control from the browser: the server only sends more once we have parsed it).
// createTerminal() makes one per pane; nothing here runs at import.

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { Limits, type SnapshotMessage } from "../protocol/index.ts";
import type { PageOptions } from "../protocol/options.ts";
import { THEMES } from "./themes.ts";

/** Ack after this much more output was parsed (and whenever xterm's write queue empties). */
const ACK_EVERY_BYTES = 64 << 10;
/**
 * At most this much output is handed to xterm ahead of its parser, in pieces of at most this size;
 * the rest waits in the stream's own queue. A snapshot (or the server's `skip` before it) makes
 * everything queued moot (it redraws the whole screen), so it drops that queue: Ctrl-C in a flood
 * shows its prompt without first parsing the 192 KiB the server had in flight (protocol:
 * UNACKED_HIGH_BYTES in server/core/delivery.ts); what xterm already has is parsed first (16 KiB
 * of `yes` is 4-8 ms in headless chromium here; 64 KiB, the earlier value, 20-30 ms). xterm never
 * waits for us: each piece's write callback hands it the next one within the same parsing slice.
 */
export const FEED_AHEAD_BYTES = 16 << 10;

export interface Size {
  cols: number;
  rows: number;
}

export interface TerminalView {
  readonly term: Terminal;
  readonly fit: FitAddon;
  /** The element the terminal fills (its size is the pane's). */
  readonly container: HTMLElement;
  /** What this screen has received and parsed, as absolute offsets of its session's output. */
  readonly stream: Stream;
  /** The size that fills the container (whatever size the terminal shows right now). */
  fittedSize(): Size;
  /** Resizes the terminal to fill the container. */
  fitToWindow(): void;
  resizeTo(s: Size): void;
  /**
   * xterm parses writes asynchronously while reset() and resize() act at once; going through the
   * write queue applies them between the bytes before and after, as the program meant.
   */
  inOrder(fn: () => void): void;
  /** Disposes the terminal and its addons (the container is left empty). */
  dispose(): void;
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));
// The server refuses sizes outside the limits, so a huge window is capped here rather than
// letting the terminal and the PTY disagree.
const limit = (cols: number, rows: number): Size => ({
  cols: clamp(cols, Limits.minCols, Limits.maxCols),
  rows: clamp(rows, Limits.minRows, Limits.maxRows),
});

/** Opens a terminal in `container`. It observes nothing: whoever shows a session in it decides when to refit (connection.ts). */
export function createTerminal(container: HTMLElement, opts: PageOptions): TerminalView {
  const theme = THEMES[opts.theme];
  const term = new Terminal({
    fontFamily: opts.fontFamily,
    fontSize: opts.fontSize,
    cursorStyle: opts.cursorStyle,
    cursorBlink: opts.cursorBlink,
    scrollback: opts.scrollback,
    screenReaderMode: opts.screenReader,
    theme: theme.colors,
    minimumContrastRatio: theme.minimumContrastRatio,
    // Right-click means copy (with a selection) or paste (keys.ts), on every platform.
    rightClickSelectsWord: false,
    // term.unicode (Unicode 11 widths) and decorations (search highlights) are "proposed" API.
    allowProposedApi: true,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);

  const resizeTo = (s: Size) => {
    if (s.cols !== term.cols || s.rows !== term.rows) term.resize(s.cols, s.rows);
  };
  const stream = new Stream(term, resizeTo);
  const inOrder = (fn: () => void) => stream.inOrder(fn);
  return {
    term,
    fit,
    container,
    stream,
    fittedSize() {
      const d = fit.proposeDimensions();
      return d && d.cols > 0 && d.rows > 0 ? limit(d.cols, d.rows) : limit(term.cols, term.rows);
    },
    fitToWindow() {
      fit.fit();
      resizeTo(limit(term.cols, term.rows));
    },
    resizeTo,
    inOrder,
    dispose: () => term.dispose(),
  };
}

type Queued = { data: Uint8Array | string; end: number; epoch: number } | { fn: () => void };

/**
 * Output accounting: absolute offsets received and parsed, and when to ack; the queue of output
 * not yet handed to xterm (FEED_AHEAD_BYTES), which a snapshot drops. The queue is bounded by the
 * server's window: it sends at most UNACKED_HIGH_BYTES past what we acked, and we ack only what
 * xterm parsed.
 */
export class Stream {
  /** Offset after the last byte received; null until hello or a snapshot says where we are. */
  offset: number | null = null;
  /** Where acks go: set by the connection showing a session in this view (its socket). */
  onAck: (offset: number) => void = () => {};
  /** Bytes of output dropped unparsed because a snapshot replaced them (tests/browser/stream.test.ts reads it). */
  dropped = 0;
  private parsed = 0;
  private acked = 0;
  /** Writes handed to xterm whose callback has not run yet, and their bytes. */
  private pending = 0;
  private ahead = 0;
  private readonly queue: Queued[] = [];
  /** Bumped when offsets start over (a new session), so late callbacks of the old one are ignored. */
  private epoch = 0;

  constructor(
    private readonly term: Terminal,
    private readonly resizeTo: (s: Size) => void,
  ) {}

  /** The stream (re)starts at `offset`: a new session, or a resume from the log. */
  startAt(offset: number, newSession: boolean): void {
    if (newSession) {
      this.epoch++;
      this.parsed = this.acked = offset;
    }
    this.offset = offset;
  }

  bytes(data: Uint8Array): void {
    if (this.offset === null) {
      this.dropped += data.byteLength; // no position yet: a snapshot is due and replaces everything
      return;
    }
    this.offset += data.byteLength;
    this.push({ data, end: this.offset, epoch: this.epoch });
  }

  /** Runs `fn` once everything received before it is parsed (in order with the output). */
  inOrder(fn: () => void): void {
    this.push({ fn });
  }

  /**
   * A snapshot is coming (the server's `skip`): output not handed to xterm yet is dropped now, and
   * so is whatever comes before the snapshot (no position until it says where we are; a reconnect
   * meanwhile asks for a snapshot too).
   */
  skip(): void {
    this.offset = null;
    this.dropQueued();
  }

  private dropQueued(): void {
    // Output queued before it would be drawn and then wiped by the reset: dropped, unparsed.
    // (Functions queued meanwhile still run, in order: a resize, a reset, the end of a session.)
    const kept = this.queue.filter((q) => "fn" in q);
    for (const q of this.queue) if (!("fn" in q)) this.dropped += q.data.length;
    this.queue.splice(0, this.queue.length, ...kept);
  }

  /** Replaces the screen with a snapshot (drawn for its cols x rows); `after` runs once it is parsed. */
  snapshot(m: SnapshotMessage, after: () => void): void {
    this.offset = m.offset;
    this.dropQueued();
    this.push({ fn: () => {
      this.term.reset();
      this.resizeTo({ cols: m.cols, rows: m.rows }); // the data was drawn for this size
    } });
    this.push({ data: m.data, end: m.offset, epoch: this.epoch });
    this.push({ fn: after });
  }

  private push(q: Queued): void {
    this.queue.push(q);
    this.pump();
  }

  /** Hands queued output to xterm while less than FEED_AHEAD_BYTES of it is unparsed there. */
  private pump(): void {
    while (this.queue.length > 0 && this.ahead < FEED_AHEAD_BYTES) {
      const next = this.queue.shift()!;
      if ("fn" in next) {
        this.pending++;
        this.term.write("", () => {
          this.pending--;
          next.fn();
          this.parsedSome();
        });
        continue;
      }
      let q = next;
      if (typeof q.data !== "string" && q.data.length > FEED_AHEAD_BYTES) {
        // The frame's head now, the rest at the queue's front (views, no copies).
        const rest = q.data.subarray(FEED_AHEAD_BYTES);
        this.queue.unshift({ data: rest, end: q.end, epoch: q.epoch });
        q = { data: q.data.subarray(0, FEED_AHEAD_BYTES), end: q.end - rest.length, epoch: q.epoch };
      }
      const size = q.data.length;
      this.pending++;
      this.ahead += size;
      this.term.write(q.data, () => {
        this.pending--;
        this.ahead -= size;
        if (q.epoch === this.epoch && q.end > this.parsed) this.parsed = q.end;
        this.parsedSome();
        this.pump();
      });
    }
  }

  private parsedSome(): void {
    if (this.parsed - this.acked >= ACK_EVERY_BYTES || (this.pending === 0 && this.queue.length === 0 && this.parsed > this.acked)) {
      this.acked = this.parsed;
      this.onAck(this.parsed);
    }
  }
}
