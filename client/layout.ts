// Owner: client (browser page). The workspace's layout as data: tabs, each a tree of splits whose
// leaves are panes; the tree operations (split, remove, walk); and its spelling in the page's
// address (`?layout=`, docs/client.md "Workspace"). Pure: no DOM, no connections.

/** One pane as the address names it: its session (null: start a new one), how it joins, a share link's grant. */
export interface PaneSpec {
  session: string | null;
  mode: "write" | "view";
  share: string | null;
}

/** A tab's panes: a leaf, or two subtrees side by side ("right") or one above the other ("down"). */
export type Tree<P> = { pane: P } | { dir: "right" | "down"; /** The first subtree's share, in percent (10-90). */ ratio: number; a: Tree<P>; b: Tree<P> };
export type Split<P> = Extract<Tree<P>, { dir: string }>;

/** Bounds on what an address may ask for (every pane is a socket and a program on the server). */
export const MAX_PANES = 16;
export const MAX_TABS = 16;
export const MIN_RATIO = 10;
export const MAX_RATIO = 90;
const MAX_DEPTH = 16;
const MAX_LAYOUT_CHARS = 4000;

export const isSplit = <P>(t: Tree<P>): t is Split<P> => "dir" in t;
export const clampRatio = (r: number): number => Math.min(MAX_RATIO, Math.max(MIN_RATIO, r));

/** The panes, left to right and top to bottom (the order of the address). */
export function leaves<P>(t: Tree<P>): P[] {
  return isSplit(t) ? [...leaves(t.a), ...leaves(t.b)] : [t.pane];
}

/** `at`'s leaf becomes a split: `at` first (left or top), `added` second, half each. */
export function splitAt<P>(t: Tree<P>, at: P, dir: "right" | "down", added: P): Tree<P> {
  if (!isSplit(t)) return t.pane === at ? { dir, ratio: 50, a: t, b: { pane: added } } : t;
  return { ...t, a: splitAt(t.a, at, dir, added), b: splitAt(t.b, at, dir, added) };
}

/** The tree without `p`'s leaf (its sibling takes the split's place); null when `p` was the only pane. */
export function removeLeaf<P>(t: Tree<P>, p: P): Tree<P> | null {
  if (!isSplit(t)) return t.pane === p ? null : t;
  const a = removeLeaf(t.a, p);
  const b = removeLeaf(t.b, p);
  if (!a) return b;
  if (!b) return a;
  return a === t.a && b === t.b ? t : { ...t, a, b };
}

export function mapTree<P, Q>(t: Tree<P>, f: (p: P) => Q): Tree<Q> {
  return isSplit(t) ? { dir: t.dir, ratio: t.ratio, a: mapTree(t.a, f), b: mapTree(t.b, f) } : { pane: f(t.pane) };
}

// ---- the address: ?layout=TAB~TAB~... ----
//
//   tab   := node
//   node  := leaf | ("r" | "d") RATIO "(" node "," node ")"    r: side by side, d: one above the other
//   leaf  := ["*"] [ID] ["." "v" ["." GRANT]]                  * the focused pane; no ID: a new session
//
// e.g. `r50(AbC123xyz_-Q,d60(*Q9w8e7r6t5y4,))~Zz00Zz00Zz00`: a tab of three panes (one of them
// starting a new session), the middle one focused, and a second tab. Session ids and grants are
// URL-safe base64 and never contain `()*,.~`; none of those needs escaping in a query.

const ID = /^[A-Za-z0-9_-]{1,128}/;

export interface DecodedLayout {
  tabs: Tree<PaneSpec>[];
  /** The focused pane: its tab, and its index among that tab's leaves. */
  focus: { tab: number; pane: number };
}

/** Spells a workspace for the address; `focused` marks the pane that has the focus. */
export function encodeLayout(tabs: Tree<PaneSpec>[], focused: PaneSpec | null): string {
  const node = (t: Tree<PaneSpec>): string => {
    if (isSplit(t)) return `${t.dir === "right" ? "r" : "d"}${Math.round(clampRatio(t.ratio))}(${node(t.a)},${node(t.b)})`;
    const p = t.pane;
    const mode = p.mode === "view" ? (p.share ? `.v.${p.share}` : ".v") : "";
    return `${p === focused ? "*" : ""}${p.session ?? ""}${mode}`;
  };
  return tabs.map(node).join("~");
}

/** Reads `?layout=`'s value; null for anything malformed or over the bounds (the page then starts one new pane). */
export function decodeLayout(text: string): DecodedLayout | null {
  if (text.length === 0 || text.length > MAX_LAYOUT_CHARS) return null;
  let i = 0;
  let panes = 0;
  let focus: { tab: number; pane: number } | null = null;
  let tabPanes = 0;
  const take = (re: RegExp): string | null => {
    const m = re.exec(text.slice(i));
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  const node = (depth: number, tab: number): Tree<PaneSpec> | null => {
    if (depth > MAX_DEPTH) return null;
    const split = /^([rd])(\d{1,2})\(/.exec(text.slice(i));
    if (split) {
      i += split[0].length;
      const a = node(depth + 1, tab);
      if (!a || text[i++] !== ",") return null;
      const b = node(depth + 1, tab);
      if (!b || text[i++] !== ")") return null;
      return { dir: split[1] === "r" ? "right" : "down", ratio: clampRatio(Number(split[2])), a, b };
    }
    if (take(/^\*/) !== null) {
      if (focus) return null;
      focus = { tab, pane: tabPanes };
    }
    const session = take(ID);
    let mode: PaneSpec["mode"] = "write";
    let share: string | null = null;
    if (take(/^\.v/) !== null) {
      mode = "view";
      if (take(/^\./) !== null && (share = take(ID)) === null) return null;
    }
    if (++panes > MAX_PANES) return null;
    tabPanes++;
    return { pane: { session, mode, share } };
  };
  const tabs: Tree<PaneSpec>[] = [];
  for (;;) {
    tabPanes = 0;
    const t = node(0, tabs.length);
    if (!t || tabs.push(t) > MAX_TABS) return null;
    if (i === text.length) break;
    if (text[i++] !== "~") return null;
  }
  return { tabs, focus: focus ?? { tab: 0, pane: 0 } };
}
