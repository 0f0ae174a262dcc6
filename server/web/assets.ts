// The browser client's files, served by our own routes (so every response gets the security
// headers and the same guard as the API). In the single executable they are embedded by
// `bun build --compile` (the HTML imports' `files`); from source they are bundled in memory at
// start. Only these exact paths exist: nothing else on disk is reachable through them.

import { join } from "node:path";
import { Paths } from "../../protocol/index.ts";
import { OPTIONS_META } from "../../protocol/options.ts";
import terminal from "../../client/index.html";
import recordings from "../../client/recordings.html";
import sessions from "../../client/sessions.html";

export interface Asset {
  body: Uint8Array;
  /** The same bytes gzipped once at start, when that saves anything (the page's script: 567 KB -> 157 KB). */
  gzip: Uint8Array | null;
  type: string;
}

/** Compressed once at start-up, never per request. */
function asset(body: Uint8Array, type: string): Asset {
  const gz = Bun.gzipSync(body as Uint8Array<ArrayBuffer>, { level: 9 });
  return { body, type, gzip: gz.length < body.length * 0.9 ? gz : null };
}

/** URL path ("/", "/sessions", "/chunk-x.js") to file. */
export type Assets = Map<string, Asset>;

/** Each page: its URL path, its source, and the bundle the HTML import gives. */
const PAGES = [
  { path: "/", source: "index.html", bundle: terminal },
  { path: Paths.sessionsPage, source: "sessions.html", bundle: sessions },
  { path: "/recordings", source: "recordings.html", bundle: recordings },
] as const;

// Asset URLs in the pages are made relative ("./chunk-x.js") so they also work under a base path.
const relative = (html: Uint8Array) =>
  new TextEncoder().encode(new TextDecoder().decode(html).replace(/(src|href)="\/(?!\/)/g, '$1="./'));

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * The terminal page with the server's display defaults (`-t`, already checked) in a meta tag the
 * page reads before it builds the terminal; no tag when there are none. Made at start and on reload.
 */
export function withPageOptions(page: Asset, options: Record<string, string>): Asset {
  const query = new URLSearchParams(options).toString();
  return query ? withMeta(page, OPTIONS_META, query) : page;
}

/** A page with `<meta name=NAME content=CONTENT>` added to its head (the instance's name, the display defaults). */
export function withMeta(page: Asset, name: string, content: string): Asset {
  const html = new TextDecoder().decode(page.body);
  const meta = `<meta name="${escapeAttr(name)}" content="${escapeAttr(content)}">`;
  const at = html.indexOf("</head>");
  if (at < 0) throw new Error("a page has no </head>");
  return asset(new TextEncoder().encode(html.slice(0, at) + meta + html.slice(at)), page.type);
}

/** The paths of the HTML pages (the terminal, sessions, recordings). */
export const PAGE_PATHS: readonly string[] = PAGES.map((p) => p.path);

export async function loadAssets(): Promise<Assets> {
  const assets: Assets = new Map();
  const embedded = PAGES.every((p) => (p.bundle as unknown as Bun.HTMLBundle).files?.length);
  if (embedded) {
    for (const page of PAGES) {
      for (const f of (page.bundle as unknown as Bun.HTMLBundle).files!) {
        const body = new Uint8Array(await Bun.file(f.path).arrayBuffer());
        const name = f.path.slice(f.path.lastIndexOf("/") + 1);
        if (f.loader === "html") assets.set(page.path, asset(relative(body), f.headers["content-type"]));
        else assets.set(`/${name}`, asset(body, f.headers["content-type"]));
      }
    }
    return assets;
  }
  const built = await Bun.build({ entrypoints: PAGES.map((p) => join(import.meta.dir, "../../client", p.source)), minify: true });
  if (!built.success) throw new Error(`cannot bundle the client: ${built.logs.map(String).join("; ")}`);
  for (const o of built.outputs) {
    const name = o.path.replace(/^\.\//, "");
    const body = new Uint8Array(await o.arrayBuffer());
    const page = PAGES.find((p) => p.source === name);
    if (page) assets.set(page.path, asset(relative(body), o.type));
    else assets.set(`/${name}`, asset(body, o.type));
  }
  return assets;
}
