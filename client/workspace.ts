// Owner: client (browser page). The workspace: tabs of split panes, which pane has the focus,
// and the operations on them (new tab, split, close, move the focus, switch tabs, open a session
// of the server). It renders the tabs' split trees (splits.ts) into the page's terminal area and
// tells its owner (main.ts) when anything changed, for the address, the title and the tab bar.

import { sessionPath, type SessionInfo } from "../protocol/index.ts";
import { apiFetch } from "./credentials.ts";
import { dialogOpen, el, openDialog } from "./dialog.ts";
import { Emitter } from "./events.ts";
import { leaves, mapTree, MAX_PANES, removeLeaf, splitAt, type DecodedLayout, type PaneSpec, type Tree } from "./layout.ts";
import { createPane, type Pane, type PaneHost } from "./pane.ts";
import { renderTree } from "./splits.ts";

export const NEW_PANE: PaneSpec = Object.freeze({ session: null, mode: "write", share: null });

interface Tab {
  root: Tree<Pane>;
  panel: HTMLElement;
  /** The pane of this tab that had the focus last (it gets it back when the tab is selected). */
  last: Pane;
}

export type Direction = "left" | "right" | "up" | "down";
type CloseHow = "ask" | "end" | "detach";

export interface WorkspaceEvents {
  /** Panes, tabs, the focus, a title or a state changed. `layout`: the layout itself did (not just a state). */
  changed: { layout: boolean };
  /** Which pane has the focus changed (null: no pane left). */
  focus: Pane | null;
  /** A notice from the focused pane's features. */
  notice: string;
}

export class Workspace {
  readonly tabs: Tab[] = [];
  active = 0;
  focused: Pane | null = null;
  private readonly events = new Emitter<WorkspaceEvents>();
  private readonly paneHost: PaneHost;
  private readonly empty: HTMLElement;
  private firstPane = true;

  constructor(
    private readonly area: HTMLElement,
    host: Omit<PaneHost, "focused" | "changed" | "notice">,
  ) {
    this.paneHost = {
      ...host,
      focused: (p) => this.setFocus(p, false),
      changed: () => this.emit(false),
      notice: (p, text) => p === this.focused && this.events.emit("notice", text),
    };
    this.empty = el("div", { className: "empty", hidden: true }, "No terminal open. Start one with the New terminal button, or open a session of this server.");
    area.append(this.empty);
  }

  on<K extends keyof WorkspaceEvents>(type: K, fn: (v: WorkspaceEvents[K]) => void) {
    return this.events.on(type, fn);
  }

  /** Every pane, tab by tab, in the address's order. */
  get panes(): Pane[] {
    return this.tabs.flatMap((t) => leaves(t.root));
  }
  tabOf(p: Pane): number {
    return this.tabs.findIndex((t) => leaves(t.root).includes(p));
  }
  /** The pane an element belongs to (a drop target), else the focused one. */
  paneAt(target: EventTarget | null): Pane | null {
    const section = target instanceof Element ? target.closest<HTMLElement>(".pane") : null;
    return this.panes.find((p) => p.element === section) ?? this.focused;
  }
  /** The layout as the address spells it. */
  specs(): Tree<PaneSpec>[] {
    return this.tabs.map((t) => mapTree(t.root, (p) => p.spec));
  }
  focusedSpec(specs: Tree<PaneSpec>[]): PaneSpec | null {
    if (!this.focused) return null;
    const t = this.tabOf(this.focused);
    return leaves(specs[t]!)[leaves(this.tabs[t]!.root).indexOf(this.focused)] ?? null;
  }

  private emit(layout: boolean): void {
    this.events.emit("changed", { layout });
  }

  /** A pane whose element is in the page before its terminal opens (xterm measures its font there). */
  private makePane(spec: PaneSpec, panel: HTMLElement): Pane {
    let marks = false;
    if (this.firstPane) (marks = true), (this.firstPane = false); // the page's first milestones are the first pane's
    return createPane(this.paneHost, spec, marks, (element) => panel.append(element));
  }

  private newPanel(): HTMLElement {
    const panel = el("div", { className: "tab-panel" });
    panel.setAttribute("role", "tabpanel");
    this.area.append(panel);
    return panel;
  }

