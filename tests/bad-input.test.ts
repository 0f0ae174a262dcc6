// Bad input gets a clear error (an `error` message or a close code with a reason) and nothing
// else breaks: not the server, not the session, not other sessions.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CloseCode, Limits } from "../protocol/index.ts";
import { startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

let server: TestServer;
let bystander: TestClient;
beforeAll(async () => {
  server = await startServer();
  bystander = await TestClient.open(server);
});
afterAll(async () => {
  bystander.close();
  await server.stop();
});

/** The session (and another session on the same server) still answer. */
async function stillWorks(c: TestClient, tag: string) {
  c.type(`echo ok-${tag}-$((2*21))\r`);
  expect(await c.waitFor(new RegExp(`ok-${tag}-42`))).toBe(true);
  bystander.type(`echo by-${tag}-$((3*3))\r`);
  expect(await bystander.waitFor(new RegExp(`by-${tag}-9`))).toBe(true);
  expect((await server.health()).status).toBe("ok");
}

const errors = (c: TestClient) => c.messages.filter((m) => m.type === "error") as { type: "error"; code: string; message: string }[];

describe("control messages", () => {
  const cases: [string, unknown, string][] = [
    ["invalid JSON", "{not json", "bad_json"],
    ["a JSON number", "1", "bad_json"],
    ["a JSON boolean", "true", "bad_json"],
    ["a JSON array", "[1,2]", "bad_json"],
    ["a JSON string", '"resize"', "bad_json"],
    ["an unknown type", { type: "launch-missiles" }, "unknown_type"],
    ["no type", { cols: 80 }, "unknown_type"],
    ["an oversized text frame", "{" + "x".repeat(Limits.maxControlBytes + 10), "too_large"],
    ["resize to 0x0", { type: "resize", cols: 0, rows: 0 }, "bad_message"],
    ["resize negative", { type: "resize", cols: -80, rows: 24 }, "bad_message"],
    ["resize 1e9", { type: "resize", cols: 1e9, rows: 1e9 }, "bad_message"],
    ["resize with strings", { type: "resize", cols: "80", rows: "24" }, "bad_message"],
    ["resize with fractions", { type: "resize", cols: 80.5, rows: 24 }, "bad_message"],
    ["resize with null", { type: "resize", cols: null, rows: 24 }, "bad_message"],
    ["resize with nothing", { type: "resize" }, "bad_message"],
    ["ping with a string t", { type: "ping", t: "x" }, "bad_message"],
  ];
  test.each(cases)("%s gets an error and the session keeps working", async (name, frame, code) => {
    const c = await TestClient.open(server);
    c.control(typeof frame === "string" ? frame : JSON.stringify(frame));
    expect(await until(() => errors(c).length > 0, 3000)).toBeTruthy();
    expect(errors(c)[0]!.code).toBe(code);
    expect(errors(c)[0]!.message.length).toBeGreaterThan(5);
    expect(c.closed).toBeNull();
    c.type("stty size\r");
    expect(await c.waitFor(/\n24 80\n/)).toBe(true); // a bad resize changed nothing
    await stillWorks(c, name.replace(/\W/g, ""));
    c.close();
  });

  test("a ping gets a pong with its t", async () => {
    const c = await TestClient.open(server);
    c.control({ type: "ping", t: 12345 });
    expect(await until(() => c.find("pong"), 3000)).toEqual({ type: "pong", t: 12345 });
    c.close();
  });
});

describe("frames and input", () => {
  test("a frame over the size limit closes that socket with 1009; the server and other sessions go on", async () => {
    const c = await TestClient.open(server);
    c.ws.send(new Uint8Array(Limits.maxFrameBytes + 1));
    expect(await c.waitClosed()).toBeTruthy();
    expect(c.closed!.code).toBe(CloseCode.messageTooBig);
    const d = await TestClient.open(server);
    await stillWorks(d, "afterbig");
    d.close();
  });

  test("a paste of 1 MiB reaches the program intact and the server stays responsive", async () => {
    const c = await TestClient.open(server);
    c.type("stty raw -echo; head -c 1048576 | md5sum; stty sane\r");
    await Bun.sleep(300);
    const paste = new Uint8Array(1 << 20).map((_, i) => 0x20 + (i % 95));
    for (let off = 0; off < paste.length; off += 64 * 1024) c.ws.send(paste.subarray(off, off + 64 * 1024));
    expect((await server.health(3000)).status).toBe("ok");
    const md5 = new Bun.CryptoHasher("md5").update(paste).digest("hex");
    expect(await c.waitFor(new RegExp(md5), 10_000)).toBe(true);
    await stillWorks(c, "paste");
    c.close();
  });

  test("input to a program that does not read is bounded: the sender is paused, the server is not", async () => {
    const c = await TestClient.open(server);
    c.type("stty raw -echo; sleep 1000\r");
    await Bun.sleep(300);
    const rssBefore = (await server.health()).rssBytes;
    const chunk = new Uint8Array(512 * 1024).fill(0x62);
    for (let i = 0; i < 128; i++) c.ws.send(chunk); // 64 MiB toward a PTY nobody reads
    await Bun.sleep(1500);
    const h = await server.health(3000);
    console.log(`64 MiB sent to a non-reading program: server RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(h.rssBytes / 2 ** 20).toFixed(1)} MiB; client still buffering ${(c.ws.bufferedAmount / 2 ** 20).toFixed(1)} MiB`);
    expect(h.rssBytes - rssBefore).toBeLessThan(48 * 2 ** 20);
    expect(c.ws.bufferedAmount).toBeGreaterThan(16 * 2 ** 20); // the rest waits on the client side, not in the server
    bystander.type("echo bounded-$((5*5))\r");
    expect(await bystander.waitFor(/bounded-25/)).toBe(true);
    c.ws.close();
  });
});

describe("origin", () => {
  const upgrade = async (origin: string | null) => {
    const port = Number(server.url.port);
    const w = new RawWs(port);
    await w.connected();
    w.sock.write(RawWs.request(port, "/ws", origin, server.token));
    await until(() => w.status !== 0 || w.ended, 5000);
    w.sock.destroy();
    return w.status;
  };
  test("a WebSocket from a foreign Origin is refused with 403 before the upgrade", async () => {
    const before = (await server.health()).sessions;
    expect(await upgrade("http://evil.example")).toBe(403);
    expect(await upgrade(`http://127.0.0.1:${Number(server.url.port) + 1}`)).toBe(403); // another port is another origin
    expect(await upgrade("null")).toBe(403);
    expect((await server.health()).sessions).toBe(before);
  });
  test("the server's own Origin and clients without an Origin are let through", async () => {
    expect(await upgrade(server.origin)).toBe(101);
    expect(await upgrade(null)).toBe(101);
  });
});
