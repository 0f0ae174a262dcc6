// Structured logs (--log-format json) from a real server: every stderr line is one JSON object
// with time, level and event; sessions log their start and end with the fields operators need;
// refusals are logged; and the token never appears in any log line.

import { expect, test } from "bun:test";
import { jsonLine } from "../server/core/log.ts";
import { startServer, TestClient, until } from "./harness.ts";

test("jsonLine: fields never overwrite time, level or event; values JSON cannot hold do not throw", () => {
  const o = JSON.parse(jsonLine("2026-01-01T00:00:00.000Z", "warn", "x.y", { event: "evil", level: "debug", n: 10n, ok: [1] }));
  expect(o).toEqual({ time: "2026-01-01T00:00:00.000Z", level: "warn", event: "x.y", "field.event": "evil", "field.level": "debug", n: "10", ok: [1] });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expect(JSON.parse(jsonLine("t", "info", "e", { cyclic }))).toMatchObject({ time: "t", level: "info", event: "e" });
});

test("--log-format json: one object per line, session start/end with their fields, refusals, and never the token", async () => {
  const server = await startServer({ args: ["--log-format", "json", "--log-level", "info", "--allow-command", "nap=sleep 100"] });
  const token = server.token!;
  expect(token.length).toBeGreaterThan(20);
  let sessionId = "";
  let typed = "";
  try {
    // A session, through the token in the query string as well as the header.
    const c = await TestClient.open(server, `?token=${token}&cols=90&rows=20`);
    sessionId = c.hello()!.session;
    typed = "echo logged-$((20+22)); exit 3\r";
    c.type(typed);
    expect(await c.waitFor(/logged-42/)).toBe(true);
    expect(await c.waitClosed()).toBeTruthy();

    // Failed authentication: a wrong token in the header and in the query; then good ones.
    expect((await fetch(new URL("/api/health", server.url), { headers: { authorization: "Bearer wrong-token-xyz" } })).status).toBe(401);
    expect((await fetch(new URL(`/api/sessions?token=${token}x`, server.url))).status).toBe(401);
    expect((await fetch(new URL("/api/health", server.url), { headers: server.auth })).status).toBe(200);
    expect((await fetch(new URL(`/api/sessions?token=${token}`, server.url))).status).toBe(200);
    const cookie = await fetch(new URL("/api/auth", server.url), { method: "POST", headers: { ...server.auth, origin: server.origin } });
    expect(cookie.status).toBe(200);
    // Refusals: a command that is not allowed, a foreign origin, an unknown session.
    const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, server.url), { ...init, headers: { "content-type": "application/json", ...server.auth, ...(init.headers ?? {}) } });
    expect((await api("/api/sessions", { method: "POST", body: JSON.stringify({ command: "nope" }) })).status).toBe(403);
    expect((await api("/api/sessions", { method: "POST", body: JSON.stringify({}), headers: { origin: "https://evil.example" } })).status).toBe(403);
    expect((await api("/api/sessions/nosuchsession", { method: "DELETE" })).status).toBe(404);
    expect((await api("/api/sessions", { method: "POST", body: JSON.stringify({ cols: "wide" }) })).status).toBe(422);
    expect(await until(() => server.stderr().includes('"event":"session.end"'), 5000)).toBe(true);
  } finally {
    await server.stop();
  }

  const lines = server.stderr().split("\n").filter(Boolean);
  const logs = lines.map((l) => {
    const o = JSON.parse(l); // throws on any line that is not JSON
    expect(typeof o).toBe("object");
    expect(Number.isNaN(Date.parse(o.time))).toBe(false);
    expect(o.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(["debug", "info", "warn", "error"]).toContain(o.level);
    expect(o.event).toMatch(/^[a-z_]+\.[a-z_]+$/);
    return o;
  });
  // Never the token, in any form it travelled in: not in the log lines, only in the URL line on stdout.
  expect(server.stderr()).not.toContain(token);
  expect(server.output().split(token).length - 1).toBe(1);
  expect(server.output()).toMatch(new RegExp(`^bunty .* at http://127\\.0\\.0\\.1:\\d+/\\?token=${token}\\n`, "m"));

  const start = logs.find((o) => o.event === "session.start" && o.session === sessionId);
  expect(start).toMatchObject({ level: "info", session: sessionId, command: ["bash", "--noprofile", "--norc", "-i"], cols: 90, rows: 20 });
  expect(start.pid).toBeGreaterThan(1);
  const end = logs.find((o) => o.event === "session.end" && o.session === sessionId);
  expect(end).toMatchObject({ level: "info", session: sessionId, pid: start.pid, command: start.command, reason: "program exited", exitCode: 3, signal: null, bytesIn: typed.length });
  expect(end.durationMs).toBeGreaterThan(0);
  expect(end.bytesOut).toBeGreaterThan("logged-42".length * 2);

  const refused = logs.filter((o) => o.event === "auth.refused");
  expect(refused.length).toBe(2);
  for (const r of refused) expect(r).toMatchObject({ level: "warn", status: 401, reason: "wrong token" });
  expect(refused.map((r) => r.path).sort()).toEqual(["/api/health", "/api/sessions"]);
  const http = logs.filter((o) => o.event === "http.refused");
  expect(http.map((o) => [o.status, o.code]).sort()).toEqual([[403, "forbidden"], [403, "forbidden_command"], [404, "not_found"], [422, "validation"]]);
  for (const o of http) expect(o.level).toBe("warn");
  expect(logs.some((o) => o.event === "server.stop" && o.signal === "SIGTERM")).toBe(true);
  expect(logs.filter((o) => o.level === "error")).toEqual([]);
});

test("the default text format stays one `time level event key=value` line per event", async () => {
  const server = await startServer({ args: ["--log-level", "info"] });
  try {
    const c = await TestClient.open(server);
    const id = c.hello()!.session;
    c.type("exit\r");
    expect(await c.waitClosed()).toBeTruthy();
    expect(await until(() => server.stderr().includes("session.end"), 5000)).toBe(true);
    expect(server.stderr()).toMatch(new RegExp(`^\\S+Z info session\\.end session=${id} pid=\\d+ command=\\[.*\\] reason="program exited" exitCode=0 signal=null .*durationMs=\\d+ bytesOut=\\d+ bytesIn=5 instance=\\S+$`, "m"));
  } finally {
    await server.stop();
  }
});
