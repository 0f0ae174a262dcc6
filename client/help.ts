// Owner: client (browser page). The help overlay: every keyboard shortcut of the page as
// configured (the workspace's, then the terminal's own), and what the buttons and the round-trip
// figure mean. openHelp() shows it in the page's dialog; the help shortcut closes it again.

import { dialogOpen, el, openDialog, type Dialog } from "./dialog.ts";
import { ACTION_LABELS, PAGE_KEYS } from "./shortcuts.ts";
import type { Action } from "../protocol/workspace-options.ts";

let shown: Dialog<null> | null = null;

/** Opens the overlay, or closes it when it is the one open. */
export function toggleHelp(label: (a: Action) => string): void {
  if (shown && dialogOpen()) return shown.close(null);
  const rows = [
    ...(Object.keys(ACTION_LABELS) as Action[]).map((a) => [label(a) || "(none)", ACTION_LABELS[a]] as const),
    ...PAGE_KEYS,
  ].map(([keys, what]) => el("tr", {}, el("td", {}, el("kbd", { textContent: keys })), el("td", { textContent: what })));
  const table = el("table", { className: "keys" }, el("tbody", {}, ...rows));
  shown = openDialog("Keyboard shortcuts", [
    table,
    el("p", { className: "note" }, "Change them in the address, e.g. ?keySplitRight=Alt+Shift+R, or turn one off with none (docs/client.md, Workspace). The figure in the tab bar is the round trip to the server; past 150 ms it turns orange, and on a link slower than 30 ms typing at a shell prompt is shown at once, underlined until the server confirms it."),
  ], [{ label: "Close", value: null, primary: true }]);
  shown.element.classList.add("help");
}
