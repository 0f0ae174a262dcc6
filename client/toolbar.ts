// Owner: client (browser page). Touch devices: the key toolbar (Esc, sticky Ctrl/Alt, Tab, arrows, | ~ /) and fitting the visual viewport.
// setupTouch() builds the page's one toolbar; its keys go to the terminal `target()` names (the
// focused pane's), and every pane's typing passes through transform(); its dispose() removes it.

import type { Terminal } from "@xterm/xterm";

export interface Touch {
  /** Applies a pending sticky Ctrl/Alt to what was typed (then clears them). */
  transform(data: string): string;
  /** Removes the toolbar and stops following the visual viewport. */
  dispose(): void;
}

type Key = { id: string; label: string; title: string; seq?: string; arrow?: "A" | "B" | "C" | "D"; mod?: "ctrl" | "alt" };
const KEYS: Key[] = [
  { id: "esc", label: "Esc", title: "Escape", seq: "\x1b" },
  { id: "ctrl", label: "Ctrl", title: "Ctrl for the next key", mod: "ctrl" },
  { id: "alt", label: "Alt", title: "Alt for the next key", mod: "alt" },
  { id: "tab", label: "Tab", title: "Tab", seq: "\t" },
  { id: "up", label: "↑", title: "Up", arrow: "A" },
  { id: "down", label: "↓", title: "Down", arrow: "B" },
  { id: "left", label: "←", title: "Left", arrow: "D" },
  { id: "right", label: "→", title: "Right", arrow: "C" },
  { id: "pipe", label: "|", title: "|", seq: "|" },
  { id: "tilde", label: "~", title: "~", seq: "~" },
  { id: "slash", label: "/", title: "/", seq: "/" },
];

/** Ctrl + one character, as xterm and most terminals encode it; null when Ctrl does not change it. */
export function ctrlChar(ch: string): string | null {
  if (ch.length !== 1) return null;
  const c = ch.charCodeAt(0);
  if ((c >= 0x40 && c <= 0x5f) || (c >= 0x61 && c <= 0x7a)) return String.fromCharCode(c & 0x1f); // @A-Z[\]^_ a-z
  const special: Record<string, string> = { " ": "\x00", "2": "\x00", "3": "\x1b", "4": "\x1c", "5": "\x1d", "6": "\x1e", "7": "\x1f", "/": "\x1f", "8": "\x7f", "?": "\x7f" };
  return special[ch] ?? null;
}

export const isTouch = (): boolean => matchMedia("(pointer: coarse)").matches;

export function setupTouch(target: () => Terminal | null): Touch {
  const mods = { ctrl: false, alt: false };
  const bar = document.createElement("div");
  bar.id = "toolbar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Terminal keys");
  const buttons = new Map<string, HTMLButtonElement>();
  const show = () => {
    for (const m of ["ctrl", "alt"] as const) buttons.get(m)!.setAttribute("aria-pressed", String(mods[m]));
  };
  const clear = () => {
    mods.ctrl = mods.alt = false;
    show();
  };

  for (const key of KEYS) {
    const b = document.createElement("button");
    b.type = "button";
    b.tabIndex = -1;
    b.textContent = key.label;
    b.title = key.title;
    b.dataset.key = key.id;
    b.setAttribute("aria-label", key.title);
    // Keep the focus (and so the soft keyboard) on the terminal.
    b.addEventListener("pointerdown", (e) => e.preventDefault());
    b.addEventListener("mousedown", (e) => e.preventDefault());
    b.addEventListener("click", () => press(key));
    buttons.set(key.id, b);
    bar.append(b);
  }
  document.body.append(bar);
  document.body.classList.add("touch");
  show();

  function press(key: Key): void {
    const term = target();
    if (!term) return;
    if (key.mod) {
      mods[key.mod] = !mods[key.mod];
      return show();
    }
    if (key.arrow) {
      // xterm's encoding: ESC [ 1 ; m X with modifiers, else ESC O X in application cursor mode.
      const m = 1 + (mods.alt ? 2 : 0) + (mods.ctrl ? 4 : 0);
      const seq = m > 1 ? `\x1b[1;${m}${key.arrow}` : `${term.modes.applicationCursorKeysMode ? "\x1bO" : "\x1b["}${key.arrow}`;
      clear();
      return term.input(seq, true);
    }
    if (key.id === "esc" || key.id === "tab") {
      const seq = (mods.alt ? "\x1b" : "") + key.seq!;
      clear();
      return term.input(seq, true);
    }
    term.input(key.seq!, true); // a character: goes through transform() like a typed one
  }

  const unfit = fitVisualViewport();
  return {
    dispose() {
      unfit();
      bar.remove();
      document.body.classList.remove("touch");
    },
    transform(data: string): string {
      if (!mods.ctrl && !mods.alt) return data;
      let out = data;
      if ([...data].length === 1) {
        if (mods.ctrl) out = ctrlChar(data) ?? data;
        if (mods.alt) out = `\x1b${out}`;
      }
      clear();
      return out;
    },
  };
}

/**
 * When the soft keyboard opens, the visual viewport shrinks (the layout viewport often does not,
 * on iOS never): the page is sized to the visual viewport, so the terminal's box shrinks and its
 * ResizeObserver refits the terminal (and resizes the PTY) above the keyboard.
 */
function fitVisualViewport(): () => void {
  const vv = window.visualViewport;
  if (!vv) return () => {};
  const root = document.documentElement.style;
  const update = () => {
    // Pinch-zoom also shrinks the visual viewport; scale it back so zooming does not resize the terminal.
    root.setProperty("--vv-height", `${Math.round(vv.height * vv.scale)}px`);
    root.setProperty("--vv-top", `${vv.scale > 1.01 ? 0 : Math.round(vv.offsetTop)}px`);
  };
  vv.addEventListener("resize", update);
  vv.addEventListener("scroll", update);
  update();
  return () => {
    vv.removeEventListener("resize", update);
    vv.removeEventListener("scroll", update);
  };
}
