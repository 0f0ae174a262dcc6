// Owner: client (browser page). The session switcher: the sessions this server holds (GET
// api/sessions), detached ones first (nobody is showing them: a closed browser tab, a pane kept
// running), each with a button that opens it in a new tab or beside the focused pane; the ones this
// page shows already are marked. openSwitcher() shows it in the page's dialog.

import { Paths, type SessionInfo } from "../protocol/index.ts";
import { apiFetch } from "./credentials.ts";
import { el, openDialog } from "./dialog.ts";

export type Where = "tab" | "right" | "down";

/** Detached first, then the most recently active. */
export function sortSessions(list: SessionInfo[]): SessionInfo[] {
  return [...list].sort((a, b) => Number(a.clients > 0) - Number(b.clients > 0) || Date.parse(b.lastActivity) - Date.parse(a.lastActivity));
}

const ago = (iso: string) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
};

/** Shows the switcher; `shown(id)`: whether a pane of this page shows that session; `open` opens one. */
export function openSwitcher(shown: (id: string) => boolean, open: (info: SessionInfo, where: Where) => void): void {
  const where = el("select", {});
  where.setAttribute("aria-label", "Open in");
  for (const [value, text] of [["tab", "a new tab"], ["right", "a split to the right"], ["down", "a split below"]] as const) where.append(el("option", { value, textContent: text }));
  const note = el("p", { className: "note", textContent: "loading the sessions..." });
  note.setAttribute("role", "status");
  const list = el("ul", { className: "sessions" });
  list.setAttribute("aria-label", "Sessions of this server");
  const d = openDialog<null>("Sessions", [el("label", {}, "Open in ", where), note, list], [{ label: "Close", value: null }]);
  d.element.classList.add("switcher");

  void apiFetch(Paths.sessions.slice(1)).then(async (r) => {
    if (!r.ok) throw new Error(r.status === 401 ? "not signed in" : `the server answered ${r.status}`);
    const sessions = sortSessions((await r.json()) as SessionInfo[]);
    note.textContent = sessions.length ? `${sessions.length} session${sessions.length === 1 ? "" : "s"}; detached ones first` : "no sessions";
    list.replaceChildren(...sessions.map((s) => {
      const here = shown(s.id);
      const state = s.clients === 0 ? "detached" : here ? "in this page" : `${s.clients} client${s.clients === 1 ? "" : "s"}`;
      const open_ = el("button", { type: "button", textContent: here ? "Show" : "Open" });
      open_.setAttribute("aria-label", `${here ? "Show" : "Open"} session ${s.id}`);
      open_.addEventListener("click", () => {
        d.close(null);
        open(s, where.value as Where);
      });
      const item = el("li", {}, open_, el("code", { textContent: s.command.join(" ").slice(0, 80) }), el("span", { className: "meta", textContent: ` ${state} · ${s.cols}x${s.rows} · active ${ago(s.lastActivity)} · ${s.id}` }));
      item.dataset.session = s.id;
      item.dataset.clients = String(s.clients);
      return item;
    }));
    list.querySelector("button")?.focus();
  }).catch((e) => (note.textContent = `cannot list the sessions: ${(e as Error).message}`));
}
