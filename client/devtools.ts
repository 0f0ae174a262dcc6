// Owner: client (browser page). What devtools and the browser checks read: `window.bunty` (the
// page's state, for its one terminal), `window.term` (its xterm) and `window.termImages`, built
// from the page's connection and features; and a test hook that opens and closes a second pane.
// exposePage() sets them (main.ts); nothing here runs at import.

import type { ImageAddon } from "@xterm/addon-image";
import type { Terminal } from "@xterm/xterm";
import type { Resumed } from "../protocol/index.ts";
import type { PageOptions } from "../protocol/options.ts";
import { createConnection, type Connection, type ConnectionOptions, type State } from "./connection.ts";
import type { Renderer } from "./renderer.ts";
import { createBadge } from "./status.ts";
import { createTerminal, type TerminalView } from "./terminal.ts";
import type { TransferState } from "./transfer.ts";

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
  /** Opens a pane in an element of its own (off screen) and connects it. */
  openPane(options: ConnectionOptions): TestPane;
}

declare global {
  interface Window {
    term: Terminal;
    termImages: ImageAddon;
    bunty: Bunty & PageHooks;
  }
}

export interface Page {
  view: TerminalView;
  conn: Connection;
  transfer: { readonly state: TransferState };
  images: ImageAddon;
  options: PageOptions;
  toolbar: boolean;
}

/** Sets window.bunty, window.term and window.termImages for the page's one terminal; returns window.bunty (main.ts sets `renderer`). */
export function exposePage({ view, conn, transfer, images, options, toolbar }: Page): Bunty {
  // Getters: the connection and the terminal hold the truth; spreading or serialising window.bunty reads it.
  const bunty: Bunty = {
    get session() { return conn.session; },
    get offset() { return conn.offset; },
    get writer() { return conn.writer; },
    get mode() { return conn.mode; },
    get state() { return conn.state; },
    get resumed() { return conn.resumed; },
    get snapshots() { return conn.snapshots; },
    get socket() { return conn.socket; },
    renderer: "dom",
    get screenReader() { return view.term.options.screenReaderMode === true; },
    options,
    toolbar,
    get transfer() { return transfer.state; },
  };
  const hooks: PageHooks = { openPane: (o) => openPane(options, o) };
  Object.defineProperty(bunty, "openPane", { value: hooks.openPane, enumerable: false });
  window.bunty = bunty as Bunty & PageHooks;
  window.term = view.term;
  window.termImages = images;
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
