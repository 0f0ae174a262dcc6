// Owner: client (browser checks). The workspace's keyboard shortcuts and buttons do what
// docs/client.md says: new tab, split right and down, move the focus, switch tabs, close (ending
// an idle session, asking about a busy one), the session switcher (detached first), the help
// overlay; a divider dragged resizes the panes and their PTYs; a shortcut set in the address.

import { startServer, type TestServer } from "../harness.ts";
import { check, sleep } from "./helpers.ts";
import { allLive, focusPane, paneCursorLine, panes, typeInto, waitFor, waitPanePrompt, waitPaneText, shoot, type Page } from "./workspace-helpers.ts";

const session = async (server: TestServer, id: string) => {
  const r = await fetch(new URL(`/api/sessions/${id}`, server.url), { headers: server.auth });
  return r.ok ? ((await r.json()) as { clients: number; cols: number }) : null;
};
const rect = (p: Page, i: number) => p.evaluate((i) => (window as any).bunty.pane(i).element.getBoundingClientRect().toJSON() as DOMRect, i);
const focusedIndex = async (p: Page) => (await panes(p)).findIndex((x) => x.focused);

/** The shortcuts listed in docs/client.md's Workspace section (the defaults). */
const DOCUMENTED: [string, string][] = [
  ["Ctrl+Shift+Enter", "New terminal"], ["Ctrl+Shift+E", "Split right"], ["Ctrl+Shift+O", "Split down"], ["Ctrl+Shift+X", "Close terminal"],
  ["Ctrl+Shift+ArrowLeft", "left"], ["Ctrl+Shift+ArrowRight", "right"], ["Ctrl+Shift+ArrowUp", "above"], ["Ctrl+Shift+ArrowDown", "below"],
  ["Ctrl+Shift+PageDown", "Next tab"], ["Ctrl+Shift+PageUp", "Previous tab"], ["Ctrl+Shift+S", "session"], ["Ctrl+Shift+H", "keyboard shortcuts"],
];