  /** Builds the workspace the address describes (or one new pane), without connecting. */
  restore(layout: DecodedLayout | null): void {
    const wanted = layout ?? { tabs: [{ pane: NEW_PANE }], focus: { tab: 0, pane: 0 } };
    for (const t of wanted.tabs) {
      const panel = this.newPanel();
      const root = mapTree(t, (spec) => this.makePane(spec, panel));
      this.tabs.push({ root, panel, last: leaves(root)[0]! });
    }
    const tab = this.tabs[Math.min(wanted.focus.tab, this.tabs.length - 1)]!;
    const focus = leaves(tab.root)[wanted.focus.pane] ?? leaves(tab.root)[0]!;
    for (const t of this.tabs) this.render(t);
    this.setFocus(focus, true);
  }

  /** Connects every pane that is not connected yet (after sign-in). */
  connectAll(): void {
    for (const p of this.panes) if (p.conn.socket === null && p.conn.state === "connecting") p.conn.connect();
  }

  private room(): boolean {
    if (this.panes.length < MAX_PANES) return true;
    this.focused?.notify(`at most ${MAX_PANES} terminals in one page`);
    return false;
  }

  newTab(spec: PaneSpec = NEW_PANE, connect = true): Pane | null {
    if (!this.room()) return null;
    const panel = this.newPanel();
    const pane = this.makePane(spec, panel);
    const tab: Tab = { root: { pane }, panel, last: pane };
    this.tabs.push(tab);
    this.render(tab);
    this.setFocus(pane, true);
    if (connect) pane.conn.connect();
    return pane;
  }

  split(dir: "right" | "down", spec: PaneSpec = NEW_PANE): Pane | null {
    const at = this.focused;
    if (!at) return this.newTab(spec);
    if (!this.room()) return null;
    const tab = this.tabs[this.tabOf(at)]!;
    const pane = this.makePane(spec, tab.panel);
    tab.root = splitAt(tab.root, at, dir, pane);
    this.render(tab);
    this.setFocus(pane, true);
    pane.conn.connect();
    return pane;
  }

  /** Opens a session of the server: focuses its pane if one shows it already, else a new tab or a split. */
  openSession(info: SessionInfo, where: "tab" | "right" | "down"): Pane | null {
    const shown = this.panes.find((p) => p.conn.session === info.id && p.conn.state !== "ended");
    if (shown) return this.setFocus(shown, true), shown;
    const spec = { session: info.id, mode: "write" as const, share: null };
    return where === "tab" ? this.newTab(spec) : this.split(where, spec);
  }

  /**
   * Closes a pane. A write-mode pane's session is ended: closing is the explicit gesture, like a
   * terminal's close button (a reload, a dropped network or a closed browser tab only detach).
   * "ask" asks first when ending it would cost something the page can see (a program running, a
   * password prompt, others attached): end it, keep it running detached (found again in the
   * session switcher), or cancel. A view-only pane, or one whose session ended, just goes.
   */
  async close(pane: Pane | null = this.focused, how: CloseHow = "ask"): Promise<void> {
    if (!pane || !this.panes.includes(pane)) return;
    const session = pane.conn.session;
    let end = how !== "detach" && pane.conn.mode === "write" && pane.conn.state !== "ended" && session !== null;
    if (end && how === "ask") {
      const why = await busyReasons(pane);
      if (why.length > 0) {
        const d = openDialog<"end" | "detach">(`Close terminal “${pane.title}”?`, [
          el("p", {}, `Its session ${why.join("; ")}.`),
          el("p", {}, "End the session (its programs are stopped), or keep it running without a terminal: open it again from the session list. The server ends sessions nobody attaches to after its grace period."),
        ], [{ label: "End session", value: "end" }, { label: "Keep running", value: "detach", primary: true }, { label: "Cancel", value: null as never }], "Close terminal");
        const choice = await d.result;
        if (choice === null || !this.panes.includes(pane)) return pane.focus();
        end = choice === "end";
      }
    }
    this.remove(pane);
    if (end && session) {
      const r = await apiFetch(sessionPath(session).slice(1), { method: "DELETE" }).catch(() => null);
      if (r && !r.ok && r.status !== 404) this.focused?.notify(`the session could not be ended (${r.status}); it stays detached`);
    }
  }

