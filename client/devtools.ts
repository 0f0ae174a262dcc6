// Owner: client (browser page). What devtools and the browser checks read: `window.bunty` (the
// focused pane's state, as the one-terminal page always had it, plus the workspace's: every pane,
// the tabs, the round trip, the prediction), `window.term` and `window.termImages` (the focused
// pane's xterm and image addon), and test hooks. exposePage() sets them (main.ts); nothing here
// runs at import.

import type { ImageAddon } from "@xterm/addon-image";
import type { Terminal } from "@xterm/xterm";
import type { Resumed } from "../protocol/index.ts";
import type { PageOptions } from "../protocol/options.ts";
import { instanceName } from "./display.ts";
import { createConnection, type Connection, type ConnectionOptions, type State } from "./connection.ts";
import type { Pane, PaneState } from "./pane.ts";
import type { PredictionState } from "./predict-view.ts";
import type { Renderer } from "./renderer.ts";
import { createBadge } from "./status.ts";
import { createTerminal, type TerminalView } from "./terminal.ts";
import type { TransferState } from "./transfer.ts";
import type { WorkspaceOptions } from "../protocol/workspace-options.ts";
import type { Workspace } from "./workspace.ts";

/** One pane, as window.bunty.panes lists them (tab by tab, in the address's order). */
export interface PaneInfo {
  id: number;
  tab: number;
  focused: boolean;
  session: string | null;
  state: State;
  shown: PaneState;
  mode: "write" | "view";
  writer: boolean;
  title: string;
  rtt: number | null;
  offset: number | null;
  cols: number;
  rows: number;
  /** Sockets this pane has opened (reconnects count). */
  sockets: number;
}

/** What tests and devtools read; the fields are kept up to date (getters). */
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
  /** The workspace options in effect (prediction, shortcuts). */
  workspace: WorkspaceOptions;
  /** Whether the touch toolbar is shown (coarse pointer). */
  toolbar: boolean;
  /** File transfer: uploads (dropped files) and downloads offered by bunty-get, newest last. */
  transfer: TransferState;
  /** The focused pane's smoothed round trip to the server (ms), null until measured. */
  rtt: number | null;
  /** The focused pane's predictive echo. */
  prediction: PredictionState | null;
  panes: PaneInfo[];
  tabs: number;
  activeTab: number;
  /** The server's instance name (meta tag), or null. */
  instance: string | null;
}

/** A second terminal and connection, without the page's features: for checking that closing one releases everything. */
export interface TestPane {
  readonly view: TerminalView;
  readonly connection: Connection;
  /** Its own badge (an element outside the page), showing the connection's state. */
  readonly badge: HTMLElement;
  /** Disposes the connection, the badge and the view, and removes the pane's element. */
  close(): void;
}
/** Test hooks on window.bunty, not enumerable: `{ ...window.bunty }` and JSON of it stay the state above. */
export interface PageHooks {
  /** Opens a pane outside the workspace, in an element of its own (off screen), and connects it. */
  openPane(options: ConnectionOptions): TestPane;
  /** The workspace's pane at index `i` of `panes`. */
  pane(i: number): Pane | undefined;
  /** Gives pane `i` the focus (and shows its tab), as clicking into it would. */
  focusPane(i: number): void;
}

declare global {
  interface Window {
    term: Terminal;
    termImages: ImageAddon;
    bunty: Bunty & PageHooks;
  }
}

export interface Page {
  ws: Workspace;
  transfer: { readonly state: TransferState };
  options: PageOptions;
  workspace: WorkspaceOptions;
  toolbar: boolean;
}

/** Sets window.bunty, window.term and window.termImages (the focused pane's, whichever it is now). */
export function exposePage({ ws, transfer, options, workspace, toolbar }: Page): Bunty {
  const f = () => ws.focused;
  const sockets = new WeakMap<Connection, { last: WebSocket | null; n: number }>();
  const socketsOf = (c: Connection) => {
    const s = sockets.get(c) ?? { last: null, n: 0 };
    if (c.socket && c.socket !== s.last) (s.last = c.socket), s.n++;
    sockets.set(c, s);
    return s.n;
  };
  ws.on("changed", () => ws.panes.forEach((p) => socketsOf(p.conn)));
  // Getters: the panes' connections and terminals hold the truth; spreading or serialising window.bunty reads it.
  const bunty: Bunty = {
    get session() { return f()?.conn.session ?? null; },
    get offset() { return f()?.conn.offset ?? null; },
    get writer() { return f()?.conn.writer ?? false; },
    get mode() { return f()?.conn.mode ?? "write"; },
    get state() { return f()?.conn.state ?? "ended"; },
    get resumed() { return f()?.conn.resumed ?? null; },
    get snapshots() { return f()?.conn.snapshots ?? 0; },
    get socket() { return f()?.conn.socket ?? null; },
    get renderer() { return f()?.renderer ?? "dom"; },
    get screenReader() { return f()?.view.term.options.screenReaderMode === true; },
    options,
    workspace,
    toolbar,
    get transfer() { return transfer.state; },
    get rtt() { return f()?.conn.srtt ?? null; },
    get prediction() { return f()?.prediction.state ?? null; },
    get panes() {
      return ws.panes.map((p): PaneInfo => ({
        id: p.id, tab: ws.tabOf(p), focused: p === ws.focused, session: p.conn.session, state: p.conn.state, shown: p.state,
        mode: p.conn.mode, writer: p.conn.writer, title: p.title, rtt: p.conn.srtt, offset: p.conn.offset,
        cols: p.view.term.cols, rows: p.view.term.rows, sockets: socketsOf(p.conn),
      }));
    },
    get tabs() { return ws.tabs.length; },
    get activeTab() { return ws.active; },
    get instance() { return instanceName(); },
  };
  const hooks: PageHooks = {
    openPane: (o) => openPane(options, o),
    pane: (i) => ws.panes[i],
    focusPane: (i) => ws.panes[i] && ws.setFocus(ws.panes[i]!, true),
  };
  for (const [k, v] of Object.entries(hooks)) Object.defineProperty(bunty, k, { value: v, enumerable: false });
  window.bunty = bunty as Bunty & PageHooks;
  Object.defineProperty(window, "term", { configurable: true, get: () => f()?.view.term });
  Object.defineProperty(window, "termImages", { configurable: true, get: () => f()?.images });
  return bunty;
}

function openPane(display: PageOptions, options: ConnectionOptions): TestPane {
  const element = document.createElement("div");
  // Laid out (so the terminal fits a real box and the resize observer fires) but out of sight.
  Object.assign(element.style, { position: "fixed", left: "-10000px", top: "0", width: "400px", height: "200px" });
  document.body.append(element);
  const view = createTerminal(element, display);
  const connection = createConnection(view, options);
  const badgeElement = document.createElement("div");
  const badge = createBadge(badgeElement, connection);
  connection.connect();
  return {
    view,
    connection,
    badge: badgeElement,
    close() {
      connection.dispose();
      badge.dispose();
      view.dispose();
      element.remove();
    },
  };
}
