// Owner: client (browser checks). What the workspace costs: the page's memory (JS heap after a
// full collection, DOM nodes) with 1 and with 8 panes, each a live shell, and the time from a key
// press to its character on the screen in the focused pane, echoed by the server or predicted,
// on the direct link and through the 150 ms proxy. Printed as metric: lines.

import type { TestServer } from "../harness.ts";
import type { DelayProxy } from "./delay-proxy.ts";
import { check, metrics, sleep } from "./helpers.ts";
import { allLive, focusPane, keyLatency, median, pageMemory, summary, typeInto, waitPanePrompt, waitPaneText, type Page } from "./workspace-helpers.ts";

const memText = (m: Awaited<ReturnType<typeof pageMemory>>) =>
  `JS heap ${m.heapMB.toFixed(1)} MB + DOM heap ${m.domMB.toFixed(1)} MB + array buffers ${m.buffersMB.toFixed(1)} MB; ${m.nodes} DOM nodes`;

/** Eight new sessions in one tab, the first focused. */
const EIGHT = "r50(d50(r50(*,),r50(,)),d50(r50(,),r50(,)))";

async function open(p: Page, server: TestServer, base: URL, panes: 1 | 8, predict: string): Promise<void> {
  // The token each time: a sign-in on the proxy's origin (another port, the same host) replaces
  // the cookie, which this origin's proof then no longer matches (docs/security.md, finding 4).
  const q = new URLSearchParams({ token: server.token!, predict });
  await p.goto(`${new URL("/", base).href}?${q}${panes === 8 ? `&layout=${EIGHT}` : ""}`);
  if (!(await allLive(p, panes, 30_000))) throw new Error(`${panes} panes did not all go live at ${base.href}`);
  for (let i = 0; i < panes; i++) await waitPanePrompt(p, i, 10_000);
  await sleep(2500); // round trips measured, the renderer chosen
}

/** Types `keys` at the focused pane's prompt, measuring each; then clears the line (Ctrl+U). */
async function measure(p: Page, keys: string, via: "echoed" | "predicted"): Promise<number[]> {
  if (via === "predicted") {
    await p.keyboard.type("e"); // the first of a line waits for its echo (the epoch rule)
    await waitPaneText(p, 0, "$ e", 5000);
  }
  const ms = await keyLatency(p, keys, via);
  await sleep(via === "predicted" ? 800 : 100);
  await p.keyboard.press("Control+U");
  await waitPanePrompt(p, 0, 5000);
  return ms;
}

export async function checkCost(p: Page, server: TestServer, proxy: DelayProxy): Promise<void> {
  const heap: Record<number, Awaited<ReturnType<typeof pageMemory>>> = {};
  const echoDirect: Record<number, number[]> = {};
  const predicted: Record<number, number[]> = {};
  for (const n of [1, 8] as const) {
    await open(p, server, server.url, n, "off");
    heap[n] = await pageMemory(p);
    metrics[`page memory, ${n} pane${n === 1 ? "" : "s"} (after GC)`] = memText(heap[n]);
    echoDirect[n] = await measure(p, "echo-wxyz12", "echoed");
    metrics[`key to screen, echoed, direct, ${n} pane${n === 1 ? "" : "s"}`] = summary(echoDirect[n]);
    // Every screen full, with 1000 lines of scrollback each; for 8 panes, typing while the other 7 print.
    for (let i = n - 1; i >= 0; i--) {
      await focusPane(p, i);
      await typeInto(p, i > 0 ? "seq 1 1000; while :; do date; sleep 0.1; done" : "seq 1 1000");
      await waitPaneText(p, i, "\n1000\n", 5000);
    }
    await waitPanePrompt(p, 0, 5000);
    const full = await pageMemory(p);
    metrics[`page memory, ${n} pane${n === 1 ? "" : "s"}, screens and 1000 lines of scrollback full`] = memText(full);
    if (n === 8) metrics["key to screen, echoed, direct, 8 panes, 7 of them printing 10 lines/s"] = summary(await measure(p, "echo-wxyz12", "echoed"));

    await open(p, server, server.url, n, "always");
    const pd = await measure(p, "cho-wxyz12", "predicted");
    metrics[`key to screen, predicted, direct, ${n} pane${n === 1 ? "" : "s"}`] = summary(pd);

    await open(p, server, proxy.url, n, "off");
    const slow = await measure(p, "echo", "echoed");
    metrics[`key to screen, echoed, 150 ms proxy, ${n} pane${n === 1 ? "" : "s"}`] = summary(slow);

    await open(p, server, proxy.url, n, "auto");
    predicted[n] = await measure(p, "cho-wxyz12", "predicted");
    metrics[`key to screen, predicted, 150 ms proxy, ${n} pane${n === 1 ? "" : "s"}`] = summary(predicted[n]);
  }
  const total = (m: Awaited<ReturnType<typeof pageMemory>>) => m.heapMB + m.domMB + m.buffersMB;
  const perPane = (total(heap[8]!) - total(heap[1]!)) / 7;
  metrics["page memory per extra pane (empty screens)"] = `${perPane.toFixed(2)} MB (JS, DOM heap and buffers), ${Math.round((heap[8]!.nodes - heap[1]!.nodes) / 7)} DOM nodes`;
  check("8 panes: each extra pane costs well under the first (the code is shared; per pane only its terminal and the addons a terminal needs)", perPane < total(heap[1]!) / 2, `${total(heap[1]!).toFixed(1)} MB with 1, ${total(heap[8]!).toFixed(1)} MB with 8`);
  check("8 panes: typing stays as fast as with 1 (direct link, echoed; median within 10 ms)", median(echoDirect[8]!) < median(echoDirect[1]!) + 10, `${median(echoDirect[1]!).toFixed(1)} vs ${median(echoDirect[8]!).toFixed(1)} ms`);
  check("8 panes through the slow link: predicted characters still appear in under 30 ms (median; every key under half the round trip)", predicted[8]!.every((x) => x >= 0 && x < 150) && median(predicted[8]!) < 30, summary(predicted[8]!));
}
