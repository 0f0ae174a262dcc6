// Owner: client (browser page). Predictive local echo, the rule (mosh's idea; VS Code calls it
// typeahead): which keystrokes may be shown before the server echoes them, where, and when a
// prediction is confirmed or rolled back. Pure: it reads a Screen (the terminal's buffer, as the
// server's output left it) and never writes to it; predict-view.ts draws what view() returns.
//
// The rule (docs/client.md, "Predictive echo"):
// - A line of predictions starts at the cursor, with the first keystroke of an epoch. Its
//   predictions are shown only once the server has echoed one of them (mosh's epochs): a program
//   that does not echo (a password prompt behind ssh, `read -s` before the page hears of it) never
//   has a character shown. A new epoch starts on Enter, an unpredictable key, a misprediction,
//   output we did not predict (a cursor move, other text), a termmode change, the alternate
//   screen, a resize, a snapshot: the caller calls reset() for those it sees.
// - Each keystroke is a predicted state of the line (its cells from the start column, and the
//   cursor). Output that makes the screen equal one of them confirms it and every earlier one;
//   output that makes it equal none of them (nor the confirmed state) is a misprediction: all
//   are dropped. So is a prediction the server has not confirmed in time.
// - Predicted: printable characters (inserted at the cursor, as readline and the kernel's line
//   discipline do); Backspace over characters typed in this line; Left and Right within them
//   (only where the program edits lines itself, as readline does). Anything else ends the line.

/** What the engine reads of the terminal. Rows are absolute (scrollback included). */
export interface Screen {
  readonly cols: number;
  cursor(): { x: number; row: number };
  /** The character in a cell, " " when blank. */
  char(row: number, col: number): string;
  /** A handle on the cursor's row that follows it as the buffer scrolls; line < 0 once gone. */
  markRow(): { readonly line: number; dispose(): void };
}

/** How the program takes typing, from the terminal's modes (termmode): what may be predicted. */
export interface Allowed {
  /** Characters (never with echo off and canonical on: a password). */
  insert: boolean;
  /** Backspace (the program or the kernel erases: readline, cooked mode). */
  erase: boolean;
  /** Left and Right (the program edits the line itself: readline). */
  move: boolean;
}

/** Only characters one cell wide, whose echo is themselves: ASCII, Latin, Greek, Cyrillic. */
const PREDICTABLE = /^[\x20-\x7e\u00a0-\u024f\u0370-\u03ff\u0400-\u04ff]$/u;

interface State {
  /** The line's cells from its start column (" " blank). */
  cells: string[];
  /** The cursor, as an offset from the start column. */
  cursor: number;
  /** When the keystroke was typed (ms). */
  at: number;
}
interface Line {
  row: { readonly line: number; dispose(): void };
  start: number;
  /** The last state the server's output showed. */
  base: State;
  /** Predicted states after it, oldest first. */
  pending: State[];
  /** Cells [start, start + extent) are compared with the screen: every cell any state has had. */
  extent: number;
  /** The server has echoed one of this line's predictions: they are shown. */
  shown: boolean;
  /** No more predictions in this line (Enter, a key we cannot predict): its pending ones may still be confirmed. */
  closed: boolean;
}

export interface PredictionStats {
  /** Predictions the server's output confirmed. */
  confirmed: number;
  /** Lines dropped because the output differed from every prediction (only those shown count as visible mistakes). */
  mispredicted: number;
  /** Of those, lines whose predictions were on the screen when they were dropped. */
  shownWrong: number;
  /** Lines dropped because the server did not confirm in time. */
  expired: number;
  epoch: number;
}

export interface PredictionView {
  row: number;
  /** Cells to draw over the screen (" ": a cell predicted blank, drawn as background). */
  cells: { col: number; ch: string }[];
  /** The predicted cursor column, when it differs from the real one. */
  cursor: number | null;
}

export type Key = { kind: "insert"; ch: string } | { kind: "erase" } | { kind: "left" } | { kind: "right" } | { kind: "enter" } | { kind: "other" };

/** What one piece of input (xterm's onData) is to the predictor. */
export function classify(data: string, applicationCursor: boolean): Key {
  if (data === "\r") return { kind: "enter" };
  if (data === "\x7f" || data === "\b") return { kind: "erase" };
  if (data === (applicationCursor ? "\x1bOD" : "\x1b[D")) return { kind: "left" };
  if (data === (applicationCursor ? "\x1bOC" : "\x1b[C")) return { kind: "right" };
  if (PREDICTABLE.test(data)) return { kind: "insert", ch: data };
  return { kind: "other" }; // control keys, Tab (completion), history, pastes, IME text: the program decides
}

export class Predictor {
  private line: Line | null = null;
  readonly stats: PredictionStats = { confirmed: 0, mispredicted: 0, shownWrong: 0, expired: 0, epoch: 0 };

  constructor(private readonly screen: Screen) {}

  /** Whether a line of predictions is open or waiting (for tests and window.bunty). */
  get pending(): number {
    return this.line?.pending.length ?? 0;
  }
  /** When the oldest unconfirmed prediction was typed (ms), or null. */
  get oldest(): number | null {
    return this.line?.pending[0]?.at ?? null;
  }

