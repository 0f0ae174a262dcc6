// Session lifetime under limits (docs/protocol.md, "Session lifetime"): which detached session
// goes first when a bound is reached, that attached sessions are never ended to make room, that a
// refusal names its reason, that a detached flood is slowed instead of read at full speed, and that
// a program whose every client stopped reading waits for them instead of running away.
// Real server, real sockets, real shells.

import { afterAll, describe, expect, test } from "bun:test";
import { CloseCode } from "../protocol/index.ts";
import { DETACHED_OUTPUT_BURST_BYTES, DETACHED_OUTPUT_BYTES_PER_S, HOLD_AHEAD_BYTES } from "../server/core/pacing.ts";
import { markedProcesses, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

const servers: TestServer[] = [];
const start = async (args: string[] = []) => {
  const s = await startServer({ args });
  servers.push(s);
  return s;
};
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const sessionsOf = async (s: TestServer) => (await (await fetch(new URL("/api/sessions", s.url), { headers: s.auth })).json()) as any[];
const alive = async (s: TestServer, id: string) => (await sessionsOf(s)).some((x) => x.id === id);
const metric = async (s: TestServer, name: string) =>
  Number((await (await fetch(new URL("/metrics", s.url), { headers: s.auth })).text()).match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"))?.[1]);

/** A terminal that is opened, optionally typed into, then dropped; returns its session id (and remembers its pid). */
const pids = new Map<string, number>();
async function dropped(s: TestServer, typed: boolean): Promise<string> {
  const c = await TestClient.open(s);
  expect(await c.waitFor(/\$ /)).toBe(true);
  if (typed) {
    c.type("echo typed-$((3*3))\r");
    expect(await c.waitFor(/typed-9/)).toBe(true);
  }
  c.close();
  await c.waitClosed();
  pids.set(c.hello()!.session, c.hello()!.pid);
  return c.hello()!.session;
}

describe("eviction order", () => {
  test("past --max-detached: a never-used session goes first; typed-in and reattached ones stay; the evicted one's processes are reaped", async () => {
    const s = await start(["--max-detached", "2"]);
    const typed = await dropped(s, true);
    const reattached = await dropped(s, false);
    const again = await TestClient.open(s, `?session=${reattached}`); // a client came back for it: worth keeping
    again.close();
    await again.waitClosed();
    const unused = await dropped(s, false);
    const unusedPid = pids.get(unused)!;
    // Three detached, room for two: the never-used one is ended (reaped like any other), not the others.
    expect(await until(async () => !(await alive(s, unused)), 5000)).toBe(true);
    expect(await alive(s, typed)).toBe(true);
    expect(await alive(s, reattached)).toBe(true);
    expect(await until(async () => !(await markedProcesses(s.mark)).includes(unusedPid), 5000)).toBe(true);
    expect(await metric(s, "bunty_sessions_evicted_total")).toBe(1);
    expect(await until(() => s.stderr().includes("session.evicted"), 2000)).toBe(true);
    // Another never-used one: again it is the one that goes.
    const unused2 = await dropped(s, false);
    expect(await until(async () => !(await alive(s, unused2)), 5000)).toBe(true);
    expect((await sessionsOf(s)).map((x) => x.id).sort()).toEqual([typed, reattached].sort());
  }, 30_000);

  test("--max-sessions with default --max-detached: a new terminal ends the least kept detached session; attached ones are never ended; then a refusal with its reason", async () => {
    const s = await start(["--max-sessions", "3"]);
    const typed = await dropped(s, true);
    const unused = await dropped(s, false);
    const holder = await TestClient.open(s); // attached: never ended to make room
    const first = await TestClient.open(s); // full: makes room by ending the never-used one
    expect(first.hello()).toBeTruthy();
    expect(await alive(s, unused)).toBe(false);
    expect(await alive(s, typed)).toBe(true);
    const second = await TestClient.open(s); // full again: the typed-in one is the only detached one left
    expect(second.hello()).toBeTruthy();
    expect(await alive(s, typed)).toBe(false);
    // Three sessions, each with a client: now, and only now, a new one is refused, saying why.
    const refused = new TestClient(s);
    expect(await refused.waitClosed()).toBeTruthy();
    expect(refused.closed).toEqual({ code: CloseCode.tooManySessions, reason: "the server already runs its maximum of 3 sessions, each with a client attached" });
    for (const c of [holder, first, second]) {
      expect(c.closed).toBeNull();
      c.type("echo still-$((2*21))\r");
      expect(await c.waitFor(/still-42/)).toBe(true);
      c.close();
    }
  }, 30_000);

  test("warm spares count as nobody's session: --pool-size 1 --max-sessions 2 still opens two terminals", async () => {
    const s = await start(["--pool-size", "1", "--max-sessions", "2"]);
    expect(await until(async () => (await s.health()).spares === 1, 5000)).toBe(true);
    const a = await TestClient.open(s);
    const b = await TestClient.open(s);
    expect([a.hello(), b.hello()].every(Boolean)).toBe(true);
    expect(await until(async () => (await s.health()).spares === 1, 5000)).toBe(true); // refilled beside two sessions
    expect((await s.health()).sessions).toBe(2);
    a.close();
    b.close();
  });
});

describe("output of sessions nobody reads", () => {
  test("a detached flood is slowed to the detached rate (its program waits), and runs at full speed again once a client is back", async () => {
    const s = await start();
    const c = await TestClient.open(s);
    expect(await c.waitFor(/\$ /)).toBe(true);
    c.type("yes\r");
    expect(await until(() => c.bytes > 1 << 20, 5000)).toBeTruthy();
    const id = c.hello()!.session;
    c.close();
    await c.waitClosed();
    await Bun.sleep(500); // the burst allowance is spent, the pause is on
    const offset = async () => (await sessionsOf(s)).find((x) => x.id === id)!.offset as number;
    const o1 = await offset();
    await Bun.sleep(2000);
    const o2 = await offset();
    const rate = (o2 - o1) / 2;
    console.log(`detached yes: ${(rate / 1024).toFixed(1)} KiB/s (limit ${DETACHED_OUTPUT_BYTES_PER_S / 1024} KiB/s, burst ${DETACHED_OUTPUT_BURST_BYTES >> 10} KiB)`);
    expect(o2 - o1).toBeLessThan(2 * DETACHED_OUTPUT_BYTES_PER_S + DETACHED_OUTPUT_BURST_BYTES);
    const back = await TestClient.open(s, `?session=${id}`);
    const o3 = await offset();
    await Bun.sleep(1000);
    expect((await offset()) - o3).toBeGreaterThan(8 * DETACHED_OUTPUT_BYTES_PER_S); // full speed with a reader
    back.type("\x03");
    back.close();
  }, 20_000);

  test("a script client that stops reading: the program waits once it is HOLD_AHEAD_BYTES ahead, and the client then gets every byte, none skipped", async () => {
    const s = await start();
    const port = Number(s.url.port);
    const w = new RawWs(port);
    w.capture = true;
    await w.connected();
    w.sock.write(RawWs.request(port, "/ws", undefined, s.token));
    await until(() => w.opcodes.includes(2), 5000);
    // 61 MB of numbered lines: a gap or a repeat would show in the numbers.
    w.sendBinary(new TextEncoder().encode("seq 1 8000000; echo seq-$((1+1))-done\r"));
    await until(() => w.received > 1 << 20, 5000);
    w.sock.pause(); // stop reading
    const id = (await sessionsOf(s))[0]!.id;
    const offset = async () => (await sessionsOf(s)).find((x) => x.id === id)!.offset as number;
    await Bun.sleep(1500);
    const held1 = await offset();
    await Bun.sleep(1000);
    const held2 = await offset();
    console.log(`stopped reader: program ${((held2 - w.received) / 2 ** 20).toFixed(1)} MiB ahead of what the client read, ${(held2 - held1) / 1024} KiB more in 1 s`);
    expect(held2 - held1).toBeLessThan(256 << 10); // waiting, not running away
    expect(held2 - w.received).toBeLessThan(HOLD_AHEAD_BYTES + (8 << 20)); // within the hold plus what the kernel and the socket buffer
    // Read again: everything arrives, in order, and no snapshot replaced any of it.
    w.sock.resume();
    const text = () => new TextDecoder().decode(Buffer.concat(w.events.flatMap((e) => ("bytes" in e ? [e.bytes] : []))));
    expect(await until(() => text().includes("seq-2-done"), 60_000, 200)).toBeTruthy();
    expect(w.events.some((e) => "snapshot" in e)).toBe(false);
    // The numbers, from the output between the command line and the marker (escape sequences and \r removed).
    const all = text().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    const body = all.slice(all.indexOf("\n", all.indexOf("seq 1 8000000")), all.indexOf("seq-2-done", all.indexOf("seq 1 8000000") + 40));
    const nums = body.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    expect(nums.length).toBe(8_000_000);
    expect(nums.every((n, i) => n === i + 1)).toBe(true); // no line missing or doubled
    w.sock.destroy();
  }, 90_000);
});
