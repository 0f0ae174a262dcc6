// Browser check of the client (client/): runs a real Chromium against a real server.
// Run: node_modules/.bin/bun tests/browser/client-check.ts
// Needs Chromium (CHROMIUM, default /usr/bin/chromium; .ci/run installs Debian's) and
// playwright-core (a devDependency).
// Prints one line per check and exits non-zero when any failed. BUNTY_SERVER_CMD runs another
// server build (e.g. "dist/bunty") instead of server/main.ts.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../harness.ts";
import { checkFeatures } from "./features.ts";
import { checkFloods } from "./floods.ts";
import { checkTransfer } from "./transfer.ts";
import { CHROMIUM, CHROMIUM_ARGS, check, count, cursorLine, loadPlaywright, metrics, results, screenText, screenshots, shoot, sleep, state, typeLine, waitFor, waitLive, waitPrompt, waitText, type Context } from "./helpers.ts";

const bin = process.env.BUNTY_SERVER_CMD?.split(/\s+/).filter(Boolean);
const server = await startServer({ args: ["--log-level", "info"], bin });
const api = async (path: string) => (await fetch(new URL(path, server.url), { headers: server.auth })).json() as Promise<any>;
const sessionInfo = (id: string) => api(`/api/sessions/${id}`);
const profile = mkdtempSync(join(tmpdir(), "bunty-chromium-"));
let ctx: Context | null = null;
let second: Awaited<ReturnType<typeof startServer>> | null = null;
let third: Awaited<ReturnType<typeof startServer>> | null = null;
try {
  const chromium = await loadPlaywright();
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 700 },
  });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => check("no page errors", false, e.message));

  // 1. type a command, see its output; the URL carries the session
  // 0. without the token the page says how to sign in, and retries nothing
  const resp0 = await page.goto(server.url.href);
  const type = resp0?.headers()["content-type"] ?? "";
  if (!type.startsWith("text/html")) throw new Error(`GET / answered ${resp0?.status()} ${type}: ${(await resp0?.text())?.slice(0, 100)}`);
  check("page sends security headers", /frame-ancestors 'none'/.test(resp0?.headers()["content-security-policy"] ?? "") && resp0?.headers()["x-content-type-options"] === "nosniff");
  check("without the token the page says it is not signed in", await waitFor(async () => /not signed in/.test((await state(page)).badge ?? ""), 5000), (await state(page)).badge ?? "");
  // The printed address carries the token once; the page trades it for a cookie and drops it.
  // The page notes (performance.now(), from the start of navigation) when a bare prompt first shows.
  await page.addInitScript(() => {
    const poll = setInterval(() => {
      const b = (window as any).term?.buffer.active;
      if (b && /^\$ ?$/.test(b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? "")) {
        (window as any).firstPromptMs = performance.now();
        clearInterval(poll);
      }
    }, 2);
  });
  await page.goto(new URL(`/?token=${server.token}`, server.url).href);
  check("page goes live", await waitLive(page));
  const firstPrompt = await waitFor(() => page.evaluate(() => typeof (window as any).firstPromptMs === "number"), 10_000);
  const loadMs = await page.evaluate(() => Math.round((window as any).firstPromptMs ?? -1));
  check("first prompt shows after page load (with sign-in)", firstPrompt, `${loadMs} ms from navigation start`);
  // Where the time went: the page's own performance marks (client/main.ts, connection.ts), from navigation start.
  const marks = await page.evaluate(() => ["bunty:script", "bunty:connect", "bunty:open", "bunty:hello", "bunty:output"]
    .map((n) => `${n.slice(6)} ${Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1)}`).join(", "));
  metrics["page load to first prompt (navigation start, sign-in included)"] = `${loadMs} ms (ms from navigation start: ${marks}, prompt ${loadMs})`;
  check("the token is dropped from the address bar", !page.url().includes("token="), page.url());
  await page.click("#terminal");
  await typeLine(page, "echo hello-$((6*7))");
  check("typed command shows output", await waitText(page, "hello-42"));
  const s1 = await state(page);
  check("URL carries the session", new URL(page.url()).searchParams.get("session") === s1.session, page.url());
  check("writer in write mode", s1.writer === true && s1.mode === "write" && s1.badge === "live", JSON.stringify(s1.badge));

  // 1b. resize the window: the terminal refits and the PTY follows (stty size), then back
  await page.setViewportSize({ width: 760, height: 460 });
  const refitted = await waitFor(async () => { const r = await state(page); return r.cols < s1.cols && r.rows < s1.rows; }, 5000);
  const small = await state(page);
  await typeLine(page, "echo size=$(stty size)");
  check("window resize: the terminal refits and stty size shows the new size", refitted && await waitText(page, `size=${small.rows} ${small.cols}`, 5000), `${s1.cols}x${s1.rows} -> ${small.cols}x${small.rows}`);
  await shoot(page, "resized");
  await page.setViewportSize({ width: 1000, height: 700 });
  const restored = await waitFor(async () => { const r = await state(page); return r.cols === s1.cols && r.rows === s1.rows; }, 5000);
  await typeLine(page, "echo size=$(stty size)");
  check("window back to its size: stty size follows", restored && await waitText(page, `size=${s1.rows} ${s1.cols}`, 5000), `${(await state(page)).cols}x${(await state(page)).rows}`);

  // 2. reload: same shell, earlier output restored from a snapshot
  await page.reload();
  check("reload goes live", await waitLive(page));
  if (await waitFor(() => page.evaluate(() => typeof (window as any).firstPromptMs === "number"), 10_000)) {
    metrics["page reload to the restored prompt"] = `${await page.evaluate(() => Math.round((window as any).firstPromptMs))} ms`;
  }
  await waitFor(async () => (await state(page)).snapshots > 0, 3000); // the snapshot follows hello
  const s2 = await state(page);
  check("reload reattaches to the same session", s2.session === s1.session, `${s1.session} -> ${s2.session}`);
  check("reload resumes with a snapshot", s2.resumed === "snapshot" && s2.snapshots === 1, `resumed=${s2.resumed} snapshots=${s2.snapshots}`);
  check("earlier output is on the screen after reload", await waitText(page, "hello-42", 3000));
  await page.click("#terminal");
  await typeLine(page, "echo still-$((5+5))");
  check("shell answers after reload", await waitText(page, "still-10"));

  // 3. drop the socket with output in flight: reconnect from the log, nothing doubled
  await sleep(300);
  const before = await state(page);
  const t0 = Date.now();
  await page.evaluate(() => {
    const s = window.bunty.socket!;
    s.send(new TextEncoder().encode("echo MARK-$((1+1))\r")); // its output is produced after the close
    s.close();
  });
  const dropped = await waitFor(async () => (await state(page)).state !== "live", 2000);
  check("socket close is noticed", dropped);
  const back = await waitLive(page, 10_000);
  const reconnectMs = Date.now() - t0;
  const s3 = await state(page);
  check("reconnects", back, `${reconnectMs} ms from close to live`);
  check("reconnect resumes from the log at our offset", s3.resumed === "log" && s3.session === before.session && s3.snapshots === before.snapshots, `resumed=${s3.resumed} offset ${before.offset} -> ${s3.offset}`);
  await waitText(page, "MARK-2", 3000);
  await sleep(300);
  let text = await screenText(page);
  check("output missed while disconnected arrives exactly once", count(text, "MARK-2") === 1, `MARK-2 x${count(text, "MARK-2")}`);
  check("no duplicated lines", count(text, "echo MARK-$((1+1))") === 1 && count(text, "still-10") === 1 && count(text, "hello-42") === 1);
  const info3 = await sessionInfo(s1.session!);
  check("client offset equals the server's output offset", (await state(page)).offset === info3.offset, `client ${(await state(page)).offset}, server ${info3.offset}`);

  // 3b-4. a 1.5 MB paste, then floods: Ctrl-C in `yes`, and the server's skip for a page behind
  await checkFloods(page, sessionInfo, s1.session!);
  const s4 = await state(page); // the page's own size, for the takeover checks in 6
  await shoot(page, "live");

  // 4a. vim in the page: open a file, type, save; the file on disk has the text
  const work = mkdtempSync(join(tmpdir(), "bunty-vim-"));
  await typeLine(page, `cd ${work} && vim -N -u NONE notes.txt`);
  check("vim starts in the page", await waitText(page, '"notes.txt" [New]', 10_000), (await cursorLine(page)) || "");
  await page.keyboard.press("i");
  await page.keyboard.type("first line typed in vim");
  await page.keyboard.press("Enter");
  await page.keyboard.type("second: 6*7=42");
  await page.keyboard.press("Escape");
  await typeLine(page, ":wq");
  const saved = await waitFor(async () => { try { return readFileSync(join(work, "notes.txt"), "utf8") === "first line typed in vim\nsecond: 6*7=42\n"; } catch { return false; } }, 10_000);
  let onDisk = "";
  try { onDisk = readFileSync(join(work, "notes.txt"), "utf8"); } catch {}
  check("vim: the saved file has exactly the typed text", saved, JSON.stringify(onDisk));
  check("the shell is back after :wq", await waitPrompt(page, 5000));
  await typeLine(page, "cd - >/dev/null");
  rmSync(work, { recursive: true, force: true });

  // 4b. the terminal's features: renderer, URL options, search, clipboard, screen reader, touch toolbar
  await checkFeatures(ctx, chromium, server);

  // 4c. file transfer: drag and drop upload with progress, bunty-get download
  await checkTransfer(ctx, server);

  // 4d. more panes in one page (the test hook window.bunty.openPane: a terminal view and its
  // connection, the page's pieces as instances): each attaches on its own; closing one, live or
  // waiting to reconnect, leaves no socket, timer, interval, window/document listener or resize
  // observer behind, and the page's own terminal is untouched.
  const clientsBefore = (await sessionInfo(s1.session!)).clients;
  const pageBefore = await page.evaluate(() => ({ url: location.href, title: document.title }));
  const panes = await page.evaluate(async (session) => {
    const w = window as any;
    const orig = { setTimeout: w.setTimeout, clearTimeout: w.clearTimeout, setInterval: w.setInterval, clearInterval: w.clearInterval, WebSocket: w.WebSocket, ResizeObserver: w.ResizeObserver };
    const wait = (ms: number) => new Promise((r) => orig.setTimeout.call(window, r, ms));
    const until = async (ok: () => boolean, ms: number) => {
      for (const t0 = performance.now(); !ok(); await wait(20)) if (performance.now() - t0 > ms) return false;
      return true;
    };
    // Everything started from now on, with where it was started (the two frames under the wrapper), until it is released.
    const born = () => (new Error().stack ?? "").split("\n").slice(3, 5).map((l) => l.trim()).join(" < ");
    const timers = new Map<number, string>();
    const sockets: WebSocket[] = [];
    const observing = new Set<ResizeObserver>();
    const listeners: { target: EventTarget; type: string; fn: unknown; at: string }[] = [];
    w.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const id: number = orig.setTimeout.call(window, () => (timers.delete(id), fn(...args)), ms);
      timers.set(id, `timeout ${born()}`);
      return id;
    };
    w.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const id: number = orig.setInterval.call(window, fn, ms, ...args);
      timers.set(id, `interval ${born()}`);
      return id;
    };
    w.clearTimeout = w.clearInterval = (id?: number) => (id !== undefined && timers.delete(id), orig.clearTimeout.call(window, id));
    w.WebSocket = class extends orig.WebSocket { constructor(...a: unknown[]) { super(...a); sockets.push(this as unknown as WebSocket); } };
    w.ResizeObserver = class extends orig.ResizeObserver {
      observe(...a: unknown[]) { observing.add(this as unknown as ResizeObserver); return super.observe(...a); }
      disconnect() { observing.delete(this as unknown as ResizeObserver); return super.disconnect(); }
    };
    for (const target of [window, document] as unknown as (EventTarget & Record<string, unknown>)[]) {
      const add = target.addEventListener.bind(target), remove = target.removeEventListener.bind(target);
      target.addEventListener = (type: string, fn: EventListener, o?: unknown) => (listeners.push({ target, type, fn, at: born() }), add(type, fn, o as AddEventListenerOptions));
      target.removeEventListener = (type: string, fn: EventListener, o?: unknown) => {
        const i = listeners.findIndex((l) => l.target === target && l.type === type && l.fn === fn);
        if (i >= 0) listeners.splice(i, 1);
        remove(type, fn, o as EventListenerOptions);
      };
    }
    try {
      const openLive = async () => {
        const pane = window.bunty.openPane({ session, mode: "view" });
        const live = await until(() => pane.connection.state === "live", 5000);
        const drawn = await until(() => (pane.view.term.buffer.active.getLine(0)?.translateToString(true) ?? "") !== "", 3000);
        return { pane, live, drawn, badge: pane.badge.textContent, mode: pane.connection.mode, same: pane.connection.session === session };
      };
      // A: closed while live.
      const a = await openLive();
      const socketA = a.pane.connection.socket;
      a.pane.close();
      const closedA = socketA !== null && socketA.readyState >= WebSocket.CLOSING;
      // B: its socket drops; closed while it waits to reconnect (a retry timer, the badge's countdown).
      const b = await openLive();
      const waiting = new Promise<void>((r) => b.pane.connection.on("state", () => b.pane.connection.state === "reconnecting" && r()));
      b.pane.connection.socket!.close();
      await waiting;
      const countdown = b.pane.badge.textContent;
      const socketsAtClose = sockets.length;
      b.pane.close();
      await wait(1500); // well past the first retry (at most 0.3 s) and the badge's countdown ticks
      const p = window.bunty;
      return {
        a: { live: a.live, drawn: a.drawn, badge: a.badge, mode: a.mode, same: a.same, closed: closedA },
        b: { live: b.live, drawn: b.drawn, countdown, reconnectedAfterClose: sockets.length - socketsAtClose },
        open: sockets.filter((s) => s.readyState < WebSocket.CLOSING).length,
        left: [...timers.values(), ...listeners.map((l) => `listener ${l.type} ${l.at}`), ...[...observing].map(() => "a resize observer")],
        page: { session: p.session, writer: p.writer, state: p.state, mode: p.mode, badge: document.getElementById("status")!.textContent },
      };
    } finally {
      Object.assign(w, orig);
      delete w.addEventListener;
      delete (document as unknown as Record<string, unknown>).addEventListener;
      delete w.removeEventListener;
      delete (document as unknown as Record<string, unknown>).removeEventListener;
    }
  }, s1.session!);
  const clientsLeft = await waitFor(async () => (await sessionInfo(s1.session!)).clients === clientsBefore, 3000);
  const pageAfter = await page.evaluate(() => ({ url: location.href, title: document.title }));
  check("another pane in the page attaches on its own (view only, its own badge); the page's terminal, address and title are untouched",
    panes.a.live && panes.a.drawn && panes.a.same && panes.a.mode === "view" && panes.a.badge === "live · view only" && panes.b.live
      && panes.page.session === s1.session && panes.page.writer && panes.page.state === "live" && panes.page.mode === "write" && panes.page.badge === "live"
      && pageAfter.url === pageBefore.url && pageAfter.title === pageBefore.title,
    JSON.stringify({ a: panes.a, page: panes.page }));
  check("closing a pane closes its socket (the server sees its clients leave) and stops its reconnect loop",
    panes.a.closed && /^reconnecting/.test(panes.b.countdown ?? "") && panes.b.reconnectedAfterClose === 0 && panes.open === 0 && clientsLeft,
    `A's socket closed: ${panes.a.closed}; B ${JSON.stringify(panes.b.countdown)}, sockets after close ${panes.b.reconnectedAfterClose}; open ${panes.open}; server clients ${clientsBefore} -> ${(await sessionInfo(s1.session!)).clients}`);
  check("closing a pane leaves no timer, interval, window/document listener or resize observer behind", panes.left.length === 0, panes.left.join("; "));

  // 5. a view-only page: same output, typing does nothing
  const viewer = await ctx.newPage();
  viewer.on("pageerror", (e) => check("no page errors (viewer)", false, e.message));
  await viewer.goto(new URL(`/?session=${s1.session}&mode=view`, server.url).href);
  check("viewer goes live", await waitLive(viewer));
  const v = await state(viewer);
  check("viewer joins read-only", v.mode === "view" && v.writer === false && v.badge === "live · view only", `${v.badge}`);
  check("viewer shows the session's output", await waitText(viewer, "after-yes-9", 3000));
  await page.click("#terminal");
  await typeLine(page, "echo shared-$((4+4))");
  check("viewer sees new output", await waitText(viewer, "shared-8"));
  await viewer.click("#terminal");
  await typeLine(viewer, "echo typed-in-viewer");
  await sleep(800);
  check("typing in the viewer does nothing", !(await screenText(page)).includes("typed-in-viewer") && !(await screenText(viewer)).includes("typed-in-viewer"));
  const refused = await viewer.evaluate(() => new Promise<boolean>((resolve) => {
    const s = window.bunty.socket!;
    s.addEventListener("message", (e) => typeof e.data === "string" && e.data.includes("read_only") && resolve(true));
    s.send(new TextEncoder().encode("echo raw-from-viewer\r"));
    setTimeout(() => resolve(false), 2500);
  }));
  check("server refuses raw input from the viewer (read_only)", refused && !(await screenText(page)).includes("raw-from-viewer"));
  check("writer unaffected by the viewer", (await state(page)).writer === true);

  // 6. another write-mode tab takes over; the old writer shows the PTY's size, typing takes it back
  const other = await ctx.newPage();
  await other.setViewportSize({ width: 600, height: 400 });
  await other.goto(new URL(`/?session=${s1.session}`, server.url).href);
  check("second writer tab goes live", await waitLive(other));
  const o = await state(other);
  await waitFor(async () => (await state(page)).writer === false, 3000);
  const demoted = await state(page);
  const info6 = await sessionInfo(s1.session!);
  check("newest write tab becomes the writer", o.writer === true && demoted.writer === false && demoted.badge === "live · watching (typing elsewhere)", demoted.badge ?? "");
  check("PTY follows the new writer's size", info6.cols === o.cols && info6.rows === o.rows, `pty ${info6.cols}x${info6.rows}, writer ${o.cols}x${o.rows}`);
  const shown = await waitFor(async () => { const d = await state(page); return d.cols === info6.cols && d.rows === info6.rows; }, 3000);
  check("non-writer shows the session at the PTY's size", shown, `${(await state(page)).cols}x${(await state(page)).rows}`);
  await page.click("#terminal");
  await typeLine(page, "echo took-back-$((7*7))");
  check("typing takes over again", await waitText(page, "took-back-49") && await waitFor(async () => (await state(page)).writer === true, 3000));
  const refit = await waitFor(async () => { const [a, b] = [await state(page), await sessionInfo(s1.session!)]; return a.cols === s4.cols && b.cols === s4.cols && b.rows === s4.rows; }, 3000);
  check("writer fits its window again and the PTY follows", refit, `page ${(await state(page)).cols}x${(await state(page)).rows}, pty ${(await sessionInfo(s1.session!)).cols}x${(await sessionInfo(s1.session!)).rows}`);
  check("other tab is now watching", await waitFor(async () => (await state(other)).writer === false, 3000));
  await other.close();

  // 7. exit: ended, session dropped from the URL; Enter starts a new session
  await typeLine(page, "exit");
  const ended = await waitFor(async () => (await state(page)).state === "ended", 5000);
  const s7 = await state(page);
  check("exit shows ended", ended && s7.badge === "ended (exit code 0)", `${s7.badge}`);
  await shoot(page, "ended");
  check("ended session is dropped from the URL", !page.url().includes("session="), page.url());
  check("viewer of the ended session shows ended too", await waitFor(async () => (await state(viewer)).state === "ended", 3000));
  await page.keyboard.press("Enter");
  check("Enter starts a new session", await waitLive(page) && (await state(page)).session !== s1.session);
  await typeLine(page, "echo fresh-$((2*8))");
  check("new session answers", await waitText(page, "fresh-16"));
  check("new session starts on a clean screen", !(await screenText(page)).includes("after-yes-9"));

  // 7b. the session is ended through the API: ended by the server, no reconnect
  const s7b = await state(page);
  await fetch(new URL(`/api/sessions/${s7b.session}`, server.url), { method: "DELETE", headers: server.auth });
  const byServer = await waitFor(async () => (await state(page)).state === "ended", 5000);
  check("session deleted through the API shows ended by the server (4003)", byServer && /^ended by the server/.test((await state(page)).badge ?? ""), `${(await state(page)).badge}`);
  await page.keyboard.press("Enter");
  check("Enter after 4003 starts a new session", await waitLive(page) && (await state(page)).session !== s7b.session);

  // 8. an unknown session in the URL
  await viewer.goto(new URL("/?session=nosuchsession", server.url).href);
  const gone = await waitFor(async () => (await state(viewer)).state === "ended", 5000);
  check("unknown session shows ended (not found)", gone && (await state(viewer)).badge === "ended (session not found)", `${(await state(viewer)).badge}`);

  // 9. the server goes away: reconnecting with a countdown
  await server.stop();
  const waiting = await waitFor(async () => /^reconnecting in \d+ s$/.test((await state(page)).badge ?? ""), 5000);
  check("server shutdown: reconnecting with a countdown", waiting, `${(await state(page)).badge}`);
  // A new server on the same port (the session is gone with the old one); `online` retries at once.
  await sleep(3000); // a few failed attempts: the next one is seconds away
  const wait9 = await state(page);
  // It has display defaults from the command line (-t), which the page takes; the URL overrides them.
  second = await startServer({ args: ["--port", server.url.port, "--token", server.token!, "-t", "fontSize=19", "-t", "theme=solarized-light", "-t", "cursorStyle=underline"], bin }); // same token: the page's cookie stays valid
  const tOnline = Date.now();
  await page.evaluate(() => dispatchEvent(new Event("online")));
  const after = await waitFor(async () => (await state(page)).state === "ended", 5000);
  check("`online` retries at once; the restarted server does not know the session", after && (await state(page)).badge === "ended (session not found)", `badge was "${wait9.badge}", answered in ${Date.now() - tOnline} ms`);

  // 10. -t key=value: the server's display defaults reach the page; the URL query wins over them
  const tPage = await ctx.newPage();
  tPage.on("pageerror", (e) => check("no page errors (-t)", false, e.message));
  await tPage.goto(second.url.href);
  check("page of a server started with -t goes live", await waitLive(tPage));
  const tOpts = await tPage.evaluate(() => ({ fontSize: window.term.options.fontSize, bg: window.term.options.theme?.background, cursor: window.term.options.cursorStyle }));
  check("-t fontSize/theme/cursorStyle are applied", tOpts.fontSize === 19 && tOpts.bg === "#fdf6e3" && tOpts.cursor === "underline", JSON.stringify(tOpts));
  await shoot(tPage, "client-options");
  await tPage.goto(new URL("/?fontSize=12&theme=dark", second.url).href);
  check("page with -t defaults goes live with a URL query", await waitLive(tPage));
  const uOpts = await tPage.evaluate(() => ({ fontSize: window.term.options.fontSize, bg: window.term.options.theme?.background, cursor: window.term.options.cursorStyle }));
  check("the URL query overrides -t; other -t values stay", uOpts.fontSize === 12 && uOpts.bg !== "#fdf6e3" && uOpts.cursor === "underline", JSON.stringify(uOpts));
  await tPage.close();

  // 11. every session has a client: the page says why it was refused and links the sessions page
  third = await startServer({ args: ["--max-sessions", "1"], bin });
  const holder = await ctx.newPage();
  await holder.goto(new URL(`/?token=${third.token}`, third.url).href);
  check("the only session of a --max-sessions 1 server goes live", await waitLive(holder));
  const refusedPage = await ctx.newPage();
  refusedPage.on("pageerror", (e) => check("no page errors (refused)", false, e.message));
  await refusedPage.goto(third.url.href);
  const refusedNow = await waitFor(async () => (await state(refusedPage)).state === "ended", 5000);
  const refusedBadge = (await state(refusedPage)).badge ?? "";
  check("a new terminal refused because every session has a client says so (4002)", refusedNow && refusedBadge === "refused: the server already runs its maximum of 1 sessions, each with a client attached", refusedBadge);
  check("...and links the sessions page", await waitText(refusedPage, `sessions of this server: ${new URL("/sessions", third.url).href}`, 3000));
  await shoot(refusedPage, "refused-full");
  await holder.close();
  await refusedPage.close();
} catch (e) {
  check("check script ran to the end", false, String((e as Error)?.stack ?? e));
} finally {
  await ctx?.close().catch(() => {});
  await server.stop();
  await second?.stop();
  await third?.stop();
  rmSync(profile, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok);
for (const [k, v] of Object.entries(metrics)) console.log(`metric: ${k}: ${v}`);
for (const path of screenshots) console.log(`screenshot: ${path}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) console.log(`server output:\n${server.output().slice(-4000)}`);
process.exit(failed.length ? 1 : 0);
