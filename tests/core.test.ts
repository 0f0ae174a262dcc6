// The session core in-process, with a fake PTY, fake clients and fake screen models
// (tests/fakes.ts): roles, holds and lifetimes, each in milliseconds (flow control to each client:
// tests/delivery.test.ts). The same rules are tested against real shells and real sockets in pool,
// lifetime and slow-consumer tests.

import { describe, expect, test } from "bun:test";
import { CloseCode } from "../protocol/index.ts";
import { SOCKET_HIGH_BYTES } from "../server/core/delivery.ts";
import { Pool, SHED_HOLD_MS, SHED_LAG_MS, SHED_MIN_BYTES, SHED_RELEASE_LAG_MS, SHED_SEVERE_LAG_MS } from "../server/core/pool.ts";
import { DETACHED_OUTPUT_BURST_BYTES, HOLD_AHEAD_BYTES, RELEASE_AHEAD_BYTES } from "../server/core/pacing.ts";
import { chunk, FakeClient, FakeScreens, fakeSession, fakeTerminals, noLog, tick } from "./fakes.ts";

describe("roles", () => {
  test("a write-mode client that joins becomes the writer; the old one is told; typing takes it back; the writer's size wins", () => {
    const { s, pty } = fakeSession();
    const a = new FakeClient(), b = new FakeClient();
    s.attach(a, { mode: "write", cols: 100, rows: 30, fresh: true });
    expect(a.last("hello")).toMatchObject({ writer: true, resumed: "new" });
    expect(pty.sizes.at(-1)).toEqual([100, 30]);
    s.attach(b, { mode: "write", cols: 90, rows: 20, byId: true });
    expect(b.last("hello")!.writer).toBe(true);
    expect(a.last("role")).toMatchObject({ writer: false });
    expect(pty.sizes.at(-1)).toEqual([90, 20]);
    s.input(a, new TextEncoder().encode("ls\r"));
    expect(a.last("role")).toMatchObject({ writer: true });
    expect(b.last("role")).toMatchObject({ writer: false });
    expect(pty.sizes.at(-1)).toEqual([100, 30]);
    expect(pty.input()).toBe("ls\r");
    s.detach(a); // the writer leaves: the most recent write-mode client takes over
    expect(b.last("role")).toMatchObject({ writer: true });
  });

  test("a view-only client cannot type or take over; it is told, at most every 2 s", () => {
    const { s, pty } = fakeSession();
    const w = new FakeClient(), v = new FakeClient();
    s.attach(w, { mode: "write", fresh: true });
    s.attach(v, { mode: "view", byId: true });
    for (let i = 0; i < 5; i++) s.input(v, new TextEncoder().encode("rm -rf /\r"));
    s.take(v);
    expect(pty.input()).toBe("");
    expect(v.messages.filter((m) => m.type === "error" && m.code === "read_only").length).toBe(2); // one for the input burst, one for take
    expect(w.messages.some((m) => m.type === "role")).toBe(false);
  });
});

describe("pausing the program", () => {
  test("when every client is HOLD_AHEAD_BYTES behind the program's output is paused; a client catching up releases it", async () => {
    const { s, pty } = fakeSession();
    const c = new FakeClient();
    s.attach(c, { mode: "write", fresh: true });
    await tick();
    c.stalled = true;
    for (let n = 0; n <= HOLD_AHEAD_BYTES + 2 * SOCKET_HIGH_BYTES; n += 64 << 10) pty.emit(chunk(64 << 10));
    expect(pty.outputPaused).toBe(true);
    c.stalled = false;
    c.queued = 0;
    s.drained(c); // catches up from the log: within RELEASE_AHEAD_BYTES, the program goes on
    await tick();
    expect(pty.outputPaused).toBe(false);
    expect(c.bytes()).toBeGreaterThan(HOLD_AHEAD_BYTES - RELEASE_AHEAD_BYTES);
  });

  test("a script writer slower than a viewer is waited for (it gets every byte); a stalled viewer holds nothing up", async () => {
    const { s, pty } = fakeSession();
    const writer = new FakeClient(), viewer = new FakeClient();
    s.attach(writer, { mode: "write", fresh: true });
    s.attach(viewer, { mode: "view", offset: 0, byId: true });
    await tick();
    writer.stalled = true; // the script that types reads slowly; the viewer keeps up
    for (let n = 0; n <= HOLD_AHEAD_BYTES + 2 * SOCKET_HIGH_BYTES; n += 64 << 10) pty.emit(chunk(64 << 10));
    expect(pty.outputPaused).toBe(true);
    writer.stalled = false;
    writer.queued = 0;
    s.drained(writer);
    await tick();
    expect(pty.outputPaused).toBe(false);
    expect(writer.last("snapshot")).toBeFalsy(); // nothing skipped
    // Roles the other way round: a viewer that stops reading does not stop the writer's program.
    writer.stalled = false;
    viewer.stalled = true;
    for (let n = 0; n <= HOLD_AHEAD_BYTES + 2 * SOCKET_HIGH_BYTES; n += 64 << 10) pty.emit(chunk(64 << 10));
    expect(pty.outputPaused).toBe(false);
  });

  test("a detached session may print its burst, then waits; a client attaching lets it go at once", () => {
    const { s, pty } = fakeSession();
    const c = new FakeClient();
    s.attach(c, { mode: "write", fresh: true });
    s.input(c, new TextEncoder().encode("yes\r")); // worth keeping: a detach starts the full grace
    s.detach(c);
    pty.emit(chunk(DETACHED_OUTPUT_BURST_BYTES - 1));
    expect(pty.outputPaused).toBe(false);
    pty.emit(chunk(64 << 10));
    expect(pty.outputPaused).toBe(true);
    s.attach(new FakeClient(), { mode: "write", byId: true });
    expect(pty.outputPaused).toBe(false);
  });
});

