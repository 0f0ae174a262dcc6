// Owner: client (browser checks). Helpers of the workspace check: panes' text and state through
// window.bunty, waiting for panes, in-page latency probes (key press to the character on the
// screen, predicted or echoed), the prediction recorder, page memory through the DevTools protocol.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { until } from "../harness.ts";
import { SCREENSHOTS, screenshots, sleep } from "./helpers.ts";

export type { Page };
export interface PaneInfo {
  id: number; tab: number; focused: boolean; session: string | null; state: string; shown: string; mode: string;
  writer: boolean; title: string; rtt: number | null; offset: number | null; cols: number; rows: number; sockets: number;
}

export const waitFor = (what: () => Promise<boolean>, ms = 10_000) => until(async () => what().catch(() => false), ms, 20);
export const panes = (p: Page) => p.evaluate(() => (window as any).bunty.panes as PaneInfo[]);
export const allLive = (p: Page, n: number, ms = 15_000) => waitFor(async () => { const l = await panes(p); return l.length === n && l.every((x) => x.state === "live"); }, ms);
export const focusPane = (p: Page, i: number) => p.evaluate((i) => (window as any).bunty.focusPane(i), i);

/** Pane `i`'s buffer as text (rows joined). */
export const paneText = (p: Page, i: number) => p.evaluate((i) => {
  const b = (window as any).bunty.pane(i)?.view.term.buffer.active;
  if (!b) return "";
  const lines: string[] = [];
  for (let y = 0; y < b.length; y++) lines.push(b.getLine(y)?.translateToString(true) ?? "");
  return lines.join("\n").replace(/\n+$/, "");
}, i);
export const paneCursorLine = (p: Page, i: number) => p.evaluate((i) => {
  const b = (window as any).bunty.pane(i).view.term.buffer.active;
  return b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? "";
}, i);
export const waitPaneText = (p: Page, i: number, needle: string | RegExp, ms = 10_000) =>
  waitFor(async () => { const t = await paneText(p, i); return typeof needle === "string" ? t.includes(needle) : needle.test(t); }, ms);
export const waitPanePrompt = (p: Page, i: number, ms = 10_000) => waitFor(async () => /^\$ ?$/.test(await paneCursorLine(p, i)), ms);
export const paneHead = (p: Page, i: number) => p.evaluate((i) => {
  const e = (window as any).bunty.pane(i).element as HTMLElement;
  return { title: e.querySelector(".pane-title")?.textContent ?? "", status: e.querySelector(".pane-status")?.textContent ?? "", state: e.dataset.state ?? "", visible: getComputedStyle(e.querySelector(".pane-head")!).display !== "none" };
}, i);
export const overlayText = (p: Page) => p.evaluate(() => [...document.querySelectorAll(".predictions .predicted")].map((s) => s.textContent).join(""));
export const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

/** Saves a screenshot into artifacts/screenshots/ (as helpers.ts's shoot(), for playwright's own Page type). */
export async function shoot(p: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await p.screenshot({ path });
  screenshots.push(path);
}

export async function typeInto(p: Page, line: string, enter = true): Promise<void> {
  await p.keyboard.type(line);
  if (enter) await p.keyboard.press("Enter");
}

/**
 * Types `chars` one key at a time and measures, in the page, from each keydown to the frame in
 * which the character is on the screen: drawn as a prediction (`predicted`), or in the focused
 * terminal's buffer at the cursor's left (`echoed`). Returns the milliseconds per key (-1: never, within `limitMs`).
 */
export async function keyLatency(p: Page, chars: string, via: "predicted" | "echoed", limitMs = 3000): Promise<number[]> {
  await p.evaluate(({ via, limitMs }) => {
    const w = window as any;
    w.__lat = [];
    w.__latOff?.();
    const onKey = (e: KeyboardEvent) => {
      if (e.key.length !== 1) return;
      const t0 = performance.now();
      const want = e.key;
      const seen = () => {
        if (via === "predicted") return [...document.querySelectorAll(".pane.focused .predictions .predicted")].some((s) => s.textContent === want);
        const b = w.term.buffer.active;
        return b.getLine(b.baseY + b.cursorY)?.getCell(b.cursorX - 1)?.getChars() === want;
      };
      const check = () => {
        if (seen()) w.__lat.push(performance.now() - t0);
        else if (performance.now() - t0 > limitMs) w.__lat.push(-1);
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check); // the frame the key's effect is painted in, at the earliest
    };
    window.addEventListener("keydown", onKey, true);
    w.__latOff = () => window.removeEventListener("keydown", onKey, true);
  }, { via, limitMs });
  const out: number[] = [];
  for (const ch of chars) {
    const before = out.length;
    await p.keyboard.type(ch);
    await waitFor(async () => (await p.evaluate(() => (window as any).__lat.length)) > before, limitMs + 1000);
    out.push(...(await p.evaluate((n) => (window as any).__lat.slice(n), before)));
    await sleep(30);
  }
  await p.evaluate(() => (window as any).__latOff?.());
  return out;
}

export function summary(ms: number[]): string {
  const ok = ms.filter((x) => x >= 0).sort((a, b) => a - b);
  if (ok.length === 0) return "none measured";
  const q = (f: number) => ok[Math.min(ok.length - 1, Math.floor(f * ok.length))]!.toFixed(1);
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${ok.at(-1)!.toFixed(1)} ms (${ok.length} keys${ok.length < ms.length ? `, ${ms.length - ok.length} never` : ""})`;
}
export const median = (ms: number[]) => {
  const ok = ms.filter((x) => x >= 0).sort((a, b) => a - b);
  return ok.length ? ok[Math.floor(ok.length / 2)]! : Infinity;
};

/** Starts recording every predicted character drawn in the page (a MutationObserver); stop() returns them. */
export async function recordPredictions(p: Page): Promise<{ stop(): Promise<string[]> }> {
  await p.evaluate(() => {
    const w = window as any;
    w.__drawn = [];
    w.__drawObs?.disconnect();
    w.__drawObs = new MutationObserver(() => {
      for (const s of document.querySelectorAll(".predictions .predicted")) if (s.textContent && s.textContent !== " ") w.__drawn.push(s.textContent);
    });
    w.__drawObs.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return {
    stop: () => p.evaluate(() => {
      const w = window as any;
      w.__drawObs?.disconnect();
      return w.__drawn as string[];
    }),
  };
}

/**
 * The page's memory after a full collection (DevTools protocol): the JS heap, the embedder's (DOM)
 * heap and the array buffers' backing stores (xterm keeps its buffers in typed arrays), in MB; and its DOM nodes.
 */
export async function pageMemory(p: Page): Promise<{ heapMB: number; domMB: number; buffersMB: number; nodes: number }> {
  const cdp = await p.context().newCDPSession(p);
  try {
    await cdp.send("HeapProfiler.collectGarbage");
    await sleep(200);
    await cdp.send("HeapProfiler.collectGarbage");
    const heap = await cdp.send("Runtime.getHeapUsage");
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const nodes = metrics.find((m) => m.name === "Nodes")?.value ?? 0;
    return { heapMB: heap.usedSize / 1e6, domMB: (heap.embedderHeapUsedSize ?? 0) / 1e6, buffersMB: (heap.backingStorageSize ?? 0) / 1e6, nodes };
  } finally {
    await cdp.detach().catch(() => {});
  }
}
