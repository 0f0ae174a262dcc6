// Owner: client (browser page). The find box (Ctrl+Shift+F): search the scrollback with xterm's search addon.
// createSearchBox() makes one for a terminal; its dispose() removes it.

import type { Terminal } from "@xterm/xterm";
import { SearchAddon, type ISearchOptions } from "@xterm/addon-search";

export interface SearchBox {
  open(): void;
  close(): void;
  readonly isOpen: boolean;
  /** Removes the box and the search addon. */
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

export function createSearchBox(term: Terminal): SearchBox {
  const addon = new SearchAddon({ highlightLimit: 1000 });
  term.loadAddon(addon);

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
  const next = () => input.value && addon.findNext(input.value, opts());
  const previous = () => input.value && addon.findPrevious(input.value, opts());
  box.append(input, count, button("↑", "Previous match (Shift+Enter)", previous), button("↓", "Next match (Enter)", next), button("✕", "Close (Esc)", () => close()));
  document.body.append(box);

  addon.onDidChangeResults(({ resultIndex, resultCount }) => {
    count.textContent = !input.value ? "" : resultCount === 0 ? "no matches" : `${resultIndex < 0 ? "?" : resultIndex + 1}/${resultCount}${resultCount >= 1000 ? "+" : ""}`;
    box.dataset.found = String(resultCount > 0 || !input.value);
  });
  input.addEventListener("input", () => {
    if (input.value) addon.findNext(input.value, opts(true));
    else {
      addon.clearDecorations();
      term.clearSelection();
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

  function open(): void {
    box.hidden = false;
    // A selection is what the user most likely wants to find.
    const selected = term.getSelection();
    if (selected && !selected.includes("\n") && selected.length < 200) input.value = selected;
    input.focus();
    input.select();
    if (input.value) addon.findNext(input.value, opts(true));
  }
  function close(): void {
    if (box.hidden) return;
    box.hidden = true;
    addon.clearDecorations();
    term.focus();
  }
  return {
    open,
    close,
    get isOpen() {
      return !box.hidden;
    },
    dispose() {
      box.remove();
      addon.dispose();
    },
  };
}
