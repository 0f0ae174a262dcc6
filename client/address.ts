// Owner: client (browser page). The page's address: which sessions it shows and how they are laid
// out (the token in it is credentials.ts's). One pane: `?session=ID[&mode=view&share=G]`, as links
// from the sessions page and share links have always been. More: `?layout=` (layout.ts spells it).
// Every other parameter (display options, workspace options) is kept as it is. docs/client.md, "Workspace".

import { Query } from "../protocol/index.ts";
import { decodeLayout, encodeLayout, isSplit, leaves, type DecodedLayout, type PaneSpec, type Tree } from "./layout.ts";

/** The page's own parameter for a workspace of more than one pane (the server never reads it). */
export const LAYOUT_PARAM = "layout";

/** The workspace the address describes; null: none (one new pane). */
export function readAddress(): DecodedLayout | null {
  const params = new URLSearchParams(location.search);
  const layout = params.get(LAYOUT_PARAM);
  if (layout) {
    const decoded = decodeLayout(layout);
    if (decoded) return decoded;
    console.warn(`bunty: the address's layout is not one the page can read; starting one new terminal`);
  }
  const session = params.get(Query.session);
  if (!session) return null;
  const view = params.get(Query.mode) === "view";
  const spec: PaneSpec = { session, mode: view ? "view" : "write", share: params.get(Query.share) };
  return { tabs: [{ pane: spec }], focus: { tab: 0, pane: 0 } };
}

/** Puts the workspace in the address (replacing the entry: a reload or a copied link finds it; Back is not for panes). */
export function writeAddress(tabs: Tree<PaneSpec>[], focused: PaneSpec | null): void {
  const url = new URL(location.href);
  const params = url.searchParams;
  for (const k of [LAYOUT_PARAM, Query.session, Query.mode, Query.share]) params.delete(k);
  const one = tabs.length === 1 && !isSplit(tabs[0]!) ? leaves(tabs[0]!)[0]! : null;
  let layout = "";
  if (one) {
    // One pane: the form links have always had. Once its session ended it is dropped (the mode with
    // it), so a reload starts a fresh shell instead of finding nothing.
    if (one.session) {
      params.set(Query.session, one.session);
      if (one.mode === "view") params.set(Query.mode, "view");
      if (one.share) params.set(Query.share, one.share);
    }
  } else if (tabs.length > 0) {
    layout = encodeLayout(tabs, focused);
  }
  // The layout's characters need no escaping in a query; URLSearchParams would escape them anyway.
  const rest = params.toString();
  url.search = [rest, layout && `${LAYOUT_PARAM}=${layout}`].filter(Boolean).join("&");
  if (url.href !== location.href) history.replaceState(history.state, "", url);
}
