// Many instances behind a real nginx, configured with deploy/nginx/one-host.conf as docs/deploy.md
// gives it (three instances on unix sockets, slots a-f): the front door spreads new tabs, a
// reattach or a share link reaches its session's instance by the prefix alone, a drain nobody
// else notices, and an upgrade in place during which no new tab fails. Real nginx, real
// instances (separate processes), real shells. Then the several-hosts recipe, on TCP.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DRAIN_HANDOVER_MS } from "../server/core/pool.ts";
import { markedProcesses, until } from "./harness.ts";
import { direct, frontDoor, instanceOf, NGINX, openTab, sharedToken, startInstance, startNginx, Tab, type Instance, type Nginx } from "./fleet.ts";
import { RawWs } from "./rawws.ts";

/** The drain's timeout in these tests (--drain-timeout): long enough to watch, short enough to wait for. */
const DRAIN_S = 4;
/** New tabs opened at once by the loops that run during a drain, and each loop's pause between two: about 15 new tabs a second. */
const LOOPS = 2;
const PAUSE_MS = 100;
/** Starting three instances and nginx, or stopping them (each ends its sessions: up to 5.3 s), on a busy 2-core machine. */
const HOOK_MS = 30_000;

const enc = new TextEncoder();
const decodeAll = (raw: RawWs) => new TextDecoder().decode(Buffer.concat(raw.events.flatMap((e) => ("bytes" in e ? [e.bytes] : []))));
const rawMessages = (raw: RawWs) => raw.events.flatMap((e) => ("message" in e ? [e.message] : []));

/** New tabs through the front door, LOOPS at a time, until `stop()`: every one must get a shell; where each landed. */
function tabsUntil(nginx: Nginx, token: string) {
  const landed: string[] = [];
  const failures: string[] = [];
  let attempted = 0;
  let going = true;
  const loops = Array.from({ length: LOOPS }, async () => {
    while (going) {
      attempted++;
      const t = await openTab(nginx, token);
      if ("error" in t) failures.push(t.error);
      else {
        landed.push(t.instance);
        t.tab.close(); // a disposable session: it ends 5 s after its client
      }
      await Bun.sleep(PAUSE_MS);
    }
  });
  return {
    async stop() {
      going = false;
      await Promise.all(loops);
      return { attempted, opened: landed.length, landed, failures };
    },
  };
}

