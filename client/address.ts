// Owner: client (browser page). The page's address: the session it carries, and the one-time token traded for a cookie.

import { Limits, Paths, Query } from "../protocol/index.ts";

/** Puts the session in the address (so a reload or a copied link finds it), or drops it and the mode. */
export function setUrl(session: string | null): void {
  const url = new URL(location.href);
  if (session) url.searchParams.set(Query.session, session);
  else {
    url.searchParams.delete(Query.session);
    url.searchParams.delete(Query.mode);
  }
  history.replaceState(history.state, "", url);
}

/** The address bunty prints carries the token once: trade it for an HttpOnly cookie and drop it from the address bar. */
export async function signIn(): Promise<void> {
  const url = new URL(location.href);
  const token = url.searchParams.get(Query.token);
  if (token === null) return;
  url.searchParams.delete(Query.token);
  history.replaceState(history.state, "", url);
  await fetch(new URL(Paths.auth.slice(1), location.href), { method: "POST", headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(Limits.requestTimeoutMs) }).catch(() => {});
}

