// Owner: client (browser checks). The touch toolbar in an emulated phone: its keys send the right bytes, the terminal fits the visual viewport.

import type { TestServer } from "../harness.ts";
import { CHROMIUM, CHROMIUM_ARGS, check, cursorLine, metrics, screenText, shoot, sleep, state, typeLine, waitFor, waitLive, waitPrompt, type Chromium, type Page } from "./helpers.ts";

const pressed = (p: Page, key: string) => p.evaluate((k) => document.querySelector(`#toolbar [data-key="${k}"]`)?.getAttribute("aria-pressed"), key);

export async function checkTouch(chromium: Chromium, server: TestServer): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 740 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
    const p = await ctx.newPage();
    p.on("pageerror", (e) => check("no page errors (touch)", false, e.message));
    const logs: string[] = [];
    p.on("console", (m) => logs.push(m.text()));
    await p.goto(new URL(`/?token=${server.token}`, server.url).href); // a new browser: sign in again
    check("touch page goes live", await waitLive(p));
    const layout = await p.evaluate(() => {
      const bar = document.getElementById("toolbar");
      const r = bar?.getBoundingClientRect();
      const t = document.getElementById("terminal")!.getBoundingClientRect();
      return {
        keys: [...(bar?.querySelectorAll("button") ?? [])].map((b) => b.textContent).join(" "),
        visible: !!r && r.height > 0 && r.bottom <= innerHeight + 1,
        above: !!r && t.bottom <= r.top + 1,
        coarse: matchMedia("(pointer: coarse)").matches,
      };
    });
    const s0 = await state(p);
    check("touch device shows the toolbar", s0.toolbar && layout.visible && layout.keys === "Esc Ctrl Alt Tab ↑ ↓ ← → | ~ /", `${layout.keys} (coarse pointer: ${layout.coarse})`);
    check("the terminal sits above the toolbar", layout.above);

    await p.tap("#terminal");
    await typeLine(p, "sleep 100");
    await sleep(300);
    await p.tap('#toolbar [data-key="ctrl"]');
    const stuck = await pressed(p, "ctrl");
    const keptFocus = await p.evaluate(() => document.activeElement === window.term.textarea);
    const t0 = Date.now();
    await p.keyboard.type("c");
    const back = await waitPrompt(p, 5000);
    check("sticky Ctrl then c interrupts sleep 100", stuck === "true" && back && (await pressed(p, "ctrl")) === "false", `pressed ${stuck}, prompt after ${Date.now() - t0} ms`);
    check("toolbar taps keep the focus on the terminal", keptFocus);

    // cat -vT shows what arrives: ESC as ^[, Tab as ^I.
    await typeLine(p, "clear; cat -vT");
    await sleep(300);
    const tap = (k: string) => p.tap(`#toolbar [data-key="${k}"]`);
    await tap("esc");
    await p.keyboard.type("x");
    await tap("alt");
    await p.keyboard.type("b");
    for (const k of ["up", "tab", "pipe", "tilde", "slash", "ctrl", "left"]) await tap(k);
    await p.keyboard.press("Enter");
    const want = /^\^\[x\^\[b\^\[(\[|O)A\^I\|~\/\^\[\[1;5D$/m;
    const got = await waitFor(async () => want.test(await screenText(p)), 3000);
    check("Esc, Alt, arrows, Tab, | ~ / and Ctrl+← send the right bytes", got, (await screenText(p)).split("\n").filter((l) => l.includes("^[")).join(" / "));
    await shoot(p, "mobile-toolbar");
    metrics["renderer (touch page, emulated DPR 2)"] = `${(await state(p)).renderer}: ${logs.filter((l) => l.startsWith("bunty: renderer")).join("; ")}`;
    await tap("ctrl");
    await p.keyboard.type("d");
    check("sticky Ctrl then d ends cat (EOF)", await waitPrompt(p, 3000), await cursorLine(p));

    // The soft keyboard takes the lower part of the screen: the terminal shrinks to stay above it.
    const before = await state(p);
    await p.setViewportSize({ width: 390, height: 420 });
    const refit = await waitFor(async () => (await state(p)).rows < before.rows, 3000);
    const after = await state(p);
    const fits = await p.evaluate(() => {
      const r = document.getElementById("toolbar")!.getBoundingClientRect();
      return r.bottom <= visualViewport!.height + 1 && getComputedStyle(document.documentElement).getPropertyValue("--vv-height") === `${visualViewport!.height}px`;
    });
    const pty = await (await fetch(new URL(`/api/sessions/${after.session}`, server.url), { headers: server.auth })).json();
    check("a smaller visual viewport refits the terminal (and the PTY) above the toolbar", refit && fits && pty.rows === after.rows, `rows ${before.rows} → ${after.rows}, pty ${pty.rows}`);
    await ctx.close();
  } finally {
    await browser.close();
  }
}
