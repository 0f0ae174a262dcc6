// The page's workspace options: predictive echo (`predict`) and the
// keyboard shortcuts (`key*`): their allow-list, checks, defaults, and the reading of them from a
// query string (the server's `-t` meta tag, then the page's URL). Pure: no DOM. Shared by the page
// and the server, which checks `-t key=value` against WORKSPACE_PARSERS at start (a bad chord exits 2).

import { queryEntries } from "./index.ts";

/** Predictive local echo: never, on a link slower than a threshold (mosh's rule), or on every link. */
export const PREDICT_MODES = ["off", "auto", "always"] as const;
export type PredictMode = (typeof PREDICT_MODES)[number];

/** What a shortcut can do (docs/client.md, "Workspace"). */
export type Action = "newTab" | "splitRight" | "splitDown" | "close" | "focusLeft" | "focusRight" | "focusUp" | "focusDown" | "nextTab" | "prevTab" | "sessions" | "help";

export interface WorkspaceOptions {
  predict: PredictMode;
  keyNewTab: string;
  keySplitRight: string;
  keySplitDown: string;
  keyClose: string;
  keyFocusLeft: string;
  keyFocusRight: string;
  keyFocusUp: string;
  keyFocusDown: string;
  keyNextTab: string;
  keyPrevTab: string;
  keySessions: string;
  keyHelp: string;
}

/** The option key of each action's shortcut. */
export const ACTION_KEYS: Readonly<Record<Action, keyof WorkspaceOptions>> = {
  newTab: "keyNewTab", splitRight: "keySplitRight", splitDown: "keySplitDown", close: "keyClose",
  focusLeft: "keyFocusLeft", focusRight: "keyFocusRight", focusUp: "keyFocusUp", focusDown: "keyFocusDown",
  nextTab: "keyNextTab", prevTab: "keyPrevTab", sessions: "keySessions", help: "keyHelp",
};

/**
 * Ctrl+Shift+letter, because a terminal program cannot tell Ctrl+Shift+E from Ctrl+E (both are
 * the same control character), so taking them costs the shell nothing; the page already takes
 * Ctrl+Shift+C/V/F/A. Splits as in Terminator (E: side by side, O: one above the other). Chosen
 * among the keys browsers let a page have: Ctrl+T/N/W, Ctrl+Tab, Ctrl+PageUp/PageDown and
 * Ctrl+Shift+T/N/W/Q/Tab never reach a page (Chrome keeps them), so none of them can be set.
 */
export const WORKSPACE_DEFAULTS: Readonly<WorkspaceOptions> = Object.freeze({
  predict: "auto",
  keyNewTab: "Ctrl+Shift+Enter",
  keySplitRight: "Ctrl+Shift+E",
  keySplitDown: "Ctrl+Shift+O",
  keyClose: "Ctrl+Shift+X",
  keyFocusLeft: "Ctrl+Shift+ArrowLeft",
  keyFocusRight: "Ctrl+Shift+ArrowRight",
  keyFocusUp: "Ctrl+Shift+ArrowUp",
  keyFocusDown: "Ctrl+Shift+ArrowDown",
  keyNextTab: "Ctrl+Shift+PageDown",
  keyPrevTab: "Ctrl+Shift+PageUp",
  keySessions: "Ctrl+Shift+S",
  keyHelp: "Ctrl+Shift+H",
});

// ---- key chords ----

export interface Chord {
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  meta: boolean;
  /** "E" (letters upper case), "7", or a key name: "Enter", "ArrowLeft", "PageUp", "F5", "Slash"... */
  key: string;
}

const MODIFIERS: Record<string, "ctrl" | "alt" | "shift" | "meta"> = {
  ctrl: "ctrl", control: "ctrl", alt: "alt", option: "alt", shift: "shift", meta: "meta", cmd: "meta", command: "meta", super: "meta",
};
/** Key names, by their lower-case spelling (aliases included). */
const NAMED: Record<string, string> = {
  enter: "Enter", return: "Enter", space: "Space", escape: "Escape", esc: "Escape", backspace: "Backspace",
  delete: "Delete", del: "Delete", insert: "Insert", ins: "Insert", home: "Home", end: "End",
  pageup: "PageUp", pgup: "PageUp", pagedown: "PageDown", pgdn: "PageDown", pgdown: "PageDown",
  arrowleft: "ArrowLeft", left: "ArrowLeft", arrowright: "ArrowRight", right: "ArrowRight",
  arrowup: "ArrowUp", up: "ArrowUp", arrowdown: "ArrowDown", down: "ArrowDown",
  minus: "Minus", equal: "Equal", bracketleft: "BracketLeft", bracketright: "BracketRight", backslash: "Backslash",
  semicolon: "Semicolon", quote: "Quote", comma: "Comma", period: "Period", slash: "Slash", backquote: "Backquote",
};
for (let i = 1; i <= 12; i++) NAMED[`f${i}`] = `F${i}`;

/**
 * What a page can never have, because the browser acts first (Chrome's reserved shortcuts, and
 * the window manager's Alt+F4), and what is the page's own already (copy, paste, find, screen reader).
 */