describe("lifetime", () => {
  test("a disposable session ends soon after its client left, one typed into waits for the grace period; ending reaps and closes the PTY", async () => {
    const { s, pty, ended } = fakeSession(50); // grace 50 ms: shorter than the disposable grace, so both end fast here
    const c = new FakeClient();
    s.attach(c, { mode: "write", fresh: true });
    expect(s.keptBy.size).toBe(0);
    s.input(c, new TextEncoder().encode("x"));
    expect([...s.keptBy]).toEqual(["input"]);
    s.detach(c);
    expect(s.detached).toBe(true);
    await Bun.sleep(120);
    expect(s.state).toBe("ended");
    expect(ended).toEqual([s]);
    expect(pty.closed).toBe(true);
    expect(pty.hasExited).toBe(true);
  });

  test("the program's exit reaches every client as exit then close 1000, after the output it had not had", async () => {
    const { s, pty } = fakeSession();
    const c = new FakeClient();
    s.attach(c, { mode: "write", fresh: true });
    pty.emit("bye\r\n");
    pty.exit(3);
    await Bun.sleep(10);
    expect(c.text()).toBe("bye\r\n");
    expect(c.last("exit")).toMatchObject({ code: 3, signal: null });
    expect(c.closed).toEqual({ code: CloseCode.normal, reason: "program exited" });
  });
});

describe("the pool with fake terminals", () => {
  const pool = (o: { maxSessions?: number; maxDetached?: number } = {}) => {
    const t = fakeTerminals();
    const p = new Pool({
      command: ["fake"], env: {}, maxSessions: o.maxSessions ?? 8, maxDetached: o.maxDetached ?? 8, graceMs: 60_000, idleTimeoutMs: 0, spares: 0,
      screen: new FakeScreens(), log: noLog, spawn: t.spawn, reap: t.reap,
    });
    return { p, t };
  };
  const dropped = (p: Pool, typed: boolean) => {
    const s = p.create(80, 24);
    const c = new FakeClient();
    s.attach(c, { mode: "write", fresh: true });
    if (typed) s.input(c, new TextEncoder().encode("x"));
    s.detach(c);
    return s;
  };

  test("past --max-detached the never-used session goes first, then the longest detached of the kept ones", () => {
    const { p } = pool({ maxDetached: 2 });
    const typed = dropped(p, true);
    const unused = dropped(p, false);
    const typed2 = dropped(p, true); // three detached, room for two
    expect(unused.state).toBe("ending");
    expect([typed.state, typed2.state]).toEqual(["live", "live"]);
    const typed3 = dropped(p, true);
    expect(typed.state).toBe("ending"); // the longest detached of those equally kept
    expect([typed2.state, typed3.state]).toEqual(["live", "live"]);
    expect(p.evicted).toBe(2);
  });

  test("a new session under --max-sessions ends a detached one; with every session attached it is refused", () => {
    const { p } = pool({ maxSessions: 2 });
    const s1 = dropped(p, false);
    p.create(80, 24).attach(new FakeClient(), { mode: "write", fresh: true });
    const s3 = p.create(80, 24); // makes room: the detached one goes
    expect(s1.state).toBe("ending");
    s3.attach(new FakeClient(), { mode: "write", fresh: true });
    expect(() => p.create(80, 24)).toThrow("each with a client attached");
  });
});

