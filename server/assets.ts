// The browser client's files, served by our own routes (so every response gets the security
// headers and the same guard as the API). In the single executable they are embedded by
// `bun build --compile` (the HTML import's `files`); from source they are bundled in memory at
// start. Only these exact paths exist: nothing else on disk is reachable through them.

import { join } from "node:path";
import page from "../client/index.html";

export interface Asset {
  body: Uint8Array;
  type: string;
}

/** URL path ("/", "/chunk-x.js") to file. */
export type Assets = Map<string, Asset>;

// Asset URLs in the page are made relative ("./chunk-x.js") so the page also works under a base path.
const relative = (html: string) => html.replace(/(src|href)="\/(?!\/)/g, '$1="./');

export async function loadAssets(): Promise<Assets> {
  const assets: Assets = new Map();
  const files = (page as unknown as Bun.HTMLBundle).files;
  if (files?.length) {
    for (const f of files) {
      const body = new Uint8Array(await Bun.file(f.path).arrayBuffer());
      const name = f.path.slice(f.path.lastIndexOf("/") + 1);
      if (f.loader === "html") assets.set("/", { body: new TextEncoder().encode(relative(new TextDecoder().decode(body))), type: f.headers["content-type"] });
      else assets.set(`/${name}`, { body, type: f.headers["content-type"] });
    }
    return assets;
  }
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "../client/index.html")], minify: true });
  if (!built.success) throw new Error(`cannot bundle the client: ${built.logs.map(String).join("; ")}`);
  for (const o of built.outputs) {
    const name = o.path.replace(/^\.\//, "");
    const body = new Uint8Array(await o.arrayBuffer());
    if (name.endsWith(".html")) assets.set("/", { body: new TextEncoder().encode(relative(new TextDecoder().decode(body))), type: o.type });
    else assets.set(`/${name}`, { body, type: o.type });
  }
  return assets;
}
