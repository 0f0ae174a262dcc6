// Owner: client (browser checks). The workspace in a real Chromium: two tabs and a split, each
// pane its own session; a reload brings every pane back to its own session and screen; one
// pane's socket dropped reconnects that pane only; titles and states in the panes' headers.

import type { TestServer } from "../harness.ts";
import { check, sleep } from "./helpers.ts";
import { allLive, count, focusPane, paneHead, panes, paneText, typeInto, waitFor, waitPanePrompt, waitPaneText, shoot, type Page } from "./workspace-helpers.ts";

const api = async (server: TestServer, path: string) => (await fetch(new URL(path, server.url), { headers: server.auth })).json() as Promise<any>;

export async function checkPanes(p: Page, server: TestServer): Promise<void> {
  await p.goto(new URL(`/?token=${server.token}`, server.url).href);
  check("the page opens one pane, live", await allLive(p, 1));
  await waitPanePrompt(p, 0);
  const one = await p.evaluate(() => ({ url: location.search, heads: getComputedStyle(document.querySelector(".pane-head")!).display, tabs: document.querySelectorAll("#tabbar .tab").length }));
  check("one pane: the address is ?session=ID, as before; no pane header (the tab and the badge say it)", /^\?session=[\w-]+$/.test(one.url) && one.heads === "none" && one.tabs === 1, JSON.stringify(one));
  await shoot(p, "workspace-1-pane");

  // Two tabs and a split: Split right in the first tab, then New terminal.
  await p.getByRole("button", { name: "Split right" }).click();
  await p.getByRole("button", { name: "New terminal" }).click();
  check("Split right and New terminal: three panes, two tabs, all live", await allLive(p, 3), JSON.stringify((await panes(p)).map((x) => [x.tab, x.state])));
  const list = await panes(p);
  const sessions = list.map((x) => x.session);
  check("each pane has its own session", new Set(sessions).size === 3 && list.map((x) => x.tab).join() === "0,0,1", sessions.join(" "));

  for (let i = 0; i < 3; i++) {
    await focusPane(p, i);
    await waitPanePrompt(p, i);
    await typeInto(p, "echo $((6*7))");
    await waitPaneText(p, i, /\n42$/m, 5000);
    await typeInto(p, `echo mark-$((100+${i}))`);
    await waitPaneText(p, i, `\nmark-10${i}`, 5000);
    const texts = await Promise.all([0, 1, 2].map((j) => paneText(p, j)));
    const only = texts.every((t, j) => count(t, /^42$/gm) === (j <= i ? 1 : 0));
    check(`pane ${i + 1} types echo $((6*7)) in its own session and sees 42 there only`, only, texts.map((t, j) => `pane ${j + 1}: 42 x${count(t, /^42$/gm)}`).join(", "));
  }
  const perPane = await Promise.all(sessions.map((id) => api(server, `/api/sessions/${id}`)));
  check("the server holds the three sessions, one client each", perPane.every((s) => s.clients === 1), perPane.map((s) => s.clients).join());
  const address = new URL(p.url()).searchParams.get("layout") ?? "";
  check("the address carries the layout: the split, the second tab, the focus", /^r50\([\w-]+,[\w-]+\)~\*[\w-]+$/.test(address) && sessions.every((s) => address.includes(s!)), address);

  // Reload: every pane reattaches to its own session, with its screen.
  await p.reload();
  check("after a reload: three panes again, all live", await allLive(p, 3));
  const after = await panes(p);
  check("each pane reattached to its own session, in its place", after.map((x) => x.session).join() === sessions.join() && after.map((x) => x.tab).join() === "0,0,1" && after[2]!.focused, after.map((x) => `${x.tab}:${x.session}${x.focused ? "*" : ""}`).join(" "));
  const screens = await waitFor(async () => {
    const t = await Promise.all([0, 1, 2].map((j) => paneText(p, j)));
    return t.every((s, j) => s.includes(`mark-10${j}`) && [0, 1, 2].every((k) => k === j || !s.includes(`mark-10${k}`)) && count(s, /^42$/gm) === 1);
  }, 5000);
  check("each screen is back (its own output, nobody else's)", screens);
  check("the restored panes resumed from snapshots", (await p.evaluate(() => [0, 1, 2].map((i) => (window as any).bunty.pane(i).conn.resumed))).every((r) => r === "snapshot"));

  // One pane's socket drops: only that pane reconnects (from the log); the others keep their sockets.
  await focusPane(p, 0); // the dropped pane is shown, so its header can be read
  await p.evaluate(() => {
    const w = window as any;
    w.__socks = [0, 1, 2].map((i) => w.bunty.pane(i).conn.socket);
    w.__states = [];
    w.__watch = setInterval(() => w.__states.push([0, 1, 2].map((i) => w.bunty.pane(i).conn.state).join()), 10);
    w.bunty.pane(1).conn.socket.close();
  });
  const heads: string[] = [];
  const back = await waitFor(async () => {
    heads.push((await paneHead(p, 1)).status);
    return (await p.evaluate(() => (window as any).bunty.pane(1).conn.state)) === "live" && (await p.evaluate(() => (window as any).bunty.pane(1).conn.socket !== (window as any).__socks[1]));
  }, 10_000);
  await sleep(300);
  const drop = await p.evaluate(() => {
    const w = window as any;
    clearInterval(w.__watch);
    return { same: [0, 2].every((i) => w.bunty.pane(i).conn.socket === w.__socks[i]), states: [...new Set(w.__states as string[])], resumed: w.bunty.pane(1).conn.resumed };
  });
  check("a dropped socket: that pane reconnects, resuming from the log", back && drop.resumed === "log", `resumed ${drop.resumed}`);
  check("...and only that pane: the others never left live and kept their sockets", drop.same && drop.states.every((s) => /^live,[a-z]+,live$/.test(s)), drop.states.join(" | "));
  check("...its header said reconnecting meanwhile", heads.some((h) => /^reconnecting/.test(h)), [...new Set(heads)].join(" | "));
  await typeInto(p, "echo after-drop-$((2*3))");
  check("the other panes still type into their sessions", await waitPaneText(p, 0, "\nafter-drop-6", 5000));

  // Titles follow the program (OSC 0/2) in the pane's header, the tab and the document title.
  await typeInto(p, "printf '\\e]0;ws-title-%s\\a' $((6*7))");
  const titled = await waitFor(async () => (await paneHead(p, 0)).title === "ws-title-42", 5000);
  const shown = await p.evaluate(() => ({ tab: document.querySelector("#tabbar .tab[aria-selected=true] .label")?.textContent, doc: document.title, instance: (window as any).bunty.instance }));
  const wantDoc = shown.instance ? `bunty · ${shown.instance} · ws-title-42` : "ws-title-42";
  check("the program's title (OSC 0) is the pane's title, the tab's and the document's (with the instance's name)", titled && shown.tab === "ws-title-42 (2)" && shown.doc === wantDoc, JSON.stringify(shown));
  const head1 = await paneHead(p, 1);
  check("a pane's header shows its state", head1.visible && head1.status === "live" && head1.state === "live", JSON.stringify(head1));

  // Draining (the server's message, delivered as the socket would): the pane counts down.
  await p.evaluate(() => (window as any).bunty.pane(1).conn.socket.onmessage({ data: JSON.stringify({ type: "draining", inMs: 30_000, reason: "upgrade" }) }));
  const d1 = await paneHead(p, 1);
  await sleep(2100);
  const d2 = await paneHead(p, 1);
  check("draining: the pane says the server restarts in N s, counting down", /^this server restarts in 30 s \(upgrade\)$/.test(d1.status) && /^this server restarts in 2[78] s/.test(d2.status) && d2.state === "draining", `${d1.status} -> ${d2.status}`);
  await shoot(p, "workspace-draining");

  // Ended: the pane stays, says why, and Enter starts a new session in it.
  await focusPane(p, 1);
  await typeInto(p, "exit");
  const ended = await waitFor(async () => (await paneHead(p, 1)).state === "ended", 5000);
  check("a session that ended: its pane says so", ended && (await paneHead(p, 1)).status === "ended (exit code 0)", JSON.stringify(await paneHead(p, 1)));
  await p.keyboard.press("Enter");
  check("...and Enter starts a new session in it", await waitFor(async () => { const l = await panes(p); return l[1]!.state === "live" && l[1]!.session !== sessions[1]; }, 5000));

  // A view-only pane (from the address).
  await p.goto(new URL(`/?layout=r50(${sessions[0]}.v,*)`, server.url).href);
  await allLive(p, 2);
  const view = await paneHead(p, 0);
  check("a view-only pane says so in its header", view.status === "live · view only" && view.state === "view", JSON.stringify(view));

  // The instance's name (the server's meta tag, when it has one) in the document title; without
  // it, the program's title alone. The tag is changed in the page (the page reads it as the title
  // changes): a page served through playwright's request interception may not open its WebSocket.
  for (const name of ["east-1", null]) {
    await p.evaluate((name) => {
      document.querySelector('meta[name="bunty-instance"]')?.remove();
      if (name) document.head.append(Object.assign(document.createElement("meta"), { name: "bunty-instance", content: name }));
    }, name);
    await focusPane(p, 1);
    await typeInto(p, `printf '\\e]2;t-%s\\a' $((${name ? 6 : 7}*7))`);
    const want = name ? `bunty · ${name} · t-42` : "t-49";
    const doc = await waitFor(async () => (await p.title()) === want, 5000);
    check(`document title ${name ? "with" : "without"} the instance meta tag: ${want}`, doc, await p.title());
  }
}