const REFUSED = new Set([
  "Ctrl+T", "Ctrl+N", "Ctrl+W", "Ctrl+Q", "Ctrl+PageUp", "Ctrl+PageDown", "Alt+F4",
  "Ctrl+Shift+T", "Ctrl+Shift+N", "Ctrl+Shift+W", "Ctrl+Shift+Q", "Ctrl+Shift+C", "Ctrl+Shift+V", "Ctrl+Shift+F", "Ctrl+Shift+A",
  "Meta+T", "Meta+N", "Meta+W", "Meta+Q", "Meta+Shift+T", "Meta+Shift+N", "Meta+Shift+W",
]);

export const chordText = (c: Chord): string => [c.ctrl && "Ctrl", c.alt && "Alt", c.shift && "Shift", c.meta && "Meta", c.key].filter(Boolean).join("+");

/**
 * Reads "Ctrl+Shift+E" (case-insensitive; `+` or spaces between parts, since a URL query turns
 * `+` into a space). Null for anything else: an unknown key name, no key, a repeated modifier, a
 * chord browsers keep (Ctrl+T...), and chords that would take keys from the terminal's programs:
 * no Ctrl/Alt/Meta (plain typing), or Ctrl with nothing else on a letter or digit (Ctrl+E is a
 * control character readline uses). F1-F12 may stand alone. Tab is no key here: Ctrl+Tab is the browser's.
 */
export function parseChord(text: string): Chord | null {
  const parts = text.trim().split(/[+ ]+/).filter(Boolean);
  if (parts.length === 0 || parts.length > 5) return null;
  const c: Chord = { ctrl: false, alt: false, shift: false, meta: false, key: "" };
  for (const [i, raw] of parts.entries()) {
    const p = raw.toLowerCase();
    const mod = i < parts.length - 1 ? MODIFIERS[p] : undefined;
    if (mod) {
      if (c[mod]) return null;
      c[mod] = true;
      continue;
    }
    if (i !== parts.length - 1) return null; // only the last part is the key
    if (/^[a-z0-9]$/.test(p)) c.key = p.toUpperCase();
    else if (Object.hasOwn(NAMED, p)) c.key = NAMED[p]!;
    else return null;
  }
  if (!c.key) return null;
  const fkey = /^F\d+$/.test(c.key);
  if (!fkey && !c.ctrl && !c.alt && !c.meta) return null;
  if (c.ctrl && !c.shift && !c.alt && !c.meta && /^[A-Z0-9]$/.test(c.key)) return null; // control characters; Ctrl+1-9 pick browser tabs
  if (REFUSED.has(chordText(c))) return null;
  return c;
}

// ---- parsers, shaped like protocol/options.ts's PARSERS ----

type Parser<T> = (raw: string) => T | undefined;
/** A chord in its canonical spelling, or "none" (the action has no shortcut). */
const chord: Parser<string> = (raw) => {
  if (raw.trim().toLowerCase() === "none") return "none";
  const c = parseChord(raw);
  return c ? chordText(c) : undefined;
};

export const WORKSPACE_PARSERS: { [K in keyof WorkspaceOptions]: Parser<WorkspaceOptions[K]> } = {
  predict: (raw) => ((PREDICT_MODES as readonly string[]).includes(raw) ? (raw as PredictMode) : undefined),
  keyNewTab: chord, keySplitRight: chord, keySplitDown: chord, keyClose: chord,
  keyFocusLeft: chord, keyFocusRight: chord, keyFocusUp: chord, keyFocusDown: chord,
  keyNextTab: chord, keyPrevTab: chord, keySessions: chord, keyHelp: chord,
};
export const WORKSPACE_KEYS = Object.keys(WORKSPACE_PARSERS) as (keyof WorkspaceOptions)[];

/**
 * The workspace options from query strings in layers, later ones winning (the server's meta
 * tag, then the URL). Only this module's keys are read; anything else is another reader's. A bad
 * value is ignored with a warning, naming its layer; two actions on one chord: the later key loses it.
 */
export function parseWorkspaceOptions(layers: { name: string; query: string }[]): { options: WorkspaceOptions; warnings: string[] } {
  const options: WorkspaceOptions = { ...WORKSPACE_DEFAULTS };
  const warnings: string[] = [];
  for (const { name, query } of layers) {
    for (const [key, raw] of queryEntries(query)) {
      if (!(WORKSPACE_KEYS as string[]).includes(key)) continue;
      const k = key as keyof WorkspaceOptions;
      const value = WORKSPACE_PARSERS[k](raw);
      if (value === undefined) warnings.push(`${name}: invalid value for ${k}: "${raw.slice(0, 40)}" ignored${k.startsWith("key") ? " (a chord like Ctrl+Shift+E, not one the browser keeps, or none)" : ""}`);
      else (options as unknown as Record<string, string>)[k] = value;
    }
  }
  const taken = new Map<string, string>();
  for (const k of WORKSPACE_KEYS.filter((k) => k.startsWith("key"))) {
    const v = options[k];
    if (v === "none") continue;
    const other = taken.get(v);
    if (other) {
      warnings.push(`${k}: ${v} is already ${other}'s; ${k} has no shortcut`);
      (options as unknown as Record<string, string>)[k] = "none";
    } else taken.set(v, k);
  }
  return { options, warnings };
}
