// The basic contract against a real server, real WebSocket and a real shell in a real PTY.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CloseCode } from "../protocol/index.ts";
import { markedProcesses, startServer, TestClient, until, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ args: ["--grace", "0"] }); // sessions end with their socket
});
afterAll(async () => {
  await server.stop();
});

describe("round trip", () => {
  test("the server says hello first, runs a command, follows a resize and reports the exit code", async () => {
    const c = await TestClient.open(server);
    expect(c.messages[0]!.type).toBe("hello");
    const hello = c.hello()!;
    expect(hello).toMatchObject({ protocol: 1, cols: 80, rows: 24, command: ["bash", "--noprofile", "--norc", "-i"], offset: 0, resumed: "new", mode: "write", writer: true });
    expect(hello.session).toMatch(/^[\w-]{8,}$/);
    expect(hello.pid).toBeGreaterThan(1);

    c.type("echo $((6*7))\r");
    expect(await c.waitFor(/\n42\n/)).toBe(true);

    c.control({ type: "resize", cols: 100, rows: 30 });
    c.type("stty size\r");
    expect(await c.waitFor(/30 100/)).toBe(true);

    c.type("exit 3\r");
    expect(await c.waitClosed()).toBeTruthy();
    expect(c.find("exit")).toEqual({ type: "exit", code: 3, signal: null });
    expect(c.closed).toEqual({ code: CloseCode.normal, reason: "program exited" });
  });

  test("a program killed by a signal reports the signal name", async () => {
    const c = await TestClient.open(server);
    c.type("kill -KILL $$\r");
    expect(await c.waitClosed()).toBeTruthy();
    expect(c.find("exit")).toEqual({ type: "exit", code: null, signal: "SIGKILL" });
    expect(c.closed?.code).toBe(CloseCode.normal);
  });

  test("the initial size can be given in the query", async () => {
    const c = await TestClient.open(server, "?cols=132&rows=43");
    expect(c.hello()).toMatchObject({ cols: 132, rows: 43 });
    c.type("stty size\r");
    expect(await c.waitFor(/43 132/)).toBe(true);
    c.close();
  });

  test("health and the session list describe what runs", async () => {
    expect(await until(() => server.idle(), 5000)).toBe(true); // earlier tests' sessions are gone
    const c = await TestClient.open(server);
    const health = await server.health();
    expect(health).toMatchObject({ status: "ok", sessions: 1, clients: 1 });
    expect(typeof health.uptime).toBe("number");
    expect(typeof health.eventLoopLagMs).toBe("number");
    const list = await (await fetch(new URL("/api/sessions", server.url), { headers: server.auth })).json();
    expect(list).toEqual([
      { id: c.hello()!.session, pid: c.hello()!.pid, command: ["bash", "--noprofile", "--norc", "-i"], created: expect.any(String), cols: 80, rows: 24, clients: 1, offset: expect.any(Number), lastActivity: expect.any(String) },
    ]);
    expect(Date.parse(list[0].created)).toBeGreaterThan(Date.now() - 60_000);
    c.close();
    expect(await until(() => server.idle(), 5000)).toBe(true);
    expect(await markedProcesses(server.mark)).toEqual([]);
  });

  test("each WebSocket gets its own shell", async () => {
    const [a, b] = await Promise.all([TestClient.open(server), TestClient.open(server)]);
    expect(a.hello()!.pid).not.toBe(b.hello()!.pid);
    a.type("echo only-in-a\r");
    expect(await a.waitFor(/\nonly-in-a/)).toBe(true);
    await Bun.sleep(100);
    expect(b.plain()).not.toContain("only-in-a");
    a.close();
    b.close();
  });

  test("the page's files are served gzipped to clients that accept it, plain to others", async () => {
    const html = await (await fetch(server.url)).text();
    const script = new URL(html.match(/src="([^"]+)"/)![1]!, server.url);
    const gz = await fetch(script, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    const packed = new Uint8Array(await gz.arrayBuffer());
    const plain = await fetch(script, { headers: { "accept-encoding": "identity" }, decompress: false } as RequestInit);
    expect(plain.headers.get("content-encoding")).toBeNull();
    const body = new Uint8Array(await plain.arrayBuffer());
    expect(Buffer.from(Bun.gunzipSync(packed)).equals(Buffer.from(body))).toBe(true);
    expect(packed.length).toBeLessThan(body.length / 2);
    console.log(`client script: ${body.length} bytes, ${packed.length} gzipped`);
  });

  test("the page is served", async () => {
    const r = await fetch(server.url);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    expect(await r.text()).toContain("<script");
  });
});
