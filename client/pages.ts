// Helpers shared by the small pages (sessions, recordings): API calls relative to the page,
// and building table rows from text only (nothing from the server is ever parsed as HTML).

import { apiFetch } from "./credentials.ts";

/** Fetches JSON from a path relative to the page (so a --base-path works), with the sign-in's proof; throws with a readable reason. */
export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await apiFetch(path, init);
  if (r.status === 401) throw new Error("not signed in: open the address bunty printed (with its token) once, then come back");
  if (!r.ok) throw new Error(`${r.status}: ${(await r.json().catch(() => null))?.message ?? r.statusText}`);
  return (r.status === 204 ? null : r.json()) as Promise<T>;
}

/** A table cell holding text, or the given elements. */
export function cell(content: string | Node[]): HTMLTableCellElement {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content;
  else td.append(...content);
  return td;
}

export function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

export function link(label: string, href: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.textContent = label;
  a.href = href;
  return a;
}

export const note = (text: string) => (document.getElementById("note")!.textContent = text);

export const age = (iso: string) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
};
