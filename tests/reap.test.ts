// Every process of a terminal's session is ended when the session ends, with escalation
// (HUP, TERM, KILL), including foreground jobs in their own process group that ignore signals.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { CloseCode } from "../protocol/index.ts";
import { REAP_BOUND_MS } from "../server/core/reap.ts";
import { markedProcesses, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ args: ["--grace", "0"] }); // sessions end with their socket
});
afterAll(async () => {
  await server.stop();
});

const comm = (pid: number) => readFile(`/proc/${pid}/comm`, "latin1").then((s) => s.trim(), () => "");
const pgid = (pid: number) => readFile(`/proc/${pid}/stat`, "latin1").then((s) => Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[2]), () => 0);

/** Waits until a `sleep` of this server's sessions runs, and returns its pid. */
async function sleeper(): Promise<number> {
  const pid = await until(async () => {
    for (const p of await markedProcesses(server.mark)) if ((await comm(p)) === "sleep") return p;
    return 0;
  }, 5000);
  if (!pid) throw new Error("the sleep never started");
  return pid;
}

describe("reaping", () => {
  test("a foreground job that ignores HUP, TERM and INT is gone after its client resets the connection", async () => {
    const w = new RawWs(Number(server.url.port));
    await w.connected();
    w.sock.write(RawWs.request(Number(server.url.port), "/ws", undefined, server.token));
    await until(() => w.opcodes.includes(2), 5000);
    w.sendBinary(new TextEncoder().encode("trap '' HUP TERM INT; sleep 1000\r"));
    const pid = await sleeper();
    const shell = (await markedProcesses(server.mark)).find((p) => p !== pid)!;
    expect(await pgid(pid)).not.toBe(await pgid(shell)); // job control: its own process group

    const t = performance.now();
    w.reset();
    expect(await until(async () => (await markedProcesses(server.mark)).length === 0, REAP_BOUND_MS + 2000)).toBe(true);
    const took = performance.now() - t;
    console.log(`trap job reaped ${took.toFixed(0)} ms after the reset (bound ${REAP_BOUND_MS} ms)`);
    expect(took).toBeLessThan(REAP_BOUND_MS + 1000);
    expect(await until(() => server.idle(), 2000)).toBe(true);
  });

  test("background jobs are ended when the program exits", async () => {
    const c = await TestClient.open(server);
    c.type("sleep 1000 &\r");
    await sleeper();
    c.type("exit 0\r");
    expect(await c.waitClosed()).toBeTruthy();
    expect(c.find("exit")?.code).toBe(0);
    expect(await until(async () => (await markedProcesses(server.mark)).length === 0, REAP_BOUND_MS + 1000)).toBe(true);
  });

  test("a client's normal close ends its session and its processes", async () => {
    const c = await TestClient.open(server);
    c.type("sleep 1000\r");
    await sleeper();
    c.close();
    expect(await until(async () => (await markedProcesses(server.mark)).length === 0, REAP_BOUND_MS + 1000)).toBe(true);
  });
});

test("SIGTERM to the server closes clients with 1001, ends every session and exits within the bound", async () => {
  const s = await startServer(); // default grace: a detached session stays alive, and must end too
  const clients = await Promise.all([0, 1, 2].map(() => TestClient.open(s)));
  clients[0]!.type("trap '' HUP TERM INT; sleep 1000\r");
  clients[1]!.type("yes\r");
  clients[2]!.type("sleep 1000 &\r");
  const detached = await TestClient.open(s);
  detached.type("sleep 1000 &\r");
  expect(await until(async () => (await markedProcesses(s.mark)).length >= 8, 5000)).toBe(true);
  detached.close();
  expect(await until(async () => (await s.health()).clients === 3, 3000)).toBe(true);
  expect((await s.health()).sessions).toBe(4);
  const t = performance.now();
  const code = await s.stop("SIGTERM");
  const took = performance.now() - t;
  console.log(`server exited ${took.toFixed(0)} ms after SIGTERM`);
  expect(code).toBe(0);
  expect(took).toBeLessThan(REAP_BOUND_MS + 2500);
  expect(await markedProcesses(s.mark)).toEqual([]);
  for (const c of clients) {
    expect(await c.waitClosed(1000)).toBeTruthy();
    expect(c.closed!.code).toBe(CloseCode.goingAway);
  }
});