describe.skipIf(!existsSync(NGINX))("three instances behind nginx (deploy/nginx/one-host.conf)", () => {
  const { file: tokenFile, token } = sharedToken();
  const run = mkdtempSync(join(tmpdir(), "bunty-run-")); // stands for /run/bunty
  const instances = new Map<string, Instance>();
  let nginx: Nginx;
  /** The tabs of the first test, reattached after their TCP reset: name -> tabs. */
  const live = new Map<string, { tab: Tab; id: string; pid: number; mark: string }[]>();
  const auth = () => ({ authorization: `Bearer ${token}`, origin: nginx.origin });

  beforeAll(async () => {
    for (const i of await Promise.all(["a", "b", "c"].map((n) => startInstance(n, run, tokenFile, ["--drain-timeout", String(DRAIN_S)])))) instances.set(i.name, i);
    nginx = await startNginx("deploy/nginx/one-host.conf", [["/run/bunty/", `${run}/`]]);
  }, HOOK_MS);
  afterAll(async () => {
    for (const tabs of live.values()) for (const t of tabs) t.tab.close();
    await nginx?.stop();
    await Promise.all([...instances.values()].map((i) => i.server.stop("SIGINT"))); // at once, not a drain
  }, HOOK_MS);

  test("30 new tabs spread over the three; each reattaches by its URL after a TCP reset to the same shell; a share link finds its instance; each lists only its own", async () => {
    // The front door, as a browser follows it, then the page's socket at that prefix; raw, so that the TCP connection can be reset.
    const opened: { raw: RawWs; prefix: string; id: string; pid: number; mark: string }[] = [];
    for (let round = 0; round < 6; round++) {
      opened.push(...await Promise.all(Array.from({ length: 5 }, async (_, k) => {
        const n = round * 5 + k;
        const door = await frontDoor(nginx, `?token=${token}`);
        expect(door.status).toBe(302);
        const raw = new RawWs(nginx.port);
        raw.capture = true;
        await raw.connected();
        raw.sock.write(RawWs.request(nginx.port, `${door.prefix}ws?cols=80&rows=24`, nginx.origin, token));
        const hello = await until(() => rawMessages(raw).find((m) => m.type === "hello"), 10_000);
        expect(hello).toBeTruthy();
        const mark = `tab${n}`;
        raw.sendBinary(enc.encode(`export MARK=${mark}; echo up-$MARK\r`));
        expect(await until(() => decodeAll(raw).includes(`up-${mark}`), 5000)).toBe(true);
        return { raw, prefix: door.prefix!, id: hello.session as string, pid: hello.pid as number, mark };
      })));
    }
    const per = new Map<string, number>();
    for (const o of opened) per.set(instanceOf(o.prefix), (per.get(instanceOf(o.prefix)) ?? 0) + 1);
    console.log(`30 new tabs through the front door: ${[...per].map(([n, c]) => `${n} ${c}`).join(", ")}`);
    expect([...per.keys()].sort()).toEqual(["a", "b", "c"]);
    for (const c of per.values()) expect(c).toBeGreaterThanOrEqual(5);

    // A TCP reset (no close frame, no FIN) of every tab, then a reattach by its URL, through nginx: the same shell on the same instance.
    for (const o of opened) o.raw.reset();
    await Promise.all(opened.map(async (o) => {
      const offset = rawMessages(o.raw).find((m) => m.type === "hello").offset + Buffer.concat(o.raw.events.flatMap((e) => ("bytes" in e ? [e.bytes] : []))).length;
      const tab = new Tab(`ws://127.0.0.1:${nginx.port}${o.prefix}ws?session=${o.id}&offset=${offset}`, auth());
      expect(await tab.opened()).toBe(true);
      expect(tab.hello()).toMatchObject({ session: o.id, pid: o.pid, resumed: "log" });
      tab.type("echo again-$MARK-$$\r");
      expect(await tab.waitFor(new RegExp(`again-${o.mark}-${o.pid}`))).toBe(true);
      const name = instanceOf(o.prefix);
      live.set(name, [...(live.get(name) ?? []), { tab, id: o.id, pid: o.pid, mark: o.mark }]);
    }));

    // Each instance lists its own sessions, and only those.
    for (const [name, tabs] of live) {
      const list = await (await fetch(`${nginx.origin}/i/${name}/api/sessions`, { headers: auth() })).json();
      expect(list.map((s: { id: string }) => s.id).sort()).toEqual(tabs.map((t) => t.id).sort());
    }

    // A share link made on b opens through nginx on b, without the token, view-only.
    const owner = live.get("b")![0]!;
    const share = await (await fetch(`${nginx.origin}/i/b/api/sessions/${owner.id}/share`, { method: "POST", headers: auth() })).json();
    expect(share.path).toStartWith(`/i/b/?session=${owner.id}&mode=view&share=`);
    const page = await fetch(`${nginx.origin}${share.path}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<meta name="bunty-instance" content="b">');
    const viewer = new Tab(`ws://127.0.0.1:${nginx.port}${share.path.replace("/?", "/ws?")}`, { origin: nginx.origin });
    expect(await viewer.opened()).toBe(true);
    expect(viewer.hello()).toMatchObject({ session: owner.id, mode: "view" });
    owner.tab.type("echo shared-$MARK\r");
    expect(await viewer.waitFor(new RegExp(`shared-${owner.mark}`))).toBe(true);
    viewer.close();

    // The instance's name: in its health, its metrics, its log lines.
    const health = await (await fetch(`${nginx.origin}/i/c/api/health`, { headers: auth() })).json();
    expect(health).toMatchObject({ status: "ok", instance: "c", sessions: live.get("c")!.length });
    const metrics = await (await fetch(`${nginx.origin}/i/a/metrics`, { headers: auth() })).text();
    for (const line of metrics.split("\n").filter((l) => l && !l.startsWith("#"))) expect(line).toContain('bunty_instance="a"');
    const lines = instances.get("a")!.server.stderr().split("\n").filter(Boolean);
    expect(lines.some((l) => / info session\.start /.test(l))).toBe(true);
    for (const l of lines) expect(l).toEndWith(" instance=a");
  }, 40_000);

  test("a drain (SIGTERM): new tabs only on the others, its sessions go on and are told, then end; it exits, reaped; nobody else notices", async () => {
    const b = instances.get("b")!;
    const bTabs = live.get("b")!;
    const others = [...live.get("a")!, ...live.get("c")!];
    expect(bTabs.length).toBeGreaterThan(0);
    const t0 = performance.now();
    b.server.proc.kill("SIGTERM");

    // Its pages are told, with the time left; nobody else's.
    expect(await until(() => bTabs.every((t) => t.tab.draining().length === 1), 3000)).toBe(true);
    for (const t of bTabs) expect(t.tab.draining()[0]!.inMs).toBeWithin(DRAIN_S * 1000 - 1500, DRAIN_S * 1000 + 1);
    // Not ready (503, "draining"), yet alive: to the proxy through its prefix and to a probe on its socket.
    const health = await fetch(`${nginx.origin}/i/b/api/health`, { headers: auth() });
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "draining", instance: "b" });
    expect((await direct(b, "/readyz")).status).toBe(503);
    expect(await (await direct(b, "/livez")).json()).toEqual({ status: "draining", instance: "b" });
    // A page b served just before (the handover) still gets its session, and is told at once.
    const late = new Tab(`ws://127.0.0.1:${nginx.port}/i/b/ws`, auth());
    expect(await late.opened()).toBe(true);
    expect(await until(() => late.draining().length === 1, 2000)).toBe(true);

    const during = tabsUntil(nginx, token);
    // After the handover, b starts nothing: the socket is refused (4002, and why), and so is the API.
    await Bun.sleep(Math.max(0, DRAIN_HANDOVER_MS + 200 - (performance.now() - t0)));
    const refused = new Tab(`ws://127.0.0.1:${nginx.port}/i/b/ws`, auth());
    expect(await refused.waitClosed()).toMatchObject({ code: 4002, reason: expect.stringContaining("draining") });
    const api = await fetch(`${nginx.origin}/i/b/api/sessions`, { method: "POST", body: "{}", headers: { ...auth(), "content-type": "application/json" } });
    expect(api.status).toBe(503);
    expect((await api.json()).error).toBe("draining");
    // Its sessions keep working until the timeout.
    for (const t of bTabs) t.tab.type("echo still-$MARK\r");
    for (const t of bTabs) expect(await t.tab.waitFor(new RegExp(`still-${t.mark}`))).toBe(true);

    // Then they end (1001), every process is reaped, and it exits 0.
    const code = await Promise.race([b.server.proc.exited, Bun.sleep(DRAIN_S * 1000 + 8000).then(() => "hung")]);
    const exitMs = Math.round(performance.now() - t0);
    const figures = await during.stop();
    expect(code).toBe(0);
    expect(exitMs).toBeGreaterThanOrEqual(DRAIN_S * 1000 - 100);
    for (const t of [...bTabs.map((x) => x.tab), late]) expect((await t.waitClosed())?.code).toBe(1001);
    expect(await markedProcesses(b.server.mark)).toEqual([]);
    console.log(`drain of b: new tabs attempted ${figures.attempted}, opened ${figures.opened} (${figures.landed.filter((n) => n === "a").length} on a, ${figures.landed.filter((n) => n === "c").length} on c, ${figures.landed.filter((n) => n === "b").length} on b), failed ${figures.failures.length}; exit ${exitMs} ms after SIGTERM (--drain-timeout ${DRAIN_S})`);
    expect(figures.failures).toEqual([]);
    expect(figures.opened).toBe(figures.attempted);
    expect(figures.opened).toBeGreaterThan(0);
    expect(figures.landed).not.toContain("b");

    // The others noticed nothing: no message, no close, the same shells.
    for (const t of others) {
      expect(t.tab.draining()).toEqual([]);
      expect(t.tab.closed).toBeNull();
      t.tab.type("echo fine-$MARK-$$\r");
    }
    for (const t of others) expect(await t.tab.waitFor(new RegExp(`fine-${t.mark}-${t.pid}`))).toBe(true);
    for (const name of ["a", "c"]) {
      const h = await (await fetch(`${nginx.origin}/i/${name}/api/health`, { headers: auth() })).json();
      expect(h.status).toBe("ok");
    }
    live.delete("b");
    instances.delete("b");
  }, 30_000);

  test("an upgrade in place: the new build starts in a free slot, the old one drains (POST /api/drain); no new tab fails", async () => {
    const c = instances.get("c")!;
    const cTabs = live.get("c")!;
    const during = tabsUntil(nginx, token);
    await Bun.sleep(300);
    // The new build beside the old one, in slot d: nginx lists it already, nothing to reload. nginx
    // tries an empty slot again after its fail_timeout (5 s): the old one drains once d takes tabs.
    const d = await startInstance("d", run, tokenFile, ["--drain-timeout", String(DRAIN_S)]);
    instances.set("d", d);
    expect(await until(async () => (await frontDoor(nginx)).prefix === "/i/d/", 8000, 100)).toBe(true);
    const t0 = performance.now();
    const drain = await fetch(`${nginx.origin}/i/c/api/drain`, { method: "POST", body: JSON.stringify({ timeoutS: 3, reason: "upgrading to the new build" }), headers: { ...auth(), "content-type": "application/json" } });
    expect(drain.status).toBe(202);
    const answer = await drain.json();
    expect(answer).toMatchObject({ status: "draining", instance: "c" });
    expect(answer.inMs).toBeWithin(2500, 3001);
    expect(await until(() => cTabs.every((t) => t.tab.draining()[0]?.reason === "upgrading to the new build"), 3000)).toBe(true);
    const code = await Promise.race([c.server.proc.exited, Bun.sleep(3000 + 8000).then(() => "hung")]);
    const exitMs = Math.round(performance.now() - t0);
    await Bun.sleep(500); // and a little beyond: the front door without c
    const figures = await during.stop();
    expect(code).toBe(0);
    console.log(`upgrade of c into d: new tabs attempted ${figures.attempted}, opened ${figures.opened} (${["a", "c", "d"].map((n) => `${figures.landed.filter((x) => x === n).length} on ${n}`).join(", ")}), failed ${figures.failures.length}; c exited ${exitMs} ms after POST /api/drain`);
    expect(figures.failures).toEqual([]);
    expect(figures.opened).toBe(figures.attempted);
    expect(figures.landed).toContain("d");
    for (const t of cTabs) expect((await t.tab.waitClosed())?.code).toBe(1001);
    expect(await markedProcesses(c.server.mark)).toEqual([]);
    // a never noticed.
    for (const t of live.get("a")!) expect(t.tab.closed).toBeNull();
    live.delete("c");
    instances.delete("c");
  }, 40_000);
});

