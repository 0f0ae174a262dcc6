// The architecture the compiler cannot see (docs/architecture.md, "Layers"): which folder may
// import which, and no import circles. Reads every module's imports (static and dynamic) and
// fails on an edge the table forbids or a cycle, naming it.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./harness.ts";

/** Layer of a file (by folder); the order is not a rank: see ALLOWED. */
function layerOf(file: string): string | null {
  const r = relative(ROOT, file);
  if (r.startsWith("protocol/")) return "protocol";
  if (r.startsWith("client/")) return "client";
  if (r.startsWith("server/core/")) return "core";
  if (r.startsWith("server/web/")) return "web";
  if (r.startsWith("server/config/")) return "config";
  if (r.startsWith("server/")) return "root"; // main.ts, app.ts: the composition root
  return null;
}
/** Who may import whom. Everything may import its own layer. */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  core: ["protocol"],
  config: ["protocol", "core"],
  web: ["protocol", "core"],
  client: ["protocol"],
  root: ["protocol", "core", "web", "config", "client"], // app.ts embeds the page (HTML imports)
};
/** Single files of a layer that may reach one more: the assets module serves the page's bundled files. */
const EXCEPTIONS: Record<string, string[]> = {
  "server/web/assets.ts": ["client"],
  "server/config/version.ts": ["package"],
  "server/core/version.ts": ["package"],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|tsx)$/.test(n) && !n.endsWith(".d.ts") ? [p] : [];
  });
}
const files = ["protocol", "client", "server"].flatMap((d) => walk(join(ROOT, d)));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)|^\s*import\s*["'](\.{1,2}\/[^"']+)["']/gm;
const edges = new Map<string, string[]>();
for (const f of files) {
  const src = readFileSync(f, "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(IMPORT)) out.push(resolve(dirname(f), m[1] ?? m[2] ?? m[3]!));
  edges.set(f, out);
}
const rel = (f: string) => relative(ROOT, f);

test("every import follows the layer table (protocol <- core <- web/config <- the composition root; the page only uses protocol)", () => {
  const bad: string[] = [];
  for (const [from, tos] of edges) {
    const a = layerOf(from)!;
    for (const to of tos) {
      if (to.endsWith("package.json")) {
        if (!EXCEPTIONS[rel(from)]?.includes("package")) bad.push(`${rel(from)} -> package.json`);
        continue;
      }
      const b = layerOf(to);
      if (b === null) continue; // a data file next to the module (bunty-get.sh), checked by the compiler
      if (a === b || ALLOWED[a]!.includes(b) || EXCEPTIONS[rel(from)]?.includes(b)) continue;
      bad.push(`${rel(from)} (${a}) -> ${rel(to)} (${b})`);
    }
  }
  expect(bad).toEqual([]);
});

test("there is no import circle", () => {
  // Tarjan's strongly connected components over the module graph.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
  const circles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(rel(w));
      } while (w !== v);
      if (scc.length > 1) circles.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  expect(circles).toEqual([]);
});

test("the reader of imports sees the module graph (a sanity check of this test itself)", () => {
  expect(edges.get(join(ROOT, "server/app.ts"))!.length).toBeGreaterThan(5);
  expect(files.length).toBeGreaterThan(40);
});
