// The sessions REST API, --max-sessions and warm spares, against a real server.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CloseCode } from "../protocol/index.ts";
import { markedProcesses, startServer, TestClient, until, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ args: ["--max-sessions", "3", "--allow-command", "nap=sleep 1000"] });
});
afterAll(async () => {
  await server.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(new URL(path, server.url), { ...init, headers: { "content-type": "application/json", ...server.auth, ...(init.headers ?? {}) }, signal: AbortSignal.timeout(5000) });

describe("REST", () => {
  test("create, list, get, attach, delete", async () => {
    const r = await api("/api/sessions", { method: "POST", body: JSON.stringify({ cols: 100, rows: 30 }) });
    expect(r.status).toBe(201);
    const info = await r.json();
    expect(info).toMatchObject({ cols: 100, rows: 30, clients: 0, command: ["bash", "--noprofile", "--norc", "-i"] });
    expect((await (await api("/api/sessions")).json()).map((s: any) => s.id)).toContain(info.id);
    expect(await (await api(`/api/sessions/${info.id}`)).json()).toMatchObject({ id: info.id, pid: info.pid });

    const c = await TestClient.open(server, `?session=${info.id}`);
    expect(c.hello()!.pid).toBe(info.pid);
    c.type("echo via-api-$((5*5))\r");
    expect(await c.waitFor(/via-api-25/)).toBe(true);

    const d = await api(`/api/sessions/${info.id}`, { method: "DELETE" });
    expect(d.status).toBe(204);
    expect(await c.waitClosed()).toBeTruthy();
    expect(c.closed).toEqual({ code: CloseCode.sessionEnded, reason: "ended through the API" });
    expect((await api(`/api/sessions/${info.id}`)).status).toBe(404);
    expect((await api(`/api/sessions/${info.id}`, { method: "DELETE" })).status).toBe(404);
    expect(await markedProcesses(server.mark).then((p) => p.includes(info.pid))).toBe(false);
  });

  test("commands come from the allow-list only", async () => {
    const ok = await api("/api/sessions", { method: "POST", body: JSON.stringify({ command: "nap" }) });
    expect(ok.status).toBe(201);
    const info = await ok.json();
    expect(info.command).toEqual(["sleep", "1000"]);
    expect(await until(async () => (await markedProcesses(server.mark)).includes(info.pid), 3000)).toBe(true);
    await api(`/api/sessions/${info.id}`, { method: "DELETE" });

    const no = await api("/api/sessions", { method: "POST", body: JSON.stringify({ command: "rm" }) });
    expect(no.status).toBe(403);
    expect((await no.json()).error).toBe("forbidden_command");
    const proto = await api("/api/sessions", { method: "POST", body: JSON.stringify({ command: "__proto__" }) });
    expect(proto.status).toBe(403);
    const argv = await api("/api/sessions", { method: "POST", body: JSON.stringify({ argv: ["/bin/sh", "-c", "id"] }) });
    expect(argv.status).toBe(403);
  });

  test.each([
    ["a non-numeric size", { cols: "wide" }],
    ["a size out of range", { cols: 100000 }],
    ["a fractional size", { rows: 2.5 }],
    ["an empty argv", { argv: [] }],
    ["a command that is not a string", { command: ["sh"] }],
  ])("a body with %s is refused with 422", async (_, body) => {
    const r = await api("/api/sessions", { method: "POST", body: JSON.stringify(body) });
    expect(r.status).toBe(422);
  });

  test("fields the schema does not know are dropped, not obeyed", async () => {
    const r = await api("/api/sessions", { method: "POST", body: JSON.stringify({ shell: "/bin/sh", cwd: "/" }) });
    expect(r.status).toBe(201);
    const info = await r.json();
    expect(info.command).toEqual(["bash", "--noprofile", "--norc", "-i"]);
    await api(`/api/sessions/${info.id}`, { method: "DELETE" });
  });

  test("a request from a foreign Origin cannot create or end sessions", async () => {
    const r = await api("/api/sessions", { method: "POST", body: "{}", headers: { origin: "http://evil.example" } });
    expect(r.status).toBe(403);
    const c = await TestClient.open(server);
    const d = await api(`/api/sessions/${c.hello()!.session}`, { method: "DELETE", headers: { origin: "http://evil.example" } });
    expect(d.status).toBe(403);
    expect(c.closed).toBeNull();
    c.close();
  });

  test("the OpenAPI spec is served by the server itself and describes the API", async () => {
    const r = await api("/openapi/json");
    expect(r.status).toBe(200);
    const spec = await r.json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/api/sessions", "/api/sessions/{id}", "/api/health"]));
    expect(spec.paths["/api/sessions"].post).toBeDefined();
    expect(spec.paths["/api/sessions/{id}"].delete).toBeDefined();
  });
});

describe("limits", () => {
  test("past --max-sessions new sessions are refused (4002 / 503); existing ones go on", async () => {
    for (const s of await (await api("/api/sessions")).json()) await api(`/api/sessions/${s.id}`, { method: "DELETE" });
    expect((await server.health()).sessions).toBe(0);
    const open = await Promise.all([0, 1, 2].map(() => TestClient.open(server)));
    const extra = new TestClient(server);
    expect(await extra.waitClosed()).toBeTruthy();
    expect(extra.closed).toEqual({ code: CloseCode.tooManySessions, reason: "the server already runs its maximum of 3 sessions, each with a client attached" });
    const r = await api("/api/sessions", { method: "POST", body: "{}" });
    expect(r.status).toBe(503);
    expect((await r.json()).error).toBe("too_many_sessions");
    open[0]!.type("echo alive-$((9*9))\r");
    expect(await open[0]!.waitFor(/alive-81/)).toBe(true);
    for (const c of open) await api(`/api/sessions/${c.hello()!.session}`, { method: "DELETE" });
  });
});

test("warm spares: a new client gets the pre-started shell, and the spare is replaced", async () => {
  const s = await startServer({ args: ["--pool-size", "1"] });
  try {
    expect(await until(async () => (await s.health()).spares === 1, 5000)).toBe(true);
    const [spare] = await markedProcesses(s.mark);
    await Bun.sleep(300); // let the spare draw its prompt
    const c = await TestClient.open(s, "?cols=120&rows=40", true);
    // Its prompt, already printed, comes as bytes from offset 0 with the hello (no screen model to wait for).
    expect(c.hello()).toMatchObject({ pid: spare, resumed: "new", offset: 0 });
    expect(await c.waitFor(/\$ /, 3000)).toBe(true);
    expect(c.find("snapshot")).toBeFalsy();
    expect((await c.screen(120, 40))[0]).toContain("$");
    c.type("stty size\r");
    expect(await c.waitFor(/\n40 120\n/)).toBe(true); // resized to the client on hand-over
    expect(await until(async () => (await s.health()).spares === 1 && (await markedProcesses(s.mark)).length === 2, 5000)).toBe(true);
    expect((await s.health()).sessions).toBe(1); // spares are not sessions
    c.close();
  } finally {
    await s.stop();
  }
});
