// Owner: client (browser page). The xterm.js terminal (built from the URL's display options), its sizing, and the
// output stream into it with offset accounting and acks (flow control from the browser: the
// server only sends more once we have parsed it).

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { Limits, Query, type SnapshotMessage } from "../protocol/index.ts";
import { layerOptions, OPTIONS_META, parseOptions } from "../protocol/options.ts";
import { THEMES } from "./themes.ts";

/** Ack after this much more output was parsed (and whenever xterm's write queue empties). */
const ACK_EVERY_BYTES = 64 << 10;

/**
 * The display options: the server's defaults (`-t key=value`, in a meta tag of the page), then the
 * URL query (?fontSize=16&theme=light...) over them; main.ts logs the warnings.
 */
export const parsedOptions = layerOptions([
  { name: "server option", parsed: parseOptions(document.querySelector<HTMLMetaElement>(`meta[name="${OPTIONS_META}"]`)?.content ?? "") },
  { name: "URL option", parsed: parseOptions(location.search, Object.values(Query)) },
]);
const opts = parsedOptions.options;
const theme = THEMES[opts.theme];

export const term = new Terminal({
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
// The page around the terminal takes the theme's colours (padding, scrollbar, search box).
const root = document.documentElement.style;
root.setProperty("--bg", theme.colors.background!);
root.setProperty("--fg", theme.colors.foreground!);
root.colorScheme = theme.scheme;
const fit = new FitAddon();
term.loadAddon(fit);
export const container = document.getElementById("terminal")!;
term.open(container);

export interface Size {
  cols: number;
  rows: number;
}
const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));
// The server refuses sizes outside the limits, so a huge window is capped here rather than
// letting the terminal and the PTY disagree.
const limit = (cols: number, rows: number): Size => ({
  cols: clamp(cols, Limits.minCols, Limits.maxCols),
  rows: clamp(rows, Limits.minRows, Limits.maxRows),
});

/** The size that fills the window (whatever size the terminal shows right now). */
export function fittedSize(): Size {
  const d = fit.proposeDimensions();
  return d && d.cols > 0 && d.rows > 0 ? limit(d.cols, d.rows) : limit(term.cols, term.rows);
}

/** Resizes the terminal to fill the window. */
export function fitToWindow(): void {
  fit.fit();
  resizeTo(limit(term.cols, term.rows));
}

export function resizeTo(s: Size): void {
  if (s.cols !== term.cols || s.rows !== term.rows) term.resize(s.cols, s.rows);
}

/**
 * xterm parses writes asynchronously while reset() and resize() act at once; going through the
 * write queue applies them between the bytes before and after, as the program meant.
 */
export function inOrder(fn: () => void): void {
  term.write("", fn);
}

/** Output accounting: absolute offsets received and parsed, and when to ack. */
export class Stream {
  /** Offset after the last byte received; null until hello or a snapshot says where we are. */
  offset: number | null = null;
  private parsed = 0;
  private acked = 0;
  private pending = 0;
  /** Bumped when offsets start over (a new session), so late callbacks of the old one are ignored. */
  private epoch = 0;

  constructor(private readonly sendAck: (offset: number) => void) {}

  /** The stream (re)starts at `offset`: a new session, or a resume from the log. */
  startAt(offset: number, newSession: boolean): void {
    if (newSession) {
      this.epoch++;
      this.parsed = this.acked = offset;
    }
    this.offset = offset;
  }

  bytes(data: Uint8Array): void {
    if (this.offset === null) return; // no position yet: a snapshot is due and replaces everything
    this.offset += data.byteLength;
    this.write(data, this.offset);
  }

  /** Replaces the screen with a snapshot (drawn for its cols x rows); `after` runs once it is parsed. */
  snapshot(m: SnapshotMessage, after: () => void): void {
    this.offset = m.offset;
    inOrder(() => {
      term.reset();
      resizeTo({ cols: m.cols, rows: m.rows }); // the data was drawn for this size
    });
    this.write(m.data, m.offset);
    inOrder(after);
  }

  private write(data: Uint8Array | string, end: number): void {
    const epoch = this.epoch;
    this.pending++;
    term.write(data, () => {
      this.pending--;
      if (epoch !== this.epoch) return;
      if (end > this.parsed) this.parsed = end;
      if (this.parsed - this.acked >= ACK_EVERY_BYTES || (this.pending === 0 && this.parsed > this.acked)) {
        this.acked = this.parsed;
        this.sendAck(this.parsed);
      }
    });
  }
}
