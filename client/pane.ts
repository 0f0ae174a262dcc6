// Owner: client (browser page). One pane of the workspace: its element (a header with the
// program's title and the session's state, and the terminal), its terminal view and connection,
// and the features that belong to one terminal (badge, addons, keys, prediction, renderer, the
// input path). What panes share (search box, file transfer, touch toolbar) comes from the host.
// createPane() builds and wires one; dispose() undoes all of it and removes the element.

import type { ImageAddon } from "@xterm/addon-image";
import type { IDisposable } from "@xterm/xterm";
import type { PageOptions } from "../protocol/options.ts";
import { loadAddons } from "./addons.ts";
import { createConnection, type Connection } from "./connection.ts";
import { setupKeys } from "./keys.ts";
import type { PaneSpec } from "./layout.ts";
import { setupPrediction, type Prediction } from "./predict-view.ts";
import { useBestRenderer, type Renderer } from "./renderer.ts";
import type { SearchBox } from "./search.ts";
import { createBadge, type Notify } from "./status.ts";
import { createTerminal, type TerminalView } from "./terminal.ts";
import type { Touch } from "./toolbar.ts";
import type { Transfer } from "./transfer.ts";
import type { PredictMode } from "../protocol/workspace-options.ts";

/**
 * Probing the GPU creates WebGL contexts, 20-100 ms of main thread on a cold browser: done once
 * the first output is on the screen (or after RENDERER_WAIT_MS), so it does not delay the prompt.
 * Until then the terminal draws with the DOM renderer.
 */
const RENDERER_WAIT_MS = 1000;

/** What the workspace gives every pane. */
export interface PaneHost {
  readonly display: PageOptions;
  readonly predict: PredictMode;
  readonly search: SearchBox;
  readonly transfer: Transfer;
  readonly touch: Touch | null;
  /** The pane got the keyboard focus. */
  focused(pane: Pane): void;
  /** Its title, state or session changed (the tab bar, the address and the document title follow). */
  changed(pane: Pane): void;
  /** A notice from one of the pane's features, for the page's badge too when the pane is focused. */
  notice(pane: Pane, text: string): void;
}

/** How a pane shows its session: what the header's dot and the tab's dot say. */
export type PaneState = "connecting" | "live" | "view" | "watching" | "draining" | "reconnecting" | "ended";

export interface Pane {
  readonly id: number;
  readonly element: HTMLElement;
  readonly view: TerminalView;
  readonly conn: Connection;
  readonly images: ImageAddon;
  readonly prediction: Prediction;
  readonly renderer: Renderer;
  /** The program's title (OSC 0/2), else the command's name. */
  readonly title: string;
  /** The program's title alone ("" until it sets one). */
  readonly oscTitle: string;
  readonly state: PaneState;
  /** The pane as the address spells it: an ended session is not there any more (a reload starts a new one). */
  readonly spec: PaneSpec;
  focus(): void;
  /** Shows a notice in the pane's badge (and the page's, when focused). */
  readonly notify: Notify;
  dispose(): void;
}

let nextId = 1;

/** `mount` puts the pane's element into the page before its terminal opens (xterm measures its font there). */
export function createPane(host: PaneHost, spec: PaneSpec, marks: boolean, mount: (element: HTMLElement) => void): Pane {
  const id = nextId++;
  const element = document.createElement("section");
  element.className = "pane";
  element.dataset.pane = String(id);
  const head = document.createElement("div");
  head.className = "pane-head";
  const titleEl = document.createElement("span");
  titleEl.className = "pane-title";
  const statusEl = document.createElement("span");
  statusEl.className = "pane-status";
  head.append(titleEl, statusEl);
  const box = document.createElement("div");
  box.className = "pane-term";
  element.append(head, box);
  mount(element);

  const view = createTerminal(box, host.display);
  const conn = createConnection(view, { session: spec.session, mode: spec.mode === "view" ? "view" : null, share: spec.share, marks });
  const badge = createBadge(statusEl, conn);
  let programTitle = "";
  let renderer: Renderer = "dom";
  let rendererHandle: IDisposable | null = null;
  let disposed = false;
  // Features' notices: the pane's badge, and the page's when the pane is focused.
  const notify: Notify = (text) => {
    badge.flash(text);
    host.notice(pane, text);
  };
  const images = loadAddons(view.term, { clipboard: conn, notify });
  const prediction = setupPrediction(view, conn, host.predict);
  const keys = setupKeys(view, host.display.copyOnSelect, { openSearch: () => host.search.open(view.term), notify });
  const offers = host.transfer.watch(conn);

  const pane: Pane = {
    id,
    element,
    view,
    conn,
    images,
    prediction,
    get renderer() {
      return renderer;
    },
    get title() {
      return programTitle || (conn.command[0]?.split("/").pop() ?? "") || "terminal";
    },
    get oscTitle() {
      return programTitle;
    },
    get state(): PaneState {
      if (conn.state !== "live") return conn.state;
      if (conn.drainingAt !== null) return "draining";
      return conn.mode === "view" ? "view" : conn.writer ? "live" : "watching";
    },
    get spec(): PaneSpec {
      return { session: conn.state === "ended" ? null : conn.session, mode: conn.mode, share: spec.share };
    },
    focus: () => view.term.focus(),
    notify,
    dispose,
  };

  function render(): void {
    titleEl.textContent = pane.title; // textContent: an OSC title is plain text, never markup
    element.dataset.state = pane.state;
    element.setAttribute("aria-label", `Terminal: ${pane.title} (${pane.state})`);
    host.changed(pane);
  }
  const subs = [
    conn.on("title", (t) => ((programTitle = t), render())),
    conn.on("state", render),
    conn.on("hello", render),
    conn.on("end", render),
    view.term.onData((typed) => {
      const data = host.touch ? host.touch.transform(typed) : typed;
      if (conn.state === "ended") {
        if (data === "\r") conn.newSession(); // the ended text says: press Enter to start a new session
        return;
      }
      prediction.input(data);
      conn.input(data);
    }),
    // onBinary carries raw bytes (e.g. legacy mouse reports) as a latin1 string; UTF-8 would corrupt them.
    view.term.onBinary((data) => conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))),
  ];
  const onFocus = () => host.focused(pane);
  element.addEventListener("focusin", onFocus);

  let logged = false;
  const rendererTimer = setTimeout(pickRenderer, RENDERER_WAIT_MS);
  void conn.firstOutput.then(() => setTimeout(pickRenderer, 20));
  function pickRenderer(): void {
    clearTimeout(rendererTimer);
    if (disposed || rendererHandle) return;
    rendererHandle = useBestRenderer(view.term, (r, why) => {
      renderer = r;
      if (!logged) console.info(`bunty: renderer ${r}${why ? ` (${why})` : ""}`);
      else console.warn(`bunty: renderer now ${r} (${why})`);
      if (logged || r === "webgl") conn.applySize(); // each renderer measures cells its own way: fit again
      logged = true;
    });
  }

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    clearTimeout(rendererTimer);
    element.removeEventListener("focusin", onFocus);
    for (const s of subs) s.dispose();
    prediction.dispose();
    keys.dispose();
    offers.dispose();
    rendererHandle?.dispose();
    badge.dispose();
    conn.dispose();
    host.search.forget(view.term);
    view.dispose();
    element.remove();
  }
  render();
  return pane;
}
