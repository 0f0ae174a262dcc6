// Owner: client (browser checks). The terminal's features in a real Chromium: renderer, URL options, search, links, clipboard, screen reader, big pastes.

import type { TestServer } from "../harness.ts";
import { checkTouch } from "./mobile.ts";
import { cellOf, check, cursorLine, logicalText, metrics, screenText, shoot, sleep, state, typeLine, waitFor, waitLive, waitPrompt, waitText, type Chromium, type Context } from "./helpers.ts";

const MB = 1_000_000;

export async function checkFeatures(ctx: Context, chromium: Chromium, server: TestServer): Promise<void> {
  // Clipboard access as a user who allowed it (the page asks the permission's state at load).
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
  const p = await ctx.newPage();
  const logs: string[] = [];
  p.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  p.on("pageerror", (e) => check("no page errors (features)", false, e.message));
  await p.goto(new URL("/?theme=high-contrast&fontSize=20&cursorStyle=bar&scrollback=lots&bogus=1", server.url).href);
  check("options page goes live", await waitLive(p));
  const focused = await p.evaluate(() => document.activeElement === window.term.textarea);
  check("the terminal has the focus on load", focused);

  // renderer (chosen once the first output is on the screen)
  await waitFor(async () => logs.some((l) => l.includes("bunty: renderer")), 3000);
  const s = await state(p);
  const rendererLines = logs.filter((l) => l.includes("bunty: renderer"));
  check("renderer is webgl or dom, logged once", (s.renderer === "webgl" || s.renderer === "dom") && rendererLines.length === 1, rendererLines[0] ?? "no console line");
  metrics.renderer = rendererLines[0]?.replace(/^\w+: bunty: renderer /, "") ?? s.renderer;

  // options from the URL
  const o = await p.evaluate(() => ({ fontSize: window.term.options.fontSize, bg: window.term.options.theme?.background, cursor: window.term.options.cursorStyle, scrollback: window.term.options.scrollback, page: getComputedStyle(document.body).backgroundColor }));
  check("theme and fontSize from the URL are applied", o.fontSize === 20 && o.bg === "#000000" && o.cursor === "bar" && o.page === "rgb(0, 0, 0)" && s.options.theme === "high-contrast", JSON.stringify(o));
  const warned = logs.some((l) => /^warn.*invalid value for scrollback: "lots"/.test(l)) && logs.some((l) => /^warn.*unknown option "bogus"/.test(l));
  check("invalid and unknown options are ignored with a console warning", o.scrollback === 5000 && warned, `scrollback ${o.scrollback}`);

  // search: Ctrl+Shift+F finds words printed earlier, Enter / Shift+Enter move, Esc closes
  await typeLine(p, "echo needle-$((40+2))");
  await typeLine(p, "seq 1 100");
  await typeLine(p, "echo needle-$((40+2))");
  await waitText(p, "100\n$ echo needle-$((40+2))\nneedle-42");
  await waitPrompt(p);
  await p.keyboard.press("Control+Shift+F");
  const opened = await p.evaluate(() => { const box = document.getElementById("search"); return !!box && !box.hidden && document.activeElement === box.querySelector("input"); });
  check("Ctrl+Shift+F opens the search box (focused)", opened);
  await p.keyboard.type("needle-42");
  const countText = () => p.evaluate(() => document.querySelector("#search .count")?.textContent ?? "");
  const found = await waitFor(async () => /^\d\/2$/.test(await countText()), 3000);
  const first = await countText();
  const sel = await p.evaluate(() => window.term.getSelection());
  await p.keyboard.press("Enter");
  await sleep(100);
  const second = await countText();
  await p.keyboard.press("Shift+Enter");
  await sleep(100);
  const third = await countText();
  check("search finds the word printed earlier (2 matches), selects it", found && sel === "needle-42", `count "${first}", selection "${sel}"`);
  check("Enter goes to the next match, Shift+Enter back", second !== first && third === first, `${first} → ${second} → ${third}`);
  await p.keyboard.type("-nowhere");
  check("a word not printed shows no matches", await waitFor(async () => (await countText()) === "no matches", 2000), await countText());
  await p.keyboard.press("Control+A");
  await p.keyboard.type("needle-42");
  await waitFor(async () => /^\d\/2$/.test(await countText()), 2000);
  await shoot(p, "search-open");
  await p.keyboard.press("Escape");
  const closed = await p.evaluate(() => document.getElementById("search")!.hidden && document.activeElement === window.term.textarea);
  check("Esc closes the search box and gives the terminal the focus", closed);

  // inline images: a sixel image (WebAssembly decoder, allowed by the CSP) and an iTerm image (imgcat's protocol)
  const PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
  await typeLine(p, `clear; printf '\\eP0;0;0q"1;1;60;24#1;2;100;0;0#1!60~-!60~-!60~-!60~\\e\\\\'; echo; printf '\\e]1337;File=inline=1;size=${Buffer.from(PNG_1PX, "base64").length};width=4;height=2:${PNG_1PX}\\a'; echo; echo images-shown`);
  await waitFor(async () => (await screenText(p)).includes("\nimages-shown"), 5000);
  const img = await waitFor(() => p.evaluate(() => {
    const b = window.term.buffer.active;
    let found = 0;
    for (let y = b.viewportY; y < b.viewportY + 6; y++) if (window.termImages.getImageAtBufferCell(0, y)) found++;
    return found >= 2 && window.termImages.storageUsage > 0;
  }), 5000);
  const imgInfo = await p.evaluate(() => {
    const b = window.term.buffer.active;
    const rows = [];
    for (let y = b.viewportY; y < b.viewportY + 6; y++) { const c = window.termImages.getImageAtBufferCell(0, y); rows.push(c ? `${c.width}x${c.height}` : "-"); }
    return `${rows.join(" ")}; storage ${window.termImages.storageUsage.toFixed(3)} MB`;
  });
  check("sixel and iTerm inline images are decoded and placed in the terminal", img, imgInfo);
  await shoot(p, "images");

  // links: http(s) open in a new tab with noopener; a javascript: OSC 8 link does nothing
  await p.evaluate(() => {
    (window as any).opened = [];
    window.open = (...args: unknown[]) => ((window as any).opened.push(args), null);
  });
  await typeLine(p, "clear; echo see https://example.com/docs?a=1 here; printf '\\e]8;;javascript:alert(1)\\e\\\\js-link\\e]8;;\\e\\\\\\n'");
  await waitFor(async () => /^see https:\/\/example.com\/docs\?a=1 here\njs-link\n/.test(await screenText(p)), 3000); // cleared, then the output
  for (const needle of ["example.com/docs", "js-link"]) {
    const at = await cellOf(p, needle);
    if (!at) continue;
    // Links are found on hover, per row: come from another row, onto the link, until xterm shows the pointer.
    await p.mouse.move(at.x, at.y + 300);
    await sleep(50);
    for (let i = 0; i < 3; i++) {
      await p.mouse.move(at.x - 4 + 4 * i, at.y);
      if (await waitFor(() => p.evaluate(() => !!document.querySelector(".xterm-screen.xterm-cursor-pointer")), 300)) break;
    }
    await p.mouse.click(at.x + 4, at.y);
    await sleep(100);
  }
  const opened2 = await p.evaluate(() => (window as any).opened as string[][]);
  check("a web link opens in a new tab with noopener; a javascript: link does not open", opened2.length === 1 && opened2[0][0] === "https://example.com/docs?a=1" && opened2[0][1] === "_blank" && /noopener/.test(opened2[0][2]), JSON.stringify(opened2));

  // clipboard: Ctrl+Shift+C copies, right-click copies a selection or pastes, Ctrl+Shift+V pastes
  const clip = () => p.evaluate(() => navigator.clipboard.readText());
  const setClip = (t: string) => p.evaluate((text) => navigator.clipboard.writeText(text), t);
  const selectWord = (w: string) => p.evaluate((word) => {
    const t = window.term;
    const b = t.buffer.active;
    for (let y = b.length - 1; y >= 0; y--) {
      const x = b.getLine(y)?.translateToString(true).indexOf(word) ?? -1;
      if (x >= 0) return t.select(x, y, word.length), t.getSelection();
    }
    return "";
  }, w);
  await setClip("nothing yet");
  await selectWord("example.com");
  await p.keyboard.press("Control+Shift+C");
  check("Ctrl+Shift+C copies the selection", await waitFor(async () => (await clip()) === "example.com", 2000), JSON.stringify(await clip()));
  await setClip("nothing yet");
  await selectWord("js-link");
  await p.click("#terminal", { button: "right" });
  const rc = await waitFor(async () => (await clip()) === "js-link", 2000);
  check("right-click with a selection copies it (and clears it)", rc && !(await p.evaluate(() => window.term.hasSelection())), JSON.stringify(await clip()));
  await setClip("echo right-$((2+3))");
  await p.click("#terminal", { button: "right" });
  await waitFor(async () => (await cursorLine(p)).includes("echo right-"), 2000);
  await p.keyboard.press("Enter");
  check("right-click without a selection pastes", await waitText(p, "\nright-5\n", 3000), await cursorLine(p));
  await setClip("echo shiftv-$((3+4))");
  await p.keyboard.press("Control+Shift+V");
  await waitFor(async () => (await cursorLine(p)).includes("echo shiftv-"), 2000);
  await p.keyboard.press("Enter");
  await waitText(p, "\nshiftv-7", 3000);
  check("Ctrl+Shift+V pastes once", (await screenText(p)).includes("\nshiftv-7\n"), (await screenText(p)).split("\n").find((l) => l.includes("shiftv")) ?? "");

  // screen reader mode: Ctrl+Shift+A toggles it, window.bunty.screenReader follows
  await p.keyboard.press("Control+Shift+A");
  const on = await p.evaluate(() => ({ b: window.bunty.screenReader, o: window.term.options.screenReaderMode, tree: document.querySelector(".xterm-accessibility-tree")?.textContent ?? "" }));
  await p.keyboard.press("Control+Shift+A");
  const off = await p.evaluate(() => ({ b: window.bunty.screenReader, o: window.term.options.screenReaderMode }));
  check("Ctrl+Shift+A turns screen reader mode on (accessibility tree has the output) and off", on.b && on.o === true && on.tree.includes("shiftv-7") && !off.b && off.o === false, `on ${on.b}/${on.o}, off ${off.b}/${off.o}`);

  // a 1 MB paste, through xterm's paste API and through a paste event: whole, and the page stays responsive
  for (const via of ["term.paste", "paste event"] as const) {
    await typeLine(p, "clear; wc -c");
    await waitFor(() => p.evaluate(() => !window.term.modes.bracketedPasteMode), 3000); // wc runs: the prompt's paste mode is off
    await waitFor(async () => !(await screenText(p)).includes("1000000"), 3000); // the clear is drawn
    const t0 = Date.now();
    const callMs = await p.evaluate(({ n, how }) => {
      // The longest the main thread went without running a timer, from now until the check reads it.
      const w = window as any;
      w.stall = { max: 0, last: performance.now() };
      const tick = () => {
        const now = performance.now();
        w.stall.max = Math.max(w.stall.max, now - w.stall.last);
        w.stall.last = now;
        w.stall.timer = setTimeout(tick, 0);
      };
      tick();
      const text = ("p".repeat(99) + "\n").repeat(n / 100);
      const start = performance.now();
      if (how === "term.paste") window.term.paste(text);
      else {
        const data = new DataTransfer();
        data.setData("text/plain", text);
        window.term.textarea!.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
      }
      return performance.now() - start;
    }, { n: MB, how: via });
    await p.keyboard.press("Control+D");
    // wc's count, then the prompt. (The terminal's echo of the paste may lose bytes when the kernel's
    // echo buffer overflows, so wc's line may start mid-echo; the count is what must be exact.)
    const whole = await waitFor(async () => /(^|p)1000000$/m.test(await logicalText(p)), 20_000); // the count may wrap with the echo before it
    const totalMs = Date.now() - t0;
    const stallMs = await p.evaluate(() => (clearTimeout((window as any).stall.timer), (window as any).stall.max as number));
    const detail = `${via}: call ${callMs.toFixed(0)} ms, wc answered after ${totalMs} ms, longest main-thread stall ${stallMs.toFixed(0)} ms`;
    const tail = JSON.stringify((await screenText(p)).split("\n").filter((l) => !/^p+$/.test(l)).slice(-6));
    check(`1 MB paste (${via}) arrives whole`, whole, whole ? detail : `${tail} (${detail})`);
    check(`1 MB paste (${via}) does not freeze the page (no stall over 1 s)`, stallMs < 1000, detail);
    metrics[`1 MB paste via ${via}`] = detail;
    await waitPrompt(p, 5000);
  }
  check("features page still live", (await state(p)).state === "live" && /(^|p)1000000$/m.test(await logicalText(p)));
  await p.close();

  // copy-on-select (an option), in the light theme
  const q = await ctx.newPage();
  await q.goto(new URL("/?copyOnSelect=true&theme=light", server.url).href);
  check("copyOnSelect page goes live", await waitLive(q));
  await typeLine(q, "echo select-$((8*8))");
  await waitText(q, "\nselect-64");
  await q.evaluate(() => navigator.clipboard.writeText("nothing yet"));
  await q.evaluate(() => {
    const b = window.term.buffer.active;
    for (let y = 0; y < b.length; y++) if (b.getLine(y)?.translateToString(true) === "select-64") window.term.select(0, y, 9);
  });
  const copied = await waitFor(async () => (await q.evaluate(() => navigator.clipboard.readText())) === "select-64", 2000);
  const light = await q.evaluate(() => window.term.options.theme?.background);
  check("?copyOnSelect=true copies what is selected (light theme)", copied && light === "#fafafa", `theme background ${light}`);
  await q.close();

  await checkTouch(chromium, server);
}
