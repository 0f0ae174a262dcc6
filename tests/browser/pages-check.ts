// Browser check of the small pages: /sessions (list, share, end) and /recordings (list, play a
// recording back in xterm.js). Real Chromium against a real server with --record.
// Run: node_modules/.bin/bun tests/browser/pages-check.ts  (prints "N passed, N failed")

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, TestClient, until } from "../harness.ts";

const results: boolean[] = [];
function check(name: string, ok: boolean, detail = ""): void {
  results.push(ok);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
}

const dir = mkdtempSync(join(tmpdir(), "bunty-pages-"));
// BUNTY_SERVER_CMD runs another server build (e.g. "dist/bunty") instead of server/main.ts.
const bin = process.env.BUNTY_SERVER_CMD?.split(/\s+/).filter(Boolean);
const server = await startServer({ args: ["--record", join(dir, "rec")], bin });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => void d.accept());
  // Sign in once, as a user would with the printed address.
  await page.goto(new URL(`?token=${server.token}`, server.url).href);
  await page.waitForFunction(() => (window as any).bunty?.state === "live", null, { timeout: 10_000 });

  // A recorded session to play back, made by a plain client.
  const c = await TestClient.open(server);
  c.type("printf 'rec-%s\\n' $((6*7)); exit 0\r");
  await c.waitClosed(5000);

  // /sessions: the page's own session is listed; share gives a link; end removes it.
  await page.goto(new URL("sessions", server.url).href);
  const row = page.locator("tbody#rows tr").first();
  await row.waitFor({ timeout: 5000 });
  const id = await row.getAttribute("data-session");
  check("the sessions page lists live sessions", !!id, `${await row.textContent()}`);
  await row.locator("button", { hasText: "share" }).click();
  await page.waitForFunction(() => /view-only link/.test(document.getElementById("note")!.textContent ?? ""), null, { timeout: 5000 });
  const link = (await page.locator("#note").textContent())!.match(/https?:\/\/\S+/)?.[0] ?? "";
  check("share gives a view-only link for that session", link.includes(`session=${id}`) && link.includes("mode=view") && link.includes("share="), link);
  await row.locator("button", { hasText: "end" }).click();
  const gone = await until(async () => (await page.locator(`tr[data-session="${id}"]`).count()) === 0, 8000, 100);
  check("end removes the session", gone);
  await page.screenshot({ path: "artifacts/screenshots/sessions.png" }).catch(() => {});

  // /recordings: the recording is listed and plays back to the same text.
  await page.goto(new URL("recordings", server.url).href);
  // The row of the session made above (names are <time>-<session id>.cast).
  const rec = page.locator("tbody#rows tr", { hasText: c.hello()!.session }).locator("button", { hasText: "play" });
  const listed = await rec.waitFor({ timeout: 5000 }).then(() => true, () => false);
  check("the recordings page lists recordings", listed);
  if (listed) {
    await rec.click();
    const played = await page
      .waitForFunction(() => {
        const t = (window as any).term;
        if (!t) return false;
        const b = t.buffer.active;
        for (let i = 0; i < b.length; i++) if (b.getLine(i)?.translateToString(true).includes("rec-42")) return true;
        return false;
      }, null, { timeout: 10_000 })
      .then(() => true, () => false);
    check("a recording plays back in xterm.js", played);
    await page.screenshot({ path: "artifacts/screenshots/recordings.png" }).catch(() => {});
  }
  check("no page errors", errors.length === 0, errors.join("; "));
} catch (e) {
  check("the check ran to the end", false, String((e as Error)?.stack ?? e));
} finally {
  await browser.close();
  await server.stop();
}
const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(results.every(Boolean) ? 0 : 1);
