// The sessions page (/sessions): live sessions with command, age and clients; attach, attach
// view-only, end, and copy a view-only share link; sign out. Refreshes every few seconds.

import { Query } from "../protocol/index.ts";
import { signOut } from "./credentials.ts";
import { age, api, button, cell, link, note } from "./pages.ts";

const REFRESH_MS = 3000;

interface Info { id: string; pid: number; command: string[]; created: string; cols: number; rows: number; clients: number }

const rows = document.getElementById("rows")!;
const at = (params: Record<string, string>) => `./?${new URLSearchParams(params)}`;

async function share(id: string): Promise<void> {
  const { path } = await api<{ path: string }>(`api/sessions/${encodeURIComponent(id)}/share`, { method: "POST" });
  // The server answers with an absolute path (base path included); make it a full address.
  const url = new URL(path, location.origin).href;
  await navigator.clipboard?.writeText(url).catch(() => {});
  note(`view-only link (copied if the browser allowed it): ${url}`);
}

async function end(id: string): Promise<void> {
  if (!confirm(`End session ${id}? Its programs are stopped.`)) return;
  await api(`api/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
  await refresh();
}

async function refresh(): Promise<void> {
  try {
    const list = await api<Info[]>("api/sessions");
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
