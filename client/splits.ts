// Owner: client (browser page). A tab's split tree as DOM: nested flex boxes holding the panes'
// elements, and the dividers between them, resizable by dragging (pointer) or with the arrow keys
// (a focusable separator). renderTree() builds it; the panes' elements are moved, not rebuilt, so
// their terminals keep their state. Each terminal refits itself (its connection observes its box).

import { clampRatio, isSplit, type Split, type Tree } from "./layout.ts";

/** The divider's thickness (CSS px); keep in step with style.css. */
const DIVIDER_PX = 5;
/** Arrow keys on a focused divider move it this much (percent). */
const KEY_STEP = 5;

/** Sets where a split's first child ends. */
function applyRatio(el: HTMLElement, ratio: number): void {
  (el.firstElementChild as HTMLElement).style.flex = `0 0 calc(${ratio}% - ${DIVIDER_PX / 2}px)`;
  el.children[1]?.setAttribute("aria-valuenow", String(Math.round(ratio)));
}

/**
 * The element for `t`: a pane's own element, or a split box of its two subtrees and a divider.
 * `resized(split, done)` is called as a divider moves (done: the drag or key press ended).
 */
export function renderTree<P>(t: Tree<P>, element: (p: P) => HTMLElement, resized: (s: Split<P>, done: boolean) => void): HTMLElement {
  if (!isSplit(t)) {
    const el = element(t.pane);
    el.style.flex = "1 1 0";
    return el;
  }
  const box = document.createElement("div");
  box.className = "split";
  box.dataset.dir = t.dir;
  const a = renderTree(t.a, element, resized);
  const b = renderTree(t.b, element, resized);
  const divider = document.createElement("div");
  divider.className = "divider";
  divider.tabIndex = 0;
  divider.setAttribute("role", "separator");
  // A split side by side has a vertical divider.
  divider.setAttribute("aria-orientation", t.dir === "right" ? "vertical" : "horizontal");
  divider.setAttribute("aria-label", t.dir === "right" ? "Resize the terminals side by side" : "Resize the terminals above and below");
  divider.setAttribute("aria-valuemin", "10");
  divider.setAttribute("aria-valuemax", "90");
  box.append(a, divider, b);
  b.style.flex = "1 1 0";
  applyRatio(box, t.ratio);

  const set = (ratio: number, done: boolean) => {
    t.ratio = clampRatio(ratio);
    applyRatio(box, t.ratio);
    resized(t, done);
  };
  divider.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    divider.setPointerCapture(e.pointerId);
    box.classList.add("resizing");
    const move = (ev: PointerEvent) => {
      const r = box.getBoundingClientRect();
      const at = t.dir === "right" ? (ev.clientX - r.left) / r.width : (ev.clientY - r.top) / r.height;
      set(at * 100, false);
    };
    const up = (ev: PointerEvent) => {
      divider.removeEventListener("pointermove", move);
      divider.removeEventListener("pointerup", up);
      divider.removeEventListener("pointercancel", up);
      box.classList.remove("resizing");
      if (divider.hasPointerCapture(ev.pointerId)) divider.releasePointerCapture(ev.pointerId);
      set(t.ratio, true);
    };
    divider.addEventListener("pointermove", move);
    divider.addEventListener("pointerup", up);
    divider.addEventListener("pointercancel", up);
  });
  divider.addEventListener("keydown", (e) => {
    const back = t.dir === "right" ? "ArrowLeft" : "ArrowUp";
    const fwd = t.dir === "right" ? "ArrowRight" : "ArrowDown";
    if (e.key !== back && e.key !== fwd) return;
    e.preventDefault();
    set(t.ratio + (e.key === fwd ? KEY_STEP : -KEY_STEP), true);
  });
  return box;
}
