// Browser check of the workspace (issue #14): tabs and splits of panes, each its own session,
// through reloads and dropped sockets; the keyboard shortcuts and buttons of docs/client.md; the
// latency figure and predictive echo over a slow link (a 150 ms-each-way loopback proxy of our
// own), never at `read -s` or in vim; the page's cost with 1 and 8 panes. Real Chromium, real
// shells, a real server (BUNTY_SERVER_CMD runs another build, e.g. dist/bunty).
// Run: node_modules/.bin/bun tests/browser/workspace-check.ts   (prints "N passed, N failed")

import { chromium, type Browser } from "playwright-core";
import { startServer } from "../harness.ts";
import type { DelayProxy } from "./delay-proxy.ts";
import { CHROMIUM, CHROMIUM_ARGS, check, metrics, results, screenshots } from "./helpers.ts";
import { checkCost } from "./workspace-cost.ts";
import { checkKeys } from "./workspace-keys.ts";
import { checkPanes } from "./workspace-panes.ts";
import { checkSlowLink } from "./workspace-slow.ts";

const bin = process.env.BUNTY_SERVER_CMD?.split(/\s+/).filter(Boolean);
const server = await startServer({ args: ["--log-level", "info"], bin });
let browser: Browser | null = null;
let proxy: DelayProxy | null = null;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const sections: [string, (p: import("playwright-core").Page) => Promise<unknown>][] = [
    ["panes", (p) => checkPanes(p, server)],
    ["keys", (p) => checkKeys(p, server)],
    ["slow link", async (p) => (proxy = await checkSlowLink(p, server))],
    ["cost", (p) => (proxy ? checkCost(p, server, proxy) : Promise.resolve())],
  ];
  for (const [name, run] of sections) {
    const p = await ctx.newPage();
    p.on("pageerror", (e) => check(`no page errors (${name})`, false, e.message));
    const t0 = Date.now();
    try {
      await run(p);
      metrics[`section ${name}`] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    } catch (e) {
      check(`the ${name} section ran to the end`, false, String((e as Error)?.stack ?? e));
    }
    await p.close();
  }
} catch (e) {
  check("check script ran to the end", false, String((e as Error)?.stack ?? e));
} finally {
  await browser?.close().catch(() => {});
  (proxy as DelayProxy | null)?.stop();
  await server.stop();
}
const failed = results.filter((r) => !r.ok);
for (const [k, v] of Object.entries(metrics)) console.log(`metric: ${k}: ${v}`);
for (const path of screenshots) console.log(`screenshot: ${path}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) console.log(`server output:\n${server.output().slice(-3000)}`);
process.exit(failed.length ? 1 : 0);
