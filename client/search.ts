// Owner: client (browser page). The find box (Ctrl+Shift+F): search the scrollback with xterm's search addon.
// createSearchBox() makes the page's one box; it searches the terminal it is opened for (the
// focused pane's), loading the search addon into a terminal the first time it is searched (most
// panes never are). Its dispose() removes it.

import type { IDisposable, Terminal } from "@xterm/xterm";
import { SearchAddon, type ISearchOptions } from "@xterm/addon-search";

export interface SearchBox {
  /** Opens the box on `term`. */
  open(term: Terminal): void;
  close(): void;
  readonly isOpen: boolean;
  /** A terminal goes away: close the box if it searches it. */
  forget(term: Terminal): void;
  /** Removes the box (the addons go with their terminals). */
  dispose(): void;
}

const DECORATIONS: ISearchOptions["decorations"] = {
  matchBackground: "#7a5c00",
  matchBorder: "#e0af68",
  matchOverviewRuler: "#e0af68",
  activeMatchBackground: "#ff9e64",
  activeMatchBorder: "#ffffff",
  activeMatchColorOverviewRuler: "#ff9e64",
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]>, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export function createSearchBox(): SearchBox {
  const addons = new WeakMap<Terminal, SearchAddon>();
  let term: Terminal | null = null;
  let addon: SearchAddon | null = null;
  let results: IDisposable | null = null;

  const box = el("div", { id: "search", hidden: true }, { role: "search" });
  const input = el("input", { type: "text", placeholder: "Find", spellcheck: false, autocomplete: "off" }, { "aria-label": "Find in terminal" });
  const count = el("span", { className: "count" }, { "aria-live": "polite" });
  const button = (label: string, title: string, action: () => void) => {
    const b = el("button", { type: "button", textContent: label, title, tabIndex: -1 }, { "aria-label": title });
    b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the caret in the input
    b.addEventListener("click", action);
    return b;
  };
  const opts = (incremental = false): ISearchOptions => ({ decorations: DECORATIONS, incremental });
  const next = () => input.value && addon?.findNext(input.value, opts());
  const previous = () => input.value && addon?.findPrevious(input.value, opts());
  box.append(input, count, button("↑", "Previous match (Shift+Enter)", previous), button("↓", "Next match (Enter)", next), button("✕", "Close (Esc)", () => close()));
  document.body.append(box);

  /** Searches `t` from now on (its addon loaded on first use). */
  function bind(t: Terminal): void {
    if (t === term) return;
    addon?.clearDecorations();
    results?.dispose();
    term = t;
    addon = addons.get(t) ?? null;
    if (!addon) {
      addon = new SearchAddon({ highlightLimit: 1000 });
      t.loadAddon(addon);
      addons.set(t, addon);
    }
    results = addon.onDidChangeResults(({ resultIndex, resultCount }) => {
      count.textContent = !input.value ? "" : resultCount === 0 ? "no matches" : `${resultIndex < 0 ? "?" : resultIndex + 1}/${resultCount}${resultCount >= 1000 ? "+" : ""}`;
      box.dataset.found = String(resultCount > 0 || !input.value);
    });
  }
  input.addEventListener("input", () => {
    if (input.value) addon?.findNext(input.value, opts(true));
    else {
      addon?.clearDecorations();
      term?.clearSelection();
      count.textContent = "";
      box.dataset.found = "true";
    }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (e.shiftKey) previous();
      else next();
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key.toLowerCase() === "f" && e.ctrlKey && e.shiftKey) {
      e.preventDefault();
      input.select();
    }
  });

  function open(t: Terminal): void {
    bind(t);
    box.hidden = false;
    // A selection is what the user most likely wants to find.
    const selected = t.getSelection();
    if (selected && !selected.includes("\n") && selected.length < 200) input.value = selected;
    input.focus();
    input.select();
    if (input.value) addon?.findNext(input.value, opts(true));
  }
  function close(): void {
    if (box.hidden) return;
    box.hidden = true;
    addon?.clearDecorations();
    term?.focus();
  }
  return {
    open,
    close,
    get isOpen() {
      return !box.hidden;
    },
    forget(t) {
      if (t !== term) return;
      box.hidden = true;
      results?.dispose();
      term = addon = results = null;
    },
    dispose() {
      box.remove();
      results?.dispose();
    },
  };
}
