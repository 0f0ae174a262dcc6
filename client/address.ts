// Owner: client (browser page). The page's address: the session it carries (the token in it is credentials.ts's).

import { Query } from "../protocol/index.ts";

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
