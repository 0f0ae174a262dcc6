// Owner: client (browser page). Shortcuts and clipboard: Ctrl+Shift+C/V/F/A, right-click copy or paste, copy-on-select.
// setupKeys() wires them to one terminal view; its dispose() removes them.

import type { IDisposable } from "@xterm/xterm";
import type { Notify } from "./status.ts";
import type { TerminalView } from "./terminal.ts";

export interface KeyActions {
  openSearch(): void;
  /** Where "copied N characters" and refusals are shown. */
  notify: Notify;
}

/** How long a selection must stay unchanged before copy-on-select copies it (a drag fires many changes). */
const SELECTION_SETTLE_MS = 150;

export function setupKeys({ term, container }: TerminalView, copyOnSelect: boolean, actions: KeyActions): IDisposable {
  const flash = actions.notify;
  /** The clipboard-read permission as last reported (Firefox cannot be asked: "unknown"). Asked once per terminal: it is cheap, and nothing is shared between panes. */
  let readPermission: PermissionState | "unknown" = "unknown";
  let permission: PermissionStatus | null = null;
  let disposed = false;
  void navigator.permissions?.query({ name: "clipboard-read" as PermissionName }).then(
    (status) => {
      if (disposed) return;
      permission = status;
      readPermission = status.state;
      status.onchange = () => (readPermission = status.state);
    },
    () => {},
  );
  const canRead = () => typeof navigator.clipboard?.readText === "function" && readPermission !== "denied";

  /** Copies the selection: the async clipboard API, else the textarea's copy event (xterm fills it in). */
  async function copySelection(quiet = false): Promise<void> {
    const text = term.getSelection();
    if (!text) return;
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard API (not a secure context?)");
      await navigator.clipboard.writeText(text);
    } catch {
      term.focus();
      if (!document.execCommand("copy")) {
        if (!quiet) flash("copy refused by the browser");
        return;
      }
    }
    if (!quiet) flash(`copied ${text.length} character${text.length === 1 ? "" : "s"}`);
  }

  /** Pastes the clipboard through xterm (which adds bracketed-paste markers when the program asked for them). */
  async function pasteFromClipboard(): Promise<void> {
    try {
      const text = await navigator.clipboard.readText();
      if (text) term.paste(text);
    } catch {
      flash("the browser refused clipboard access: paste with Ctrl+Shift+V");
    }
  }

  function toggleScreenReader(): void {
    const on = !term.options.screenReaderMode;
    term.options.screenReaderMode = on; // window.bunty.screenReader reads it from the terminal
    flash(on ? "screen reader mode on" : "screen reader mode off");
  }

  term.attachCustomKeyEventHandler((e) => {
    if (!e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return true;
    // By letter where the layout has Latin letters, else by physical key (Cyrillic, Greek layouts...).
    const k = /^[a-z]$/i.test(e.key) ? e.key.toLowerCase() : e.code.startsWith("Key") ? e.code.slice(3).toLowerCase() : "";
    if (!"cvfa".includes(k) || !k) return true;
    if (e.type !== "keydown") return false; // keypress/keyup of a handled shortcut: nothing for xterm either
    switch (k) {
      case "c":
        e.preventDefault();
        void copySelection();
        break;
      case "v":
        // Where reading is known to be allowed, read it; else the browser's own paste (its default
        // action for Ctrl+Shift+V) fires a paste event that xterm handles.
        if (readPermission === "granted" && canRead()) {
          e.preventDefault();
          void pasteFromClipboard();
        }
        break;
      case "f":
        e.preventDefault();
        actions.openSearch();
        break;
      case "a":
        e.preventDefault();
        toggleScreenReader();
        break;
    }
    return false;
  });

  // Right-click: copy the selection if there is one, else paste. Shift+right-click keeps the
  // browser's menu; so does a program that tracks the mouse (the click is the program's).
  const contextMenu = (e: MouseEvent) => {
    if (e.shiftKey) return;
    if (term.hasSelection()) {
      e.preventDefault();
      void copySelection().then(() => term.clearSelection());
      return;
    }
    if (term.modes.mouseTrackingMode !== "none" || !canRead()) return; // the menu's Paste works: xterm moved its textarea under the pointer
    e.preventDefault();
    void pasteFromClipboard();
  };
  container.addEventListener("contextmenu", contextMenu);

  let timer: ReturnType<typeof setTimeout> | undefined;
  const selection = copyOnSelect
    ? term.onSelectionChange(() => {
        clearTimeout(timer);
        // Once the selection settles.
        timer = setTimeout(() => term.hasSelection() && void copySelection(true), SELECTION_SETTLE_MS);
      })
    : null;

  return {
    dispose() {
      disposed = true;
      term.attachCustomKeyEventHandler(() => true); // xterm's own handling of every key again
      container.removeEventListener("contextmenu", contextMenu);
      selection?.dispose();
      clearTimeout(timer);
      if (permission) permission.onchange = null;
    },
  };
}
