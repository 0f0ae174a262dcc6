// Owner: client (browser checks). Shared by the browser checks: the playwright-core subset used, the check ledger, page helpers.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, until } from "../harness.ts";

// The subset of playwright-core used here.
export interface ConsoleMessage {
  type(): string;
  text(): string;
}
export interface Page {
  goto(url: string): Promise<{ status(): number; headers(): Record<string, string>; text(): Promise<string> } | null>;
  reload(): Promise<unknown>;
  addInitScript(fn: () => void): Promise<void>;
  url(): string;
  click(selector: string, o?: { button?: "left" | "right" | "middle"; position?: { x: number; y: number }; modifiers?: string[] }): Promise<void>;
  tap(selector: string): Promise<void>;
  close(): Promise<void>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  keyboard: { type(text: string): Promise<void>; press(key: string): Promise<void> };
  mouse: { move(x: number, y: number): Promise<void>; click(x: number, y: number, o?: { button?: "left" | "right" }): Promise<void> };
  screenshot(o: { path: string }): Promise<unknown>;
  on(event: "pageerror", fn: (e: Error) => void): void;
  on(event: "console", fn: (m: ConsoleMessage) => void): void;
}
export interface Context {
  newPage(): Promise<Page>;
  close(): Promise<void>;
  grantPermissions(permissions: string[], o?: { origin?: string }): Promise<void>;
}
export interface Browser {
  newContext(o: { viewport: { width: number; height: number }; hasTouch?: boolean; isMobile?: boolean; deviceScaleFactor?: number }): Promise<Context>;
  close(): Promise<void>;
}
export interface Chromium {
  launchPersistentContext(dir: string, o: { executablePath: string; headless: boolean; args: string[]; viewport: { width: number; height: number } }): Promise<Context>;
  launch(o: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
}

export async function loadPlaywright(): Promise<Chromium> {
  return ((await import("playwright-core")) as unknown as { chromium: Chromium }).chromium;
}
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const results: { name: string; ok: boolean; detail: string }[] = [];
export function check(name: string, ok: boolean, detail = ""): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
}
/** Numbers worth reading at the end (timings, the renderer), printed as one summary. */
export const metrics: Record<string, string> = {};
export const count = (text: string, needle: string) => text.split(needle).length - 1;

// ---- page helpers ----
export const screenText = (p: Page) =>
  p.evaluate(() => {
    const b = window.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  });
/** The buffer as the program wrote it: rows the terminal wrapped are joined back into one line. */
export const logicalText = (p: Page) =>
  p.evaluate(() => {
    const b = window.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) {
      const line = b.getLine(i);
      const text = line?.translateToString(true) ?? "";
      if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    return lines.join("\n");
  });
export const cursorLine = (p: Page) => p.evaluate(() => {
  const b = window.term.buffer.active;
  return b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? "";
});
export const state = (p: Page) => p.evaluate(() => ({ ...window.bunty, socket: undefined, badge: document.getElementById("status")!.textContent, cols: window.term.cols, rows: window.term.rows }));
export const waitFor = async (what: () => Promise<boolean>, ms = 10_000) => until(async () => what().catch(() => false), ms, 20);
export const waitLive = (p: Page, ms = 10_000) => waitFor(async () => (await state(p)).state === "live", ms);
export const waitText = (p: Page, needle: string, ms = 10_000) => waitFor(async () => (await screenText(p)).includes(needle), ms);
/** Waits for a bare prompt on the cursor's line (the shell is idle). */
export const waitPrompt = (p: Page, ms = 10_000) => waitFor(async () => /^\$ ?$/.test(await cursorLine(p)), ms);
/** Where on the page (CSS px) the middle of the first cell showing `needle` in the viewport is, or null. */
export const cellOf = (p: Page, needle: string) => p.evaluate((n) => {
  const t = window.term;
  const b = t.buffer.active;
  const screen = t.element!.querySelector(".xterm-screen")!.getBoundingClientRect();
  const w = screen.width / t.cols;
  const h = screen.height / t.rows;
  for (let y = 0; y < t.rows; y++) {
    const x = b.getLine(b.viewportY + y)?.translateToString(true).indexOf(n) ?? -1;
    if (x >= 0) return { x: screen.left + (x + 0.5) * w, y: screen.top + (y + 0.5) * h };
  }
  return null;
}, needle);
export async function typeLine(p: Page, line: string): Promise<void> {
  await p.keyboard.type(line);
  await p.keyboard.press("Enter");
}

export const SCREENSHOTS = join(ROOT, "artifacts", "screenshots");
export const screenshots: string[] = [];
/** Saves a screenshot into artifacts/screenshots/ (git-ignored). */
export async function shoot(p: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await p.screenshot({ path });
  screenshots.push(path);
}
/**
 * Clicks the link showing `needle` (its first cell in the viewport). Links are found on hover, per
 * row: the mouse comes from another row onto the link, until xterm shows the pointer (at most
 * three tries), then clicks. Returns whether xterm showed the link's pointer; null if the text is not on the screen.
 */
export async function clickLink(p: Page, needle: string): Promise<boolean | null> {
  const at = await cellOf(p, needle);
  if (!at) return null;
  await p.mouse.move(at.x, at.y + 300);
  await sleep(50);
  let pointer = false;
  for (let i = 0; i < 3 && !pointer; i++) {
    await p.mouse.move(at.x - 4 + 4 * i, at.y);
    pointer = await waitFor(() => p.evaluate(() => !!document.querySelector(".xterm-screen.xterm-cursor-pointer")), 300);
  }
  await p.mouse.click(at.x + 4, at.y);
  return pointer;
}
