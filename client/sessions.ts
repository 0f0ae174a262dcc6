// The sessions page (/sessions), an entry point: live sessions with command, age and clients;
// attach, attach view-only, end, and copy a view-only share link; sign out. Refreshes every few
// seconds. setupSessionsPage() does it all; the module calls it once, at the end.

import { Paths, Query, sessionPath, SessionPaths, type SessionInfo, type ShareLink } from "../protocol/index.ts";
import { signOut } from "./credentials.ts";
import { age, api, button, cell, link, note } from "./pages.ts";

const REFRESH_MS = 3000;

/** The terminal page with these query parameters ("./": relative, so the server's base path is kept). */
const at = (params: Record<string, string>) => `./${Paths.page.slice(1)}?${new URLSearchParams(params)}`;

async function share(id: string): Promise<void> {
  const { path } = await api<ShareLink>(sessionPath(id, SessionPaths.share).slice(1), { method: "POST" });
  // The server answers with an absolute path (base path included); make it a full address.
  const url = new URL(path, location.origin).href;
  await navigator.clipboard?.writeText(url).catch(() => {});
  note(`view-only link (copied if the browser allowed it): ${url}`);
}

function setupSessionsPage(): void {
  const rows = document.getElementById("rows")!;

  async function end(id: string): Promise<void> {
    if (!confirm(`End session ${id}? Its programs are stopped.`)) return;
    await api(sessionPath(id).slice(1), { method: "DELETE" });
    await refresh();
  }

  async function refresh(): Promise<void> {
    try {
      const list = await api<SessionInfo[]>(Paths.sessions.slice(1));
      rows.replaceChildren(
        ...list.map((s) => {
          const tr = document.createElement("tr");
          tr.dataset.session = s.id;
          tr.append(
            cell(s.id), cell(s.command.join(" ")), cell(age(s.created)), cell(String(s.clients)), cell(`${s.cols}x${s.rows}`),
            cell([
              link("attach", at({ [Query.session]: s.id })), document.createTextNode(" "),
              link("view", at({ [Query.session]: s.id, [Query.mode]: "view" })), document.createTextNode(" "),
              button("share", () => void share(s.id).catch((e) => note(String(e.message)))),
              button("end", () => void end(s.id).catch((e) => note(String(e.message)))),
            ]),
          );
          return tr;
        }),
      );
      if (list.length === 0) note("no live sessions");
      else if (document.getElementById("note")!.textContent === "no live sessions") note("");
    } catch (e) {
      note((e as Error).message);
    }
  }

  document.getElementById("sign-out")!.addEventListener("click", () => {
    void signOut().then(() => {
      rows.replaceChildren();
      note("signed out: open the address bunty printed (with its token) to sign in again");
    });
  });

  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
}

setupSessionsPage();
