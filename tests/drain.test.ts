// One instance's side of running many: --instance (its checks, its default, every log line),
// the drain's edges (a second SIGTERM or SIGINT ends at once, a drain ends early once its
// sessions have, --drain-timeout 0 keeps SIGTERM's old meaning), POST /api/drain's guards, the
// probes and the front door. Real servers, real shells.

import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { parseArgs } from "../server/config/cli.ts";
import { defaultInstance } from "../server/config/options.ts";
import { jsonLine } from "../server/core/log.ts";
import { Tab } from "./fleet.ts";
import { startServer, TestClient, until, type TestServer } from "./harness.ts";

/** Exit code and milliseconds from now until the process exits (or "hung" after `ms`). */
async function exitWithin(s: TestServer, ms: number): Promise<{ code: number | string; ms: number }> {
  const t0 = performance.now();
  const code = await Promise.race([s.proc.exited, Bun.sleep(ms).then(() => "hung")]);
  return { code, ms: Math.round(performance.now() - t0) };
}
const post = (s: TestServer, path: string, init: RequestInit = {}) =>
  fetch(new URL(path, s.url), { method: "POST", ...init, headers: { origin: s.origin, ...s.auth, ...(init.headers ?? {}) } });

describe("--instance", () => {
  test("checked like a name that goes into URLs and file names; the host name by default; from a file or BUNTY_INSTANCE", () => {
    expect(parseArgs(["--instance", "web-1.eu_2"], {})).toMatchObject({ kind: "run", config: { instance: "web-1.eu_2" } });
    for (const bad of ["", "-a", "a/b", "a b", "..", "x".repeat(64)]) expect(parseArgs(["--instance", bad], {}).kind).toBe("error");
    expect(parseArgs([], {})).toMatchObject({ config: { instance: defaultInstance(), drainTimeoutS: 0 } });
    expect(defaultInstance()).toBe(hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63));
    expect(defaultInstance("my host!")).toBe("my-host-");
    expect(defaultInstance("___")).toBe("bunty");
    expect(parseArgs([], { BUNTY_INSTANCE: "b", BUNTY_DRAIN_TIMEOUT: "30" })).toMatchObject({ config: { instance: "b", drainTimeoutS: 30 } });
    expect(parseArgs(["--drain-timeout", "86401"], {}).kind).toBe("error");
  });

  test("JSON log lines carry it after the event; a field of that name cannot replace it", async () => {
    const s = await startServer({ args: ["--instance", "j1", "--log-format", "json", "--log-level", "info"] });
    try {
      const c = await TestClient.open(s);
      c.type("exit\r");
      await c.waitClosed();
      expect(await until(() => s.stderr().includes('"session.end"'), 5000)).toBe(true);
    } finally {
      await s.stop();
    }
    const lines = s.stderr().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(2);
    for (const o of lines) expect(Object.keys(o).slice(0, 4)).toEqual(["time", "level", "event", "instance"]);
    for (const o of lines) expect(o.instance).toBe("j1");
    expect(JSON.parse(jsonLine("t", "warn", "x.y", { instance: "evil", n: 1 }, "j1"))).toEqual({ time: "t", level: "warn", event: "x.y", instance: "j1", "field.instance": "evil", n: 1 });
  });
});

