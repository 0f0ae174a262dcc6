// Owner: client (browser page). Predictive echo for one pane: when to predict (the mode, the
// measured round trip, the terminal's modes, the alternate screen, being the writer), feeding the
// rule (predict.ts) with keystrokes and parsed output, and drawing its predictions in an overlay
// over the terminal's screen. The overlay is DOM of our own above xterm's rows: it never writes
// to xterm's buffer, so the buffer is always exactly what the server sent. docs/client.md.

import type { IDisposable, Terminal } from "@xterm/xterm";
import type { Connection } from "./connection.ts";
import { classify, Predictor, type Allowed, type PredictionStats, type Screen } from "./predict.ts";
import type { TerminalView } from "./terminal.ts";
import type { PredictMode } from "../protocol/workspace-options.ts";

/**
 * `auto` predicts once the round trip passes ON, and stops below OFF (mosh: 30 and 20 ms). The
 * figure is the least of the last RTT_WINDOW samples (about 10 s of pings), not the smoothed one:
 * a sample also counts the page's and the server's busy moments (a page loading its panes, a
 * flood being drawn), which a loopback link must not take for a slow one; the link's own delay
 * is in every sample, so the least one still shows it.
 */
export const AUTO_ON_MS = 30;
export const AUTO_OFF_MS = 20;
const RTT_WINDOW = 5;
/**
 * A prediction the server has not confirmed within this long is dropped (a glitch; a new epoch
 * follows): at least TIMEOUT_MIN_MS, and more on a slow link, so that a late echo is not taken
 * for a wrong one. (VS Code: max(500 ms, 1.5 x the worst latency); mosh flags 250 ms as a glitch.)
 */
const TIMEOUT_MIN_MS = 1000;
const timeoutFor = (srtt: number | null) => Math.max(TIMEOUT_MIN_MS, 2 * (srtt ?? 0) + 500);

/** What window.bunty shows of a pane's prediction. */
export interface PredictionState extends PredictionStats {
  mode: PredictMode;
  /** Whether a keystroke now would be predicted. */
  active: boolean;
  /** Predicted cells drawn right now. */
  shown: number;
  /** Keystrokes predicted and not yet confirmed. */
  pending: number;
}

export interface Prediction {
  /** Every piece of input the user sends to the program (xterm's onData), in order. */
  input(data: string): void;
  readonly state: PredictionState;
  dispose(): void;
}

/** The terminal's active buffer, as the rule reads it. */
function screenOf(term: Terminal): Screen {
  return {
    get cols() {
      return term.cols;
    },
    cursor() {
      const b = term.buffer.active;
      return { x: b.cursorX, row: b.baseY + b.cursorY };
    },
    char(row, col) {
      return term.buffer.active.getLine(row)?.getCell(col)?.getChars() || " ";
    },
    markRow() {
      const marker = term.registerMarker(0);
      return { get line() { return marker.isDisposed ? -1 : marker.line; }, dispose: () => marker.dispose() };
    },
  };
}