describe.skipIf(!existsSync(NGINX))("one instance on each of three hosts (deploy/nginx/many-hosts.conf), on loopback ports", () => {
  const { file: tokenFile, token } = sharedToken();
  const instances: Instance[] = [];
  let nginx: Nginx;
  beforeAll(async () => {
    instances.push(...await Promise.all(["web1", "web2", "web3"].map((n) => startInstance(n, null, tokenFile, ["--drain-timeout", "2"]))));
    // The recipe's addresses (10.0.0.11-13:7681) become this machine's instances.
    nginx = await startNginx("deploy/nginx/many-hosts.conf", instances.map((i, k) => [`10.0.0.1${k + 1}:7681`, `127.0.0.1:${i.port}`]));
  }, HOOK_MS);
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(instances.map((i) => i.server.stop("SIGINT")));
  }, HOOK_MS);

  test("the front door spreads new tabs, each prefix reaches its instance, unknown names are 404, a draining host is skipped", async () => {
    const tabs = [];
    for (let k = 0; k < 6; k++) {
      const t = await openTab(nginx, token);
      if ("error" in t) throw new Error(t.error);
      tabs.push(t);
    }
    expect(new Set(tabs.map((t) => t.instance))).toEqual(new Set(["web1", "web2", "web3"]));
    for (const t of tabs) {
      const list = await (await fetch(`${nginx.origin}/i/${t.instance}/api/sessions`, { headers: { authorization: `Bearer ${token}` } })).json();
      expect(list.map((s: { id: string }) => s.id)).toContain(t.tab.hello()!.session);
    }
    expect((await fetch(`${nginx.origin}/i/web9/api/health`)).status).toBe(404);
    instances[1]!.server.proc.kill("SIGTERM"); // web2 drains
    expect(await until(async () => (await direct(instances[1]!, "/readyz").then((r) => r.status, () => 0)) === 503, 3000)).toBe(true);
    for (let k = 0; k < 6; k++) {
      const t = await openTab(nginx, token);
      if ("error" in t) throw new Error(t.error);
      expect(t.instance).not.toBe("web2");
      t.tab.close();
    }
    for (const t of tabs) t.tab.close();
    expect(await Promise.race([instances[1]!.server.proc.exited, Bun.sleep(10_000).then(() => "hung")])).toBe(0);
  }, 30_000);
});