export async function checkKeys(p: Page, server: TestServer): Promise<void> {
  await p.goto(server.url.href);
  await allLive(p, 1);
  await waitPanePrompt(p, 0);

  await p.keyboard.press("Control+Shift+Enter");
  check("Ctrl+Shift+Enter: a new terminal in a new tab", await allLive(p, 2) && (await p.evaluate(() => (window as any).bunty.tabs)) === 2 && (await focusedIndex(p)) === 1);
  await p.keyboard.press("Control+Shift+E");
  await allLive(p, 3);
  const [a, b] = [await rect(p, 1), await rect(p, 2)];
  check("Ctrl+Shift+E: split right (the new pane beside, focused)", (await focusedIndex(p)) === 2 && b.left >= a.right && Math.abs(a.top - b.top) < 2, `${a.left}-${a.right} | ${b.left}-${b.right}`);
  await p.keyboard.press("Control+Shift+O");
  await allLive(p, 4);
  const [c, d] = [await rect(p, 2), await rect(p, 3)];
  check("Ctrl+Shift+O: split down (the new pane below, focused)", (await focusedIndex(p)) === 3 && d.top >= c.bottom && Math.abs(c.left - d.left) < 2, `${c.top}-${c.bottom} / ${d.top}-${d.bottom}`);
  for (const [i, mark] of [[1, "left"], [2, "top right"], [3, "bottom right"]] as const) {
    await focusPane(p, i);
    await waitPanePrompt(p, i);
    await typeInto(p, `echo '${mark} pane'; echo ${i}$((6*7))`);
    await waitPaneText(p, i, `\n${i}42`, 5000);
  }
  await shoot(p, "workspace-3-panes");

  await focusPane(p, 3);
  const moves: [string, number][] = [];
  for (const [key, want] of [["Control+Shift+ArrowUp", 2], ["Control+Shift+ArrowLeft", 1], ["Control+Shift+ArrowRight", 2], ["Control+Shift+ArrowDown", 3]] as const) {
    await p.keyboard.press(key);
    moves.push([key, await focusedIndex(p)]);
    if ((await focusedIndex(p)) !== want) break;
  }
  const typed = await p.evaluate(() => document.activeElement === (window as any).bunty.pane(3).view.term.textarea);
  check("Ctrl+Shift+arrows move the focus to the pane in that direction (keyboard focus too)", moves.map((m) => m[1]).join() === "2,1,2,3" && typed, moves.map((m) => `${m[0].slice(13)}->${m[1]}`).join(" "));
  await p.keyboard.press("Control+Shift+PageUp");
  const left = await p.evaluate(() => (window as any).bunty.activeTab);
  await p.keyboard.press("Control+Shift+PageDown");
  const right = await p.evaluate(() => (window as any).bunty.activeTab);
  check("Ctrl+Shift+PageUp / PageDown switch tabs (each tab keeps its focused pane)", left === 0 && right === 1 && (await focusedIndex(p)) === 3, `${left} ${right}`);

  // Close: an idle shell's session is ended at once; a busy one asks.
  const idle = (await panes(p))[3]!.session!;
  await p.keyboard.press("Control+Shift+X");
  const gone = await waitFor(async () => (await panes(p)).length === 3 && (await session(server, idle)) === null, 5000);
  check("Ctrl+Shift+X on a shell at its prompt closes the pane and ends its session (no question)", gone && !(await p.locator(".dialog").count()));
  await focusPane(p, 2);
  await typeInto(p, "sleep 1000");
  await waitFor(async () => (await paneCursorLine(p, 2)) === "", 3000); // the shell ran it: no prompt
  const busy = (await panes(p))[2]!.session!;
  await p.getByRole("button", { name: "Close terminal" }).click();
  const asked = await p.getByRole("dialog", { name: "Close terminal" }).waitFor({ timeout: 3000 }).then(() => true, () => false);
  const question = asked ? await p.locator(".dialog").textContent() : "";
  check("Close terminal on a busy pane asks: end it, keep it running, or cancel", asked && /running a program/.test(question ?? ""), question ?? "");
  await shoot(p, "workspace-close-question");
  await p.getByRole("button", { name: "Keep running" }).click();
  const kept = await waitFor(async () => (await panes(p)).length === 2 && (await session(server, busy))?.clients === 0, 5000);
  check("Keep running: the pane goes, its session stays, detached", kept, JSON.stringify(await session(server, busy)));

  // The session switcher lists detached sessions first; opening one brings it back.
  await p.keyboard.press("Control+Shift+S");
  const first = p.locator(".dialog ul.sessions li").first();
  await first.waitFor({ timeout: 5000 });
  const firstId = await first.getAttribute("data-session");
  const rows = await p.locator(".dialog ul.sessions li").evaluateAll((l) => l.map((e) => (e as HTMLElement).dataset.clients));
  const order = await p.locator(".dialog ul.sessions li").evaluateAll((l) => l.map((e) => (e as HTMLElement).dataset.session));
  const firstAttached = rows.findIndex((x) => x !== "0");
  const detachedFirst = rows[0] === "0" && (firstAttached < 0 || rows.slice(firstAttached).every((x) => x !== "0"));
  check("Ctrl+Shift+S: the session switcher lists the server's sessions, detached first", detachedFirst && order.includes(busy) && rows[order.indexOf(busy)] === "0", `${firstId}: clients ${rows.join()}`);
  await shoot(p, "workspace-sessions");
  await p.getByRole("button", { name: `Open session ${busy}` }).click();
  const reopened = await waitFor(async () => (await panes(p)).some((x) => x.session === busy && x.state === "live" && x.focused), 5000);
  const i = (await panes(p)).findIndex((x) => x.session === busy);
  check("...and opens one in a new tab, its screen restored", reopened && (await waitPaneText(p, i, "sleep 1000", 3000)) && (await p.evaluate(() => (window as any).bunty.tabs)) === 3);
  await p.getByRole("button", { name: "Close terminal" }).click();
  await p.getByRole("button", { name: "End session" }).click();
  check("End session: the pane goes and so does the session", await waitFor(async () => (await panes(p)).length === 2 && (await session(server, busy)) === null, 5000));

  // Help: the overlay lists every shortcut as docs/client.md does; the same key closes it.
  await p.keyboard.press("Control+Shift+H");
  const help = await p.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ timeout: 2000 }).then(() => true, () => false);
  const rowsText = await p.locator(".dialog table.keys tr").allTextContents();
  const listed = DOCUMENTED.every(([k, what]) => rowsText.some((r) => r.startsWith(k) && r.toLowerCase().includes(what.toLowerCase())));
  await shoot(p, "workspace-help");
  await p.keyboard.press("Control+Shift+H");
  const closed = (await p.locator(".dialog").count()) === 0;
  check("Ctrl+Shift+H: the help overlay lists the shortcuts (as documented), and closes again", help && listed && closed, rowsText.slice(0, 14).join(" | "));

  // The buttons, by their accessible names.
  const was = await focusedIndex(p);
  await p.getByRole("button", { name: "Split down" }).click();
  await allLive(p, 3);
  const [top, bottom] = [await rect(p, was), await rect(p, was + 1)];
  check("the Split down button splits the focused pane", (await focusedIndex(p)) === was + 1 && bottom.top >= top.bottom, `${top.top}-${top.bottom} / ${bottom.top}-${bottom.bottom}`);
  await p.getByRole("button", { name: "Close terminal" }).click();
  check("the Close terminal button closes the focused pane", await waitFor(async () => (await panes(p)).length === 2, 3000));

  // A divider dragged: the panes and their PTYs follow; the ratio goes in the address.
  await focusPane(p, 1);
  await p.keyboard.press("Control+Shift+E");
  await allLive(p, 3);
  const ids = (await panes(p)).slice(1).map((x) => x.session!);
  // Both halves' PTYs have their size first (a resize reaches the server after a debounce).
  await waitFor(async () => { const s = await Promise.all(ids.map((id) => session(server, id))); return s[0]!.cols === s[1]!.cols; }, 5000);
  const before = await Promise.all(ids.map((id) => session(server, id)));
  const div = await p.locator(".tab-panel.active .divider").boundingBox();
  await p.mouse.move(div!.x + 2, div!.y + div!.height / 2);
  await p.mouse.down();
  await p.mouse.move(div!.x + 2 + 200, div!.y + div!.height / 2, { steps: 5 });
  await p.mouse.up();
  const resized = await waitFor(async () => {
    const s = await Promise.all(ids.map((id) => session(server, id)));
    return s[0]!.cols > before[0]!.cols + 10 && s[1]!.cols < before[1]!.cols - 10;
  }, 5000);
  const layout = new URL(p.url()).searchParams.get("layout") ?? "";
  check("dragging a divider resizes both panes and their PTYs; the address keeps the ratio", resized && /~r(6\d|7\d)\(/.test(layout), `${before.map((s) => s!.cols).join("+")} cols -> ${(await Promise.all(ids.map((id) => session(server, id)))).map((s) => s!.cols).join("+")}; ${layout}`);

  // A shortcut set in the address; one a browser keeps is refused with a warning.
  const warnings: string[] = [];
  p.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await p.goto(new URL("/?keySplitRight=Alt+Shift+R&keyClose=Ctrl+Shift+T", server.url).href);
  await allLive(p, 1);
  await p.keyboard.press("Alt+Shift+R");
  const alt = await allLive(p, 2, 5000);
  await p.keyboard.press("Control+Shift+E");
  await sleep(500);
  check("?keySplitRight=Alt+Shift+R: that chord splits, the default one no longer does", alt && (await panes(p)).length === 2);
  check("?keyClose=Ctrl+Shift+T (the browser's) is refused with a warning", warnings.some((w) => /invalid value for keyClose/.test(w)) && (await p.evaluate(() => (window as any).bunty.workspace.keyClose)) === "Ctrl+Shift+X", warnings.join(" | "));

  // The same options as the server's defaults (-t), the address still winning.
  const bin = process.env.BUNTY_SERVER_CMD?.split(/\s+/).filter(Boolean);
  const other = await startServer({ bin, args: ["-t", "keySplitDown=Alt+Shift+D", "-t", "predict=off", "-t", "keyHelp=none"] });
  try {
    await p.goto(new URL(`/?predict=always&token=${other.token}`, other.url).href);
    await allLive(p, 1);
    await p.keyboard.press("Alt+Shift+D");
    const split = await allLive(p, 2, 5000);
    const opts = await p.evaluate(() => (window as any).bunty.workspace as Record<string, string>);
    check("-t keySplitDown=Alt+Shift+D -t keyHelp=none reach the page (that chord splits; help has no key); ?predict=always wins over -t predict=off",
      split && opts.keySplitDown === "Alt+Shift+D" && opts.keyHelp === "none" && opts.predict === "always", JSON.stringify({ split, keySplitDown: opts.keySplitDown, keyHelp: opts.keyHelp, predict: opts.predict }));
  } finally {
    await other.stop();
  }
}