describe("draining", () => {
  test("a second SIGTERM ends at once; so does SIGINT during a drain", async () => {
    const [s1, s2] = await Promise.all([1, 2].map(() => startServer({ args: ["--drain-timeout", "60", "--log-level", "info"] })));
    try {
      const clients = await Promise.all([s1!, s2!].map((s) => TestClient.open(s)));
      s1!.proc.kill("SIGTERM");
      s2!.proc.kill("SIGTERM");
      for (const c of clients) expect(await until(() => c.find("draining"), 3000)).toBeTruthy();
      expect(clients[0]!.find("draining")!.inMs).toBeGreaterThan(55_000);
      s1!.proc.kill("SIGTERM");
      s2!.proc.kill("SIGINT");
      for (const s of [s1!, s2!]) {
        const e = await exitWithin(s, 7000);
        expect(e.code).toBe(0);
        expect(e.ms).toBeLessThan(6000);
      }
      for (const c of clients) expect((await c.waitClosed())?.code).toBe(1001);
      expect(s1!.stderr()).toContain("server.stop signal=SIGTERM");
      expect(s2!.stderr()).toContain("server.stop signal=SIGINT");
    } finally {
      await Promise.all([s1!.stop(), s2!.stop()]);
    }
  }, 20_000);

  test("a drain ends as soon as its sessions have: the last one exits, the server exits", async () => {
    const s = await startServer({ args: ["--drain-timeout", "60", "--log-level", "info"] });
    try {
      const c = await TestClient.open(s);
      s.proc.kill("SIGTERM");
      expect(await until(() => c.find("draining"), 3000)).toBeTruthy();
      c.type("echo last-$((6*7)); exit\r");
      expect(await c.waitFor(/last-42/)).toBe(true);
      const e = await exitWithin(s, 5000);
      expect(e.code).toBe(0);
      expect(s.stderr()).toMatch(/info server\.drained source=SIGTERM cause=idle sessions=0 /);
    } finally {
      await s.stop();
    }
  }, 20_000);

  test("--drain-timeout 0 (the default): SIGTERM ends at once, as it always did, with no draining message", async () => {
    const s = await startServer();
    const c = await TestClient.open(s);
    s.proc.kill("SIGTERM");
    expect((await c.waitClosed())?.code).toBe(1001);
    expect((await exitWithin(s, 7000)).code).toBe(0);
    expect(c.find("draining")).toBeUndefined();
  }, 20_000);

  test("POST /api/drain: only with a credential, from no foreign page, never with -R; the body is checked", async () => {
    const s = await startServer({ args: ["--drain-timeout", "30"] });
    const ro = await startServer({ args: ["-R"] });
    try {
      expect((await fetch(new URL("/api/drain", s.url), { method: "POST" })).status).toBe(401);
      expect((await post(s, "/api/drain", { headers: { origin: "https://evil.example" } })).status).toBe(403);
      expect((await post(s, "/api/drain", { body: JSON.stringify({ timeoutS: -1 }), headers: { "content-type": "application/json" } })).status).toBe(422);
      expect((await post(s, "/api/drain", { body: JSON.stringify({ reason: 5 }), headers: { "content-type": "application/json" } })).status).toBe(422);
      const r = await post(ro, "/api/drain");
      expect(r.status).toBe(403);
      expect((await r.json()).error).toBe("read_only");
      expect((await fetch(new URL("/readyz", ro.url))).status).toBe(200);
      expect((await s.health()).status).toBe("ok");
      // No body: --drain-timeout. A second call joins the drain under way. (A session keeps it draining: without one it would be over after the handover.)
      const c = await TestClient.open(s);
      const first = await post(s, "/api/drain");
      expect(first.status).toBe(202);
      expect((await first.json()).inMs).toBeWithin(29_000, 30_001);
      const again = await (await post(s, "/api/drain", { body: JSON.stringify({ timeoutS: 1 }), headers: { "content-type": "application/json" } })).json();
      expect(again.inMs).toBeGreaterThan(28_000);
      const h = await fetch(new URL("/api/health", s.url), { headers: s.auth });
      expect(h.status).toBe(503);
      expect(await h.json()).toMatchObject({ status: "draining", drainInMs: expect.any(Number) });
      expect(await (await fetch(new URL("/metrics", s.url), { headers: s.auth })).text()).toMatch(/^bunty_draining\{bunty_instance="[^"]+"\} 1$/m);
      expect(await until(() => c.find("draining"), 2000)).toMatchObject({ reason: "the server is restarting" });
    } finally {
      await Promise.all([s.stop("SIGINT"), ro.stop()]);
    }
  }, 20_000);
});

describe("probes and the front door", () => {
  test("without a base path the probes are at the root, public; there is no front door (/ is the page)", async () => {
    const s = await startServer({ args: ["--instance", "solo"] });
    try {
      expect(await (await fetch(new URL("/livez", s.url))).json()).toEqual({ status: "ok", instance: "solo" });
      expect(await (await fetch(new URL("/readyz", s.url))).json()).toEqual({ status: "ok", instance: "solo" });
      expect((await fetch(new URL("/readyz", s.url), { headers: { host: "rebind.evil.test" } })).status).toBe(421);
      const page = await fetch(s.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<meta name="bunty-instance" content="solo">');
      expect(await (await fetch(new URL("/sessions", s.url))).text()).toContain('<meta name="bunty-instance" content="solo">');
      expect((await s.health()).instance).toBe("solo");
    } finally {
      await s.stop();
    }
  });

  test("with one: / redirects into the prefix (the query kept, never cached); a full instance answers 503 so the proxy asks another", async () => {
    const s = await startServer({ args: ["--instance", "x", "-b", "/i/x", "--max-sessions", "1", "--log-level", "info"] });
    try {
      const root = new URL("/", s.url);
      const r = await fetch(new URL("/?token=abc&fontSize=20", root), { redirect: "manual" });
      expect(r.status).toBe(302);
      expect(r.headers.get("location")).toBe("/i/x/?token=abc&fontSize=20");
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect((await fetch(new URL("/readyz", root))).status).toBe(200);
      expect((await fetch(new URL("/i/x/readyz", root))).status).toBe(200);
      expect((await fetch(new URL("/other", root))).status).toBe(404);
      const c = new Tab(`ws://127.0.0.1:${s.url.port}/i/x/ws`, { origin: s.origin, ...s.auth });
      expect(await c.opened()).toBe(true);
      const full = await fetch(root, { redirect: "manual" });
      expect(full.status).toBe(503);
      expect(full.headers.get("retry-after")).toBe("5");
      expect(await full.json()).toMatchObject({ error: "too_many_sessions", instance: "x" });
      // The log line reaches our pipe a moment after the response (stderr is another stream).
      const refused = /warn http\.refused path=\/ status=503 code=too_many_sessions .* instance=x$/m;
      await until(() => refused.test(s.stderr()), 3000);
      expect(s.stderr()).toMatch(refused);
      expect((await fetch(new URL("/readyz", root))).status).toBe(200); // full is not draining: readiness is about draining only
      c.close();
    } finally {
      await s.stop();
    }
  });
});