describe("terminal modes", () => {
  test("clients are told the echo and canonical modes after hello, and of each change before the output it came with", () => {
    const { s, pty } = fakeSession();
    const c = new FakeClient();
    pty.mode = { echo: false, canonical: false }; // a line editor (readline) at its prompt
    s.attach(c, { mode: "write", fresh: true });
    expect(c.messages.map((m) => m.type)).toEqual(["hello", "termmode"]);
    expect(c.last("termmode")).toMatchObject({ echo: false, canonical: false });
    pty.emit("$ ");
    expect(c.messages.filter((m) => m.type === "termmode").length).toBe(1); // unchanged: not repeated
    pty.mode = { echo: false, canonical: true }; // sudo turned echo off before printing its prompt
    pty.emit("[sudo] password for me: ");
    const i = c.messages.findLastIndex((m) => m.type === "termmode");
    expect(c.messages[i]).toMatchObject({ echo: false, canonical: true });
    expect(c.text().endsWith("password for me: ")).toBe(true);
  });
});

describe("load shedding", () => {
  const pool = () => {
    const t = fakeTerminals();
    const p = new Pool({
      command: ["fake"], env: {}, maxSessions: 4, maxDetached: 4, graceMs: 60_000, idleTimeoutMs: 0, spares: 0,
      screen: new FakeScreens(), log: noLog, spawn: t.spawn, reap: t.reap,
    });
    const open = () => {
      p.create(80, 24).attach(new FakeClient(), { mode: "write", fresh: true });
      return t.ptys.at(-1)!;
    };
    return { p, open };
  };

  test("while the loop is late a flooding session is paused for SHED_HOLD_MS at a time, never longer, even if the loop stays late", async () => {
    const { p, open } = pool();
    const pty = open();
    open(); // somebody typing in another session: the one to protect
    pty.emit(chunk(SHED_MIN_BYTES + 1));
    p.shedLoad(SHED_LAG_MS + 20); // late: the heavy printer is paused
    expect(pty.outputPaused).toBe(true);
    p.shedLoad(SHED_LAG_MS - 5); // still late enough to stay overloaded (above the release lag)...
    expect(pty.outputPaused).toBe(true);
    await Bun.sleep(SHED_HOLD_MS + 20);
    p.shedLoad(SHED_LAG_MS - 5); // ...but its pause is over: it goes on (Ctrl-C's prompt must get out)
    expect(pty.outputPaused).toBe(false);
    pty.emit(chunk(SHED_MIN_BYTES + 1)); // it floods again while the loop is late: paused at once
    expect(pty.outputPaused).toBe(true);
  });

  test("a flood is a rate (SHED_MIN_BYTES_PER_S over the sample), not bytes per sample: a late loop's long sample does not make a steady printer one", async () => {
    const { p, open } = pool();
    const steady = open();
    open(); // a quiet session to protect
    p.shedLoad(0);
    await Bun.sleep(200);
    steady.emit(chunk(SHED_MIN_BYTES * 2)); // 32 KiB in 200 ms: 160 KiB/s, a build log
    p.shedLoad(SHED_LAG_MS + 20);
    expect(steady.outputPaused).toBe(false);
    steady.emit(chunk(SHED_MIN_BYTES * 2)); // the same 32 KiB right after a sample: a flood's rate
    expect(steady.outputPaused).toBe(true);
  });

  test("one flood with nobody to protect is left to run, unless the loop is SHED_SEVERE_LAG_MS late; two floods are shed", () => {
    const { p, open } = pool();
    const a = open();
    a.emit(chunk(SHED_MIN_BYTES + 1));
    p.shedLoad(SHED_LAG_MS + 20); // late, but the only session with a client is the flood: pausing it helps nobody
    expect(a.outputPaused).toBe(false);
    a.emit(chunk(SHED_MIN_BYTES + 1));
    p.shedLoad(SHED_SEVERE_LAG_MS + 1); // the server itself is in danger (the API, /api/health)
    expect(a.outputPaused).toBe(true);
    p.shedLoad(SHED_RELEASE_LAG_MS); // calm again
    const b = open();
    for (const pty of [a, b]) pty.emit(chunk(SHED_MIN_BYTES + 1));
    p.shedLoad(SHED_LAG_MS + 20); // two floods take turns on the loop: both wait
    expect([a.outputPaused, b.outputPaused]).toEqual([true, true]);
  });
});