describe.skipIf(!existsSync(NGINX))("single sign-on across instances (deploy/nginx/sso.conf, --auth-header)", () => {
  const run = mkdtempSync(join(tmpdir(), "bunty-run-sso-"));
  const instances: Instance[] = [];
  let nginx: Nginx;
  // Stands in for oauth2-proxy --set-xauthrequest: a session cookie names the user; no cookie, 401.
  const sso = Bun.serve({
    port: 0, hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      const user = req.headers.get("cookie")?.match(/_oauth2_proxy=(\w+)/)?.[1];
      if (path === "/oauth2/auth") return user ? new Response(null, { status: 202, headers: { "x-auth-request-user": user } }) : new Response(null, { status: 401 });
      return new Response("the provider's sign-in page");
    },
  });
  beforeAll(async () => {
    instances.push(...await Promise.all(["a", "b"].map((n) => startInstance(n, run, null, ["--no-token", "--auth-header", "X-Forwarded-User", "--socket-mode", "0660"]))));
    nginx = await startNginx("deploy/nginx/sso.conf", [["/run/bunty/", `${run}/`], ["127.0.0.1:4180", `127.0.0.1:${sso.port}`]]);
  }, HOOK_MS);
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(instances.map((i) => i.server.stop("SIGINT")));
    sso.stop(true);
  }, HOOK_MS);

  test("a user signed in at the proxy gets a shell on every instance, as themselves, with no token; a forged header is overwritten", async () => {
    const anon = await fetch(`${nginx.origin}/`, { redirect: "manual" });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toContain("/oauth2/sign_in?rd=");
    expect((await fetch(`${nginx.origin}/i/a/api/sessions`, { redirect: "manual" })).status).toBe(302);
    const cookie = { cookie: "_oauth2_proxy=alice" };
    const seen = new Set<string>();
    for (let k = 0; k < 4; k++) {
      const door = await fetch(`${nginx.origin}/`, { redirect: "manual", headers: cookie });
      expect(door.status).toBe(302);
      const prefix = door.headers.get("location")!;
      seen.add(instanceOf(prefix));
      // The page's socket, with the proxy's cookie only (and a forged user header, which nginx replaces).
      const tab = new Tab(`ws://127.0.0.1:${nginx.port}${prefix}ws`, { origin: nginx.origin, ...cookie, "x-forwarded-user": "mallory" });
      expect(await tab.opened()).toBe(true);
      tab.type("echo user=$BUNTY_USER\r");
      expect(await tab.waitFor(/user=alice/)).toBe(true);
      tab.close();
      const list = await fetch(`${nginx.origin}${prefix}api/sessions`, { headers: cookie });
      expect(list.status).toBe(200);
    }
    expect([...seen].sort()).toEqual(["a", "b"]);
  }, 30_000);
});
