// Owner: client (browser page). Entry point of the terminal page, and the only one of its modules
// that runs at import: reads the options and the address, builds the workspace (tabs of split
// panes, each a terminal view, its connection and its features) and what its panes share (the
// tab bar, search box, file transfer, touch toolbar, shortcuts), ties the page's address, title
// and badge to the workspace, exposes window.bunty, signs in and connects.

import { readAddress, writeAddress } from "./address.ts";
import { signIn } from "./credentials.ts";
import { exposePage } from "./devtools.ts";
import { applyPageTheme, instanceName, readDisplayOptions, readWorkspaceOptions } from "./display.ts";
import { toggleHelp } from "./help.ts";
import { createSearchBox } from "./search.ts";
import { setupShortcuts } from "./shortcuts.ts";
import { createBadge, type Badge } from "./status.ts";
import { openSwitcher } from "./switcher.ts";
import { createTabBar } from "./tabbar.ts";
import { isTouch, setupTouch } from "./toolbar.ts";
import { setupTransfer } from "./transfer.ts";
import type { Action } from "../protocol/workspace-options.ts";
import { Workspace } from "./workspace.ts";

const TITLE = "bunty";

const { options, warnings } = readDisplayOptions();
const workspaceOptions = readWorkspaceOptions();
applyPageTheme(options.theme);

// What the panes share: one search box, one transfer panel, one touch toolbar for the page.
let ws: Workspace | null = null;
const search = createSearchBox();
const transfer = setupTransfer((target) => ws?.paneAt(target)?.conn ?? null);
const touch = isTouch() ? setupTouch(() => ws?.focused?.view.term ?? null) : null;
ws = new Workspace(document.getElementById("terminal")!, { display: options, predict: workspaceOptions.options.predict, search, transfer, touch });
const workspace = ws;
workspace.restore(readAddress());

// performance.mark()s (devtools' Performance panel, the browser check): script, connect, open, hello, output.
// "script" is marked where it always was, with the (first) terminal built, so load figures stay comparable (docs/benchmarks.md).
performance.mark("bunty:script");
// Sign in (trade a token in the address for the cookie) while the rest of the page is set up.
const signedIn = signIn();
for (const w of [...warnings, ...workspaceOptions.warnings]) console.warn(`bunty: ${w}`);

function run(action: Action): void {
  const f = workspace.focused;
  switch (action) {
    case "newTab": return void workspace.newTab();
    case "splitRight": return void workspace.split("right");
    case "splitDown": return void workspace.split("down");
    case "close": return void workspace.close(f, "ask");
    case "focusLeft": return workspace.focusDirection("left");
    case "focusRight": return workspace.focusDirection("right");
    case "focusUp": return workspace.focusDirection("up");
    case "focusDown": return workspace.focusDirection("down");
    case "nextTab": return workspace.nextTab(1);
    case "prevTab": return workspace.nextTab(-1);
    case "sessions":
      return openSwitcher((id) => workspace.panes.some((p) => p.conn.session === id && p.conn.state !== "ended"), (info, where) => void workspace.openSession(info, where));
    case "help": return toggleHelp((a) => shortcuts.label(a));
  }
}
const shortcuts = setupShortcuts(workspaceOptions.options, run, () => workspace.interactive);
const status = document.getElementById("status")!;
const bar = createTabBar(document.getElementById("tabbar")!, status, run, (i) => workspace.selectTab(i), (a) => shortcuts.label(a));

// The page's badge and round trip show the focused pane's connection.
let pageBadge: Badge | null = null;
let rttSub: { dispose(): void } | null = null;
const showLatency = () => {
  const f = workspace.focused;
  bar.latency(f?.conn.srtt ?? null, f?.prediction.state.active ?? false);
};
const focusChanged = (p: typeof workspace.focused) => {
  pageBadge?.dispose();
  rttSub?.dispose();
  pageBadge = p ? createBadge(status, p.conn) : null;
  rttSub = p ? p.conn.on("rtt", showLatency) : null;
  if (!p) (status.textContent = "no terminal"), (status.dataset.state = "ended");
  showLatency();
};
workspace.on("focus", focusChanged);
workspace.on("notice", (text) => pageBadge?.flash(text));
// The address carries the layout and the sessions, so a reload or a copied link finds them; the
// document title follows the focused pane's program (plain text: OSC titles cannot inject markup).
const changed = () => {
  const specs = workspace.specs();
  writeAddress(specs, workspace.focusedSpec(specs));
  // With the server's instance name: "bunty · NAME · title" (which server this tab is on); without
  // it, the program's title alone, as it always was (like ttyd's window title).
  const program = workspace.focused?.oscTitle ?? "";
  const instance = instanceName();
  document.title = instance ? [TITLE, instance, program].filter(Boolean).join(" · ") : program || TITLE;
  bar.render(workspace);
};
workspace.on("changed", changed);
focusChanged(workspace.focused); // the state restore() left
changed();

exposePage({ ws: workspace, transfer, options, workspace: workspaceOptions.options, toolbar: touch !== null });

void signedIn.then(() => workspace.connectAll());