export function setupPrediction(view: TerminalView, conn: Connection, mode: PredictMode): Prediction {
  const term = view.term;
  const predictor = new Predictor(screenOf(term));
  let slow = false;
  const samples: number[] = [];
  let shown = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let overlay: HTMLElement | null = null;

  /** What the program's modes let us predict now; null: nothing. */
  function allowed(): Allowed | null {
    if (mode === "off" || (mode === "auto" && !slow)) return null;
    if (conn.state !== "live" || conn.mode !== "write" || !conn.writer) return null;
    if (term.buffer.active.type !== "normal") return null; // vim, less, htop: never
    const m = conn.termMode;
    if (!m || (!m.echo && m.canonical)) return null; // not told yet, or echo off: a password
    // Readline (both off) edits the line itself; cooked mode (both on): the kernel echoes and erases.
    // A cursor at the start of an empty line has no prompt before it: likely a command the shell
    // started without printing anything since (the server then still reports readline's modes,
    // read with the last output), where the kernel echoes Left as ^[[D: arrows are not predicted there.
    const b = term.buffer.active;
    const noPrompt = b.cursorX === 0 && (b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? "") === "";
    return { insert: true, erase: m.echo === m.canonical, move: !m.echo && !m.canonical && !noPrompt };
  }

  function draw(): void {
    const v = predictor.view();
    const b = term.buffer.active;
    const y = v ? v.row - b.viewportY : -1;
    const screen = term.element?.querySelector<HTMLElement>(".xterm-screen");
    if (!v || !screen || y < 0 || y >= term.rows || (v.cells.length === 0 && v.cursor === null)) {
      if (overlay?.firstChild) overlay.replaceChildren();
      shown = 0;
      return;
    }
    if (!overlay || overlay.parentElement !== screen) {
      overlay = document.createElement("div");
      overlay.className = "predictions";
      overlay.setAttribute("aria-hidden", "true"); // a screen reader reads what the server sent
      screen.append(overlay);
    }
    const w = screen.clientWidth / term.cols;
    const h = screen.clientHeight / term.rows;
    const theme = term.options.theme ?? {};
    overlay.style.font = `${term.options.fontSize}px ${term.options.fontFamily}`;
    overlay.style.setProperty("--predict-fg", theme.foreground ?? "#c0caf5");
    overlay.style.setProperty("--predict-bg", theme.background ?? "#1a1b26");
    overlay.style.setProperty("--predict-cursor", theme.cursor ?? theme.foreground ?? "#c0caf5");
    const place = (e: HTMLElement, col: number) => {
      Object.assign(e.style, { left: `${col * w}px`, top: `${y * h}px`, width: `${w}px`, height: `${h}px`, lineHeight: `${h}px` });
      return e;
    };
    const spans = v.cells.map((c) => {
      const s = place(document.createElement("span"), c.col);
      s.className = c.ch === " " ? "predicted erased" : "predicted";
      s.textContent = c.ch;
      return s;
    });
    if (v.cursor !== null) {
      const cur = place(document.createElement("span"), v.cursor);
      cur.className = "predicted-cursor";
      spans.push(cur);
    }
    overlay.replaceChildren(...spans);
    shown = v.cells.length;
  }

  /** Drops unconfirmed predictions in time; one timer, for the oldest. */
  function watch(): void {
    clearTimeout(timer);
    timer = undefined;
    const oldest = predictor.oldest;
    if (oldest === null) return;
    const ms = timeoutFor(conn.srtt);
    timer = setTimeout(() => {
      timer = undefined;
      predictor.expire(performance.now(), ms);
      draw();
      watch();
    }, Math.max(0, oldest + ms - performance.now()));
  }

  const reset = () => {
    predictor.reset();
    draw();
    watch();
  };
  const subs: IDisposable[] = [
    conn.on("rtt", (sample) => {
      samples.push(sample);
      if (samples.length > RTT_WINDOW) samples.shift();
      const link = Math.min(...samples);
      if (link > AUTO_ON_MS) slow = true;
      else if (link < AUTO_OFF_MS) slow = false;
    }),
    // Epoch boundaries the rule cannot see in the buffer.
    conn.on("termmode", reset),
    conn.on("snapshot", reset),
    conn.on("hello", reset),
    conn.on("role", reset),
    conn.on("state", () => conn.state !== "live" && reset()),
    term.buffer.onBufferChange(reset), // into or out of the alternate screen
    term.onResize(reset), // lines reflow
    term.onWriteParsed(() => {
      predictor.parsed();
      draw();
      watch();
    }),
    term.onRender(() => overlay?.firstChild && draw()), // scrolled, refitted
  ];

  return {
    input(data) {
      predictor.key(classify(data, term.modes.applicationCursorKeysMode), allowed(), performance.now());
      draw();
      watch();
    },
    get state(): PredictionState {
      return { ...predictor.stats, mode, active: allowed() !== null, shown, pending: predictor.pending };
    },
    dispose() {
      for (const s of subs) s.dispose();
      clearTimeout(timer);
      predictor.reset();
      overlay?.remove();
    },
  };
}
