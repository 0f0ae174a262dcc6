// Owner: client (browser page). The page's state as tests and devtools see it (`window.bunty`), and the status badge showing it.

import { CloseCode, Query, type ExitMessage, type Resumed } from "../protocol/index.ts";
import { DEFAULT_OPTIONS, type PageOptions } from "../protocol/options.ts";
import type { Renderer } from "./renderer.ts";
import type { TransferState } from "./transfer.ts";

export type State = "connecting" | "live" | "reconnecting" | "ended";

/** What tests and devtools read; the fields are kept up to date. */
export interface Bunty {
  session: string | null;
  offset: number | null;
  writer: boolean;
  mode: "write" | "view";
  state: State;
  /** How the last attach resumed the stream. */
  resumed: Resumed | null;
  /** Snapshots received (at attach, or after falling behind). */
  snapshots: number;
  socket: WebSocket | null;
  /** The renderer drawing the terminal: "webgl", or "dom" (no WebGL2, or its context was lost). */
  renderer: Renderer;
  /** xterm's screen reader mode (?screenReader=true, Ctrl+Shift+A toggles). */
  screenReader: boolean;
  /** The display options in effect (defaults plus the valid ones from the URL query). */
  options: PageOptions;
  /** Whether the touch toolbar is shown (coarse pointer). */
  toolbar: boolean;
  /** File transfer: uploads (dropped files) and downloads offered by bunty-get, newest last. */
  transfer: TransferState;
}

const NOTICE_MS = 2000;

const params = new URLSearchParams(location.search);
export const bunty: Bunty = {
  session: params.get(Query.session) || null,
  offset: null,
  writer: false,
  mode: params.get(Query.mode) === "view" ? "view" : "write",
  state: "connecting",
  resumed: null,
  snapshots: 0,
  socket: null,
  renderer: "dom",
  screenReader: false,
  options: { ...DEFAULT_OPTIONS },
  toolbar: false,
  transfer: { uploads: [], downloads: [] },
};

/** Details the badge shows besides `bunty`. */
export const shown = {
  /** When the next reconnect attempt starts (ms since epoch), while one is scheduled. */
  retryAt: null as number | null,
  endedText: "",
};

const badge = document.getElementById("status")!;
let notice = "";
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let countdown: ReturnType<typeof setInterval> | undefined;

export function render(): void {
  let text: string;
  switch (bunty.state) {
    case "connecting":
      text = "connecting";
      break;
    case "live":
      text = bunty.mode === "view" ? "live · view only" : bunty.writer ? "live" : "live · watching (typing elsewhere)";
      break;
    case "reconnecting": {
      const s = shown.retryAt === null ? 0 : Math.ceil((shown.retryAt - Date.now()) / 1000);
      text = s > 0 ? `reconnecting in ${s} s` : "reconnecting";
      break;
    }
    case "ended":
      text = shown.endedText;
  }
  badge.dataset.state = notice ? "notice" : bunty.state;
  badge.textContent = notice || text;
  const counting = bunty.state === "reconnecting" && shown.retryAt !== null;
  if (counting && countdown === undefined) countdown = setInterval(render, 250);
  if (!counting && countdown !== undefined) countdown = void clearInterval(countdown);
}

export function setState(s: State): void {
  bunty.state = s;
  render();
}

/** Shows `text` in the badge for a moment. */
export function flash(text: string): void {
  notice = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    notice = "";
    render();
  }, NOTICE_MS);
  render();
}

/** The badge text for a close that ends the session, or null when the client should reconnect. */
export function endText(code: number, reason: string, exit: ExitMessage | null): string | null {
  switch (code) {
    case CloseCode.normal:
      if (!exit) return "ended";
      return exit.signal ? `ended (killed by ${exit.signal})` : `ended (exit code ${exit.code ?? "?"})`;
    case CloseCode.sessionEnded:
      return `ended by the server (${reason || "no reason"})`;
    case CloseCode.sessionNotFound:
      return "ended (session not found)";
    case CloseCode.tooManySessions:
      return `refused: ${reason || "too many sessions"}`;
    case CloseCode.spawnFailed:
      return `could not start (${reason || "no reason"})`;
  }
  return null;
}
