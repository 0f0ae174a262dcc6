// Owner: client (browser checks). Big input and big output in a real Chromium: a paste bigger
// than a frame arrives whole; Ctrl-C in `yes` brings the prompt back promptly; a page that types
// while behind a flood is told to skip (protocol `skip`) and acts on it; the offsets stay exact.

import { check, cursorLine, metrics, sleep, state, typeLine, waitFor, waitPrompt, waitText, type Page } from "./helpers.ts";

/** `sessionInfo`: the server's /api/sessions/ID for `session`, the session `page` shows. */
export async function checkFloods(page: Page, sessionInfo: (id: string) => Promise<{ offset: number }>, session: string): Promise<void> {
  // 3b. a paste bigger than one frame may be (1 MiB) goes through whole
  await typeLine(page, "wc -c");
  // Pasting while the prompt's bracketed-paste mode is still on would wrap the text in markers.
  await waitFor(() => page.evaluate(() => !window.term.modes.bracketedPasteMode), 3000);
  await sleep(100);
  await page.evaluate(() => {
    (window as any).socketBeforePaste = window.bunty.socket;
    window.term.paste(("x".repeat(99) + "\n").repeat(15_000));
  });
  await page.keyboard.press("Control+D");
  check("1.5 MB paste arrives whole", await waitText(page, "1500000", 15_000), (await cursorLine(page)) || "");
  check("paste did not drop the connection", await page.evaluate(() => (window as any).socketBeforePaste === window.bunty.socket && window.bunty.state === "live"));

  // 4. yes for 3 s, then Ctrl-C from the keyboard: the prompt must come back promptly
  await page.click("#terminal");
  await typeLine(page, "yes");
  await sleep(3000);
  const atCtrlC = await sessionInfo(session);
  const tC = Date.now();
  await page.keyboard.press("Control+C");
  const prompt = await waitPrompt(page, 15_000);
  const ctrlCMs = Date.now() - tC;
  check("prompt back after Ctrl-C during yes", prompt, `${ctrlCMs} ms from Ctrl-C to prompt; ${(atCtrlC.offset / 1e6).toFixed(1)} MB of output by then`);
  metrics["Ctrl-C to prompt after 3 s of yes"] = `${ctrlCMs} ms (${(atCtrlC.offset / 1e6).toFixed(1)} MB of output by then)`;

  // 4'. The server tells a page that types while behind in a flood to skip (protocol `skip`): the
  // page drops what it has not handed to xterm yet there and then, before the snapshot comes
  // (tests/browser/stream.test.ts). A page that kept up needs no skip (on a loaded host the flood
  // may be shed for a while and the page catch up), so this page is made to fall behind first: its
  // main thread is held for 600 ms (it acks nothing meanwhile), then Ctrl-C is typed in that task.
  await typeLine(page, "yes");
  await sleep(1000);
  const skipped = await page.evaluate(() => {
    const pane = window.bunty.pane(0)!;
    const w = window as unknown as { skips: number };
    w.skips = 0;
    pane.conn.on("skip", () => w.skips++);
    const dropped = pane.view.stream.dropped;
    const t0 = performance.now();
    while (performance.now() - t0 < 600); // busy: the socket's messages wait, nothing is acked
    window.term.input("\x03", true);
    return new Promise<{ skips: number; dropped: number }>((resolve) => setTimeout(() => resolve({ skips: w.skips, dropped: pane.view.stream.dropped - dropped }), 1000));
  });
  // (The page's connection emits a message's event only once it has acted on a type it knows.)
  check("a Ctrl-C typed while the page is behind a flood is answered with skip, and the page acted on it", skipped.skips >= 1, `${skipped.skips} skip(s); ${skipped.dropped} bytes dropped unparsed since`);
  // (The tty's ^C echo may share the prompt's line: "^C$ ".)
  check("...and the prompt is back", await waitFor(async () => /(^|\^C)\$ ?$/.test(await cursorLine(page)), 15_000), await cursorLine(page));
  await typeLine(page, "echo after-yes-$((3*3))");
  check("shell answers after yes", await waitText(page, "after-yes-9"));
  await sleep(300);
  const s4 = await state(page);
  const info4 = await sessionInfo(session);
  check("offset exact after yes", s4.offset === info4.offset, `client ${s4.offset}, server ${info4.offset}, snapshots ${s4.snapshots}`);
  check("still live and the writer after yes", s4.state === "live" && s4.writer === true);
}
