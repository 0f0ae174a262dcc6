// Owner: client (browser page). The tab bar: one tab per workspace tab (its focused pane's title,
// a dot for the worst state among its panes), the buttons (New terminal, Split right, Split down,
// Close terminal, Sessions, Keyboard shortcuts), the round-trip indicator and the page's badge
// (the focused pane's state). createTabBar() builds it in its element; render() redraws it.

import type { Pane, PaneState } from "./pane.ts";
import type { Action } from "../protocol/workspace-options.ts";
import { leaves, type Tree } from "./layout.ts";

/** The round trip shows in the warning colour from this many ms (typing starts to feel late). */
export const LATENCY_WARN_MS = 150;

/** Which state a tab's dot shows when its panes differ: the one that needs attention most. */
const WORST: PaneState[] = ["reconnecting", "draining", "connecting", "ended", "watching", "view", "live"];

export interface TabBarModel {
  tabs: { root: Tree<Pane>; last: Pane }[];
  active: number;
  focused: Pane | null;
}

export interface TabBar {
  render(m: TabBarModel): void;
  /** The focused pane's round trip (ms), or null when unknown; `predicting`: whether its typing is predicted. */
  latency(ms: number | null, predicting: boolean): void;
}

const BUTTONS: { action: Action; label: string; glyph: string }[] = [
  { action: "newTab", label: "New terminal", glyph: "+" },
  { action: "splitRight", label: "Split right", glyph: "◫" },
  { action: "splitDown", label: "Split down", glyph: "⊟" },
  { action: "close", label: "Close terminal", glyph: "✕" },
  { action: "sessions", label: "Sessions", glyph: "☰" },
  { action: "help", label: "Keyboard shortcuts", glyph: "?" },
];

export function createTabBar(bar: HTMLElement, status: HTMLElement, run: (action: Action) => void, select: (tab: number) => void, chord: (action: Action) => string): TabBar {
  const list = document.createElement("div");
  list.className = "tabs";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", "Terminals");
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const b of BUTTONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = b.glyph;
    button.dataset.action = b.action;
    button.setAttribute("aria-label", b.label);
    const key = chord(b.action);
    button.title = key ? `${b.label} (${key})` : b.label;
    if (key) button.setAttribute("aria-keyshortcuts", key.replace(/Ctrl/g, "Control"));
    button.addEventListener("mousedown", (e) => e.preventDefault()); // the terminal keeps the focus
    button.addEventListener("click", () => run(b.action));
    actions.append(button);
  }
  const latency = document.createElement("span");
  latency.id = "latency";
  latency.hidden = true;
  bar.append(list, actions, latency, status);

  return {
    render(m) {
      const tabs = m.tabs.map((t, i) => {
        const panes = leaves(t.root);
        const shown = m.focused && panes.includes(m.focused) ? m.focused : t.last;
        const state = WORST.find((s) => panes.some((p) => p.state === s)) ?? "live";
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "tab";
        tab.dataset.state = state;
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", String(i === m.active));
        const label = document.createElement("span");
        label.className = "label";
        label.textContent = panes.length > 1 ? `${shown.title} (${panes.length})` : shown.title;
        tab.append(label);
        tab.title = `${shown.title}: ${panes.length} terminal${panes.length === 1 ? "" : "s"}, ${state}`;
        tab.setAttribute("aria-label", `Tab ${i + 1}: ${tab.title}`);
        tab.addEventListener("mousedown", (e) => e.preventDefault());
        tab.addEventListener("click", () => select(i));
        return tab;
      });
      list.replaceChildren(...tabs);
      for (const b of actions.querySelectorAll<HTMLButtonElement>("button")) {
        const a = b.dataset.action;
        b.disabled = !m.focused && (a === "close" || a === "splitRight" || a === "splitDown");
      }
    },
    latency(ms, predicting) {
      latency.hidden = ms === null;
      if (ms === null) return;
      const r = Math.round(ms);
      latency.textContent = `${r} ms`;
      latency.dataset.level = r >= LATENCY_WARN_MS ? "warn" : "ok";
      latency.title = `Round trip to the server: ${r} ms (smoothed)${predicting ? "; typing is predicted (underlined until the server confirms it)" : ""}`;
      latency.setAttribute("aria-label", `Round trip ${r} milliseconds`);
    },
  };
}