  /** A keystroke the user sent to the program, with what the program's modes allow (null: predict nothing). */
  key(k: Key, allowed: Allowed | null, now: number): void {
    if (!allowed) return this.reset();
    let line = this.line;
    if (line?.closed) {
      if (line.pending.length > 0) return; // the line ends with what is in flight; this key changes what follows
      line = this.drop();
    }
    if (k.kind === "enter" || k.kind === "other") {
      if (line) line.closed = true;
      if (line && line.pending.length === 0) this.drop();
      return;
    }
    if (!line) {
      if (k.kind !== "insert") return; // erasing or moving over text this line did not type: not ours to predict
      line = this.open();
      if (!line) return;
    }
    const prev = line.pending.at(-1) ?? line.base;
    const next = this.apply(prev, k, allowed, now);
    if (!next || line.start + Math.max(next.cells.length, next.cursor) >= this.screen.cols - 1) {
      // Not exact (before the line's start, past its text, a mode that does not allow it) or at the
      // right margin (the wrap is the program's business): end the line here.
      line.closed = true;
      if (line.pending.length === 0) this.drop();
      return;
    }
    line.extent = Math.max(line.extent, next.cells.length, prev.cells.length);
    line.pending.push(next);
  }

  private apply(s: State, k: Key, allowed: Allowed, now: number): State | null {
    const cells = s.cells.slice();
    switch (k.kind) {
      case "insert":
        if (!allowed.insert) return null;
        while (cells.length < s.cursor) cells.push(" ");
        cells.splice(s.cursor, 0, k.ch);
        return { cells: trimEnd(cells), cursor: s.cursor + 1, at: now };
      case "erase":
        if (!allowed.erase || s.cursor === 0) return null;
        cells.splice(s.cursor - 1, 1);
        return { cells: trimEnd(cells), cursor: s.cursor - 1, at: now };
      case "left":
        return allowed.move && s.cursor > 0 ? { cells, cursor: s.cursor - 1, at: now } : null;
      case "right":
        return allowed.move && s.cursor < cells.length ? { cells, cursor: s.cursor + 1, at: now } : null;
    }
    return null;
  }

  private open(): Line | null {
    const { x, row } = this.screen.cursor();
    if (x >= this.screen.cols - 1) return null;
    const cells: string[] = [];
    for (let c = x; c < this.screen.cols; c++) cells.push(this.screen.char(row, c));
    const base = { cells: trimEnd(cells), cursor: 0, at: 0 };
    this.stats.epoch++;
    this.line = { row: this.screen.markRow(), start: x, base, pending: [], extent: base.cells.length, shown: false, closed: false };
    return this.line;
  }

  /** Does the screen show state `s` (cells, and the cursor unless `cellsOnly`)? */
  private shows(line: Line, s: State, cellsOnly = false): boolean {
    const row = line.row.line;
    if (row < 0) return false;
    if (!cellsOnly) {
      const c = this.screen.cursor();
      if (c.row !== row || c.x !== line.start + s.cursor) return false;
    }
    for (let i = 0; i < line.extent; i++) if (this.screen.char(row, line.start + i) !== (s.cells[i] ?? " ")) return false;
    return true;
  }

  /** The server's output was parsed: confirm what it shows, or drop the line when it shows none of it. */
  parsed(): void {
    const line = this.line;
    if (!line) return;
    // The oldest state the screen shows: the program goes through them in order, and two can be
    // alike (Left, X, Backspace comes back to the state after Left); taking the newer would confirm
    // keystrokes still on their way, and their echo would then look wrong. Taking the older at worst
    // leaves an alike state waiting, which shows nothing (it is on the screen) and is confirmed or expires.
    for (let k = 0; k < line.pending.length; k++) {
      if (this.shows(line, line.pending[k]!)) {
        this.stats.confirmed += k + 1;
        line.base = line.pending[k]!;
        line.pending = line.pending.slice(k + 1);
        line.shown = true;
        if (line.closed && line.pending.length === 0) this.drop();
        return;
      }
    }
    if (this.shows(line, line.base)) return; // nothing echoed yet
    // A line ended by Enter: its text is there, the cursor went on to the next line. Confirmed.
    const last = line.pending.at(-1);
    if (line.closed && last && this.shows(line, last, true)) {
      this.stats.confirmed += line.pending.length;
      this.drop();
      return;
    }
    if (line.pending.length > 0) {
      this.stats.mispredicted++;
      if (line.shown) this.stats.shownWrong++;
    }
    this.drop(); // the screen changed in a way we did not predict: a new epoch
  }

  /** Drops predictions the server has not confirmed within `timeoutMs` (a glitch: a new epoch). */
  expire(now: number, timeoutMs: number): void {
    const oldest = this.oldest;
    if (oldest === null || now - oldest < timeoutMs) return;
    this.stats.expired++;
    this.drop();
  }

  /** An epoch boundary the caller saw (termmode, alternate screen, resize, snapshot, not the writer...): nothing is predicted until the next keystroke. */
  reset(): void {
    this.drop();
  }

  private drop(): null {
    this.line?.row.dispose();
    this.line = null;
    return null;
  }

  /** What to draw: the newest predicted state where it differs from the screen; null when nothing is shown. */
  view(): PredictionView | null {
    const line = this.line;
    const last = line?.pending.at(-1);
    if (!line || !last || !line.shown) return null;
    const row = line.row.line;
    if (row < 0) return null;
    const cells: { col: number; ch: string }[] = [];
    for (let i = 0; i < line.extent; i++) {
      const ch = last.cells[i] ?? " ";
      if (this.screen.char(row, line.start + i) !== ch) cells.push({ col: line.start + i, ch });
    }
    const c = this.screen.cursor();
    const cursor = line.start + last.cursor;
    return { row, cells, cursor: c.row === row && c.x === cursor ? null : cursor };
  }
}

function trimEnd(cells: string[]): string[] {
  let n = cells.length;
  while (n > 0 && cells[n - 1] === " ") n--;
  return n === cells.length ? cells : cells.slice(0, n);
}