  private remove(pane: Pane): void {
    const i = this.tabOf(pane);
    const tab = this.tabs[i]!;
    const order = leaves(tab.root);
    const root = removeLeaf(tab.root, pane);
    pane.dispose();
    let next: Pane | null;
    if (root) {
      tab.root = root;
      const rest = leaves(root);
      next = rest[Math.min(order.indexOf(pane), rest.length - 1)]!;
      if (tab.last === pane) tab.last = next;
      this.render(tab);
    } else {
      tab.panel.remove();
      this.tabs.splice(i, 1);
      const t = this.tabs[Math.min(i, this.tabs.length - 1)];
      next = t?.last ?? null;
    }
    if (this.focused === pane || !next) this.setFocus(next, true);
    else this.emit(true);
  }

  /** Gives `p` the focus (and its tab); `move`: also the keyboard focus (a key or a button, not a click). */
  setFocus(p: Pane | null, move: boolean): void {
    const changed = p !== this.focused;
    this.focused = p;
    if (p) {
      this.active = this.tabOf(p);
      this.tabs[this.active]!.last = p;
    }
    this.tabs.forEach((t, i) => {
      t.panel.classList.toggle("active", i === this.active);
      t.panel.inert = i !== this.active; // out of sight, out of the tab order and the accessibility tree
    });
    if (p && move) p.focus(); // once its tab is shown: hidden elements take no focus
    for (const q of this.panes) q.element.classList.toggle("focused", q === p);
    this.empty.hidden = p !== null;
    if (changed) this.events.emit("focus", p);
    this.emit(true);
  }

  selectTab(i: number): void {
    const t = this.tabs[(i + this.tabs.length) % Math.max(1, this.tabs.length)];
    if (t) this.setFocus(t.last, true);
  }
  nextTab(step: 1 | -1): void {
    this.selectTab(this.active + step);
  }

  /** Moves the focus to the nearest pane in that direction, in the focused pane's tab. */
  focusDirection(dir: Direction): void {
    const from = this.focused;
    if (!from) return;
    const f = from.element.getBoundingClientRect();
    let best: Pane | null = null;
    let bestScore = Infinity;
    for (const p of leaves(this.tabs[this.active]!.root)) {
      if (p === from) continue;
      const r = p.element.getBoundingClientRect();
      const ahead = dir === "right" ? r.left - f.right : dir === "left" ? f.left - r.right : dir === "down" ? r.top - f.bottom : f.top - r.bottom;
      if (ahead < -2) continue; // not in that direction
      const across = dir === "left" || dir === "right" ? Math.abs(r.top + r.height / 2 - (f.top + f.height / 2)) : Math.abs(r.left + r.width / 2 - (f.left + f.width / 2));
      const overlaps = dir === "left" || dir === "right" ? r.bottom > f.top && r.top < f.bottom : r.right > f.left && r.left < f.right;
      const score = (overlaps ? 0 : 1e6) + ahead * 1000 + across;
      if (score < bestScore) (best = p), (bestScore = score);
    }
    if (best) this.setFocus(best, true);
  }

  private render(tab: Tab): void {
    const panes = leaves(tab.root);
    tab.panel.dataset.count = String(panes.length);
    const root = renderTree(tab.root, (p) => p.element, (_s, done) => done && this.emit(true));
    root.style.flex = "1 1 0"; // the tab's whole area
    tab.panel.replaceChildren(root);
  }

  /** Whether the workspace's shortcuts may act (no dialog is open). */
  get interactive(): boolean {
    return !dialogOpen();
  }
}

/** Why ending this pane's session would cost something, as far as the page can tell. */
async function busyReasons(pane: Pane): Promise<string[]> {
  const why: string[] = [];
  const m = pane.conn.termMode;
  const b = pane.view.term.buffer.active;
  // The server reads the terminal's modes when output arrives; a shell that starts a silent
  // command (sleep, a build that has not printed yet) changes them after its last output. So a
  // cursor at the start of an empty line (no prompt there) counts as a program running too.
  const noPrompt = b.cursorX === 0 && (b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? "") === "";
  if (b.type === "alternate") why.push("shows a full-screen program (an editor, a pager...)");
  else if (m && !m.echo && m.canonical) why.push("is asking for a password or other hidden input");
  else if ((m?.echo && m.canonical) || noPrompt) why.push("is running a program (the shell is not at its prompt)");
  const id = pane.conn.session;
  if (id) {
    const r = await apiFetch(sessionPath(id).slice(1)).catch(() => null);
    const info = r?.ok ? ((await r.json().catch(() => null)) as SessionInfo | null) : null;
    const others = (info?.clients ?? 1) - 1;
    if (others > 0) why.push(`has ${others} other client${others === 1 ? "" : "s"} attached (another tab or browser is showing it)`);
  }
  return why;
}
