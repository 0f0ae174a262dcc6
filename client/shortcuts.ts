// Owner: client (browser page). The workspace's keyboard shortcuts: the configured chords
// (protocol/workspace-options.ts) matched against key presses before any terminal sees them, and the
// labels the help overlay and the buttons' tooltips show. setupShortcuts() listens; dispose() stops.

import type { IDisposable } from "@xterm/xterm";
import { ACTION_KEYS, parseChord, type Action, type Chord, type WorkspaceOptions } from "../protocol/workspace-options.ts";

/** What each action does, in the words of the help overlay and docs/client.md. */
export const ACTION_LABELS: Readonly<Record<Action, string>> = {
  newTab: "New terminal (in a new tab)",
  splitRight: "Split right (a new terminal beside this one)",
  splitDown: "Split down (a new terminal below this one)",
  close: "Close terminal",
  focusLeft: "Focus the terminal to the left",
  focusRight: "Focus the terminal to the right",
  focusUp: "Focus the terminal above",
  focusDown: "Focus the terminal below",
  nextTab: "Next tab",
  prevTab: "Previous tab",
  sessions: "Open a session of this server (detached ones first)",
  help: "Show or hide the keyboard shortcuts",
};

/** The page's own keys (keys.ts), listed in the help overlay with the workspace's. */
export const PAGE_KEYS: readonly [string, string][] = [
  ["Ctrl+Shift+C", "Copy the selection"],
  ["Ctrl+Shift+V", "Paste"],
  ["Ctrl+Shift+F", "Search the scrollback"],
  ["Ctrl+Shift+A", "Screen-reader mode on or off"],
];

/** `e` as the chord it is: letters by their Latin letter, or the physical key on other layouts (as keys.ts does). */
function matches(c: Chord, e: KeyboardEvent): boolean {
  if (c.ctrl !== e.ctrlKey || c.alt !== e.altKey || c.shift !== e.shiftKey || c.meta !== e.metaKey) return false;
  if (/^[A-Z]$/.test(c.key)) return (/^[a-z]$/i.test(e.key) ? e.key.toUpperCase() : e.code.startsWith("Key") ? e.code.slice(3) : "") === c.key;
  if (/^[0-9]$/.test(c.key)) return e.code === `Digit${c.key}`; // Shift changes e.key
  if (c.key === "Space") return e.code === "Space";
  if (/^F\d+$|^(Enter|Escape|Backspace|Delete|Insert|Home|End|PageUp|PageDown|Arrow\w+)$/.test(c.key)) return e.key === c.key;
  return e.code === c.key; // punctuation, by physical key (Slash, BracketLeft...)
}

export interface Shortcuts extends IDisposable {
  /** The chord of an action as text ("Ctrl+Shift+E"), or "" when it has none. */
  label(action: Action): string;
}

/**
 * Listens on the window in the capture phase, so a shortcut is taken before xterm's textarea
 * turns it into input (and before the browser's own default, which preventDefault() cancels for
 * the keys a page may have). `enabled()` false (a dialog is open) lets keys through, except help's.
 */
export function setupShortcuts(options: WorkspaceOptions, run: (action: Action) => void, enabled: () => boolean): Shortcuts {
  const bindings: [Action, Chord][] = [];
  for (const [action, key] of Object.entries(ACTION_KEYS) as [Action, keyof WorkspaceOptions][]) {
    const chord = parseChord(options[key]);
    if (chord) bindings.push([action, chord]);
  }
  const keydown = (e: KeyboardEvent) => {
    for (const [action, chord] of bindings) {
      if (!matches(chord, e)) continue;
      if (!enabled() && action !== "help") return;
      e.preventDefault();
      e.stopPropagation();
      if (e.repeat && !/^(focus|nextTab|prevTab)/.test(action)) return; // a held key makes one pane, not twenty
      run(action);
      return;
    }
  };
  window.addEventListener("keydown", keydown, true);
  return {
    label(action) {
      return bindings.find(([a]) => a === action)?.[1] ? options[ACTION_KEYS[action]] : "";
    },
    dispose: () => window.removeEventListener("keydown", keydown, true),
  };
}
