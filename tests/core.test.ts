// The session core in-process, with a fake PTY, fake clients and fake screen models
// (tests/fakes.ts): roles, flow control, holds and lifetimes, each in milliseconds. The same
// rules are tested against real shells and real sockets in pool, lifetime and slow-consumer tests.

import { describe, expect, test } from "bun:test";
import { CloseCode } from "../protocol/index.ts";
import {
  BROWSER_REPLAY_LIMIT_BYTES, HURRY_MIN_INTERVAL_MS, HURRY_MIN_UNACKED_BYTES, HURRY_RECENT_FULL_MS, HURRY_QUIET_MS, HURRY_REPLAY_BYTES, HURRY_WINDOW_MS, SOCKET_HIGH_BYTES, SOCKET_LOW_BYTES, UNACKED_HIGH_BYTES,
} from "../server/core/delivery.ts";
import { OUTPUT_LOG_BYTES } from "../server/core/outlog.ts";
import { Pool, SHED_HOLD_MS, SHED_LAG_MS, SHED_MIN_BYTES, SHED_RELEASE_LAG_MS, SHED_SEVERE_LAG_MS } from "../server/core/pool.ts";
import { DETACHED_OUTPUT_BURST_BYTES, HOLD_AHEAD_BYTES, RELEASE_AHEAD_BYTES } from "../server/core/pacing.ts";
import { Session } from "../server/core/session.ts";
import { FakeClient, FakeScreens, fakeTerminals, noLog } from "./fakes.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

function session(graceMs = 60_000) {
  const t = fakeTerminals();
  const screens = new FakeScreens();
  const ended: Session[] = [];
  const s = new Session({
    id: "s1", command: ["fake"], env: {}, cols: 80, rows: 24, screen: screens, graceMs, spawn: t.spawn, reap: t.reap,
    onEnded: (x) => ended.push(x), log: noLog,
  });
  return { s, pty: t.ptys[0]!, screens, ended };
}
const chunk = (n: number, c = "y") => new TextEncoder().encode(c.repeat(n));
/** A session with one browser (a client that acks) as its writer, attached and settled. */
async function browserSession() {
  const x = session();
  const browser = new FakeClient();
  x.s.attach(browser, { mode: "write", fresh: true });
  await tick(); // the attach's catch-up settles
  x.s.ack(browser, 0); // it acks: from now on unacked bytes count
  return { ...x, browser };
}

describe("roles", () => {
  test("a write-mode client that joins becomes the writer; the old one is told; typing takes it back; the writer's size wins", () => {
    const { s, pty } = session();
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
    const { s, pty } = session();
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

describe("flow control", () => {
  test("past SOCKET_HIGH_BYTES queued a client is skipped; below SOCKET_LOW_BYTES it catches up from the log, byte for byte", async () => {
    const { s, pty } = session();
    const fast = new FakeClient(), slow = new FakeClient();
    s.attach(fast, { mode: "write", fresh: true });
    s.attach(slow, { mode: "view", offset: 0, byId: true });
    await tick(); // the attach's catch-up settles (in a server, every socket event is a task of its own)
    slow.stalled = true;
    let sent = 0;
    for (let i = 0; sent < 3 * SOCKET_HIGH_BYTES; i++) {
      const c = chunk(16 << 10, String.fromCharCode(97 + (i % 26)));
      pty.emit(c);
      sent += c.length;
    }
    expect(fast.bytes()).toBe(sent); // the fast one is never slowed
    expect(slow.bytes()).toBeLessThan(sent);
    expect(slow.bytes()).toBeGreaterThanOrEqual(SOCKET_HIGH_BYTES);
    // It drains: everything it missed comes from the log, in order, nothing twice.
    slow.stalled = false;
    slow.queued = SOCKET_LOW_BYTES;
    s.drained(slow);
    await tick();
    expect(slow.bytes()).toBe(sent);
    expect(slow.text()).toBe(fast.text());
    expect(slow.messages.some((m) => m.type === "snapshot")).toBe(false);
  });

  test("a client the log has moved past gets a snapshot, then the log from the snapshot's offset", async () => {
    const { s, pty, screens } = session();
    const fast = new FakeClient(), slow = new FakeClient();
    s.attach(fast, { mode: "write", fresh: true });
    s.attach(slow, { mode: "view", offset: 0, byId: true });
    await tick();
    slow.stalled = true;
    for (let n = 0; n < OUTPUT_LOG_BYTES + (1 << 20); n += 64 << 10) pty.emit(chunk(64 << 10));
    slow.stalled = false;
    slow.queued = 0;
    s.drained(slow);
    await tick();
    await tick();
    const snap = slow.last("snapshot");
    expect(screens.snapshots).toBe(1);
    expect(snap).toBeTruthy();
    pty.emit("tail");
    expect(slow.text().endsWith("tail")).toBe(true);
  });

  test("a browser (it acks) more than BROWSER_REPLAY_LIMIT_BYTES behind skips to the present with a snapshot instead of a replay", async () => {
    const { s, pty } = session();
    const writer = new FakeClient(), browser = new FakeClient();
    s.attach(writer, { mode: "write", fresh: true });
    s.attach(browser, { mode: "view", offset: 0, byId: true });
    await tick();
    s.ack(browser, 0); // it acks: from now on unacked bytes count
    const flood = UNACKED_HIGH_BYTES + 2 * BROWSER_REPLAY_LIMIT_BYTES;
    for (let n = 0; n < flood; n += 16 << 10) pty.emit(chunk(16 << 10));
    const before = browser.bytes();
    expect(before).toBeLessThanOrEqual(UNACKED_HIGH_BYTES + (16 << 10)); // it stopped at the unacked watermark
    s.ack(browser, before); // it parsed all it had
    await tick();
    await tick();
    expect(browser.last("snapshot")).toBeTruthy();
    expect(browser.bytes() - before).toBeLessThan(BROWSER_REPLAY_LIMIT_BYTES); // no replay of the flood
  });

  test("a browser that types while behind (Ctrl-C in a flood) gets a snapshot at once, before it has parsed what is in flight, and no replay", async () => {
    const { s, pty, browser } = await browserSession();
    for (let n = 0; n < UNACKED_HIGH_BYTES + BROWSER_REPLAY_LIMIT_BYTES / 2; n += 16 << 10) pty.emit(chunk(16 << 10)); // behind, but within the replay limit
    const before = browser.bytes();
    expect(browser.last("snapshot")).toBeFalsy();
    s.input(browser, new Uint8Array([3])); // Ctrl-C; no ack yet: the page is still parsing
    await tick();
    await tick();
    expect(browser.last("snapshot")).toBeTruthy();
    expect(browser.bytes() - before).toBeLessThan(16 << 10); // the flood's rest was not replayed
  });

  test("a browser not behind yet but with HURRY_MIN_UNACKED_BYTES in flight also gets a snapshot when it types; with less in flight it gets none", async () => {
    const { s, pty, browser } = await browserSession();
    pty.emit(chunk(HURRY_MIN_UNACKED_BYTES / 2)); // little in flight: typing changes nothing
    s.input(browser, new TextEncoder().encode("a"));
    await tick();
    await tick();
    expect(browser.last("snapshot")).toBeFalsy();
    for (let n = 0; n < HURRY_MIN_UNACKED_BYTES; n += 16 << 10) pty.emit(chunk(16 << 10)); // now over it, still under UNACKED_HIGH_BYTES
    expect(HURRY_MIN_UNACKED_BYTES * 1.5 + (16 << 10)).toBeLessThan(UNACKED_HIGH_BYTES);
    const before = browser.bytes();
    s.input(browser, new Uint8Array([3]));
    pty.emit(chunk(1000)); // output while the snapshot is on its way waits for it
    expect(browser.bytes()).toBe(before);
    await tick();
    await tick();
    const snap = browser.last("snapshot");
    expect(snap).toBeTruthy();
    pty.emit("after"); // then, once the program is quiet, output flows again from the snapshot's offset
    expect(browser.bytes()).toBe(before);
    await Bun.sleep(3 * HURRY_QUIET_MS);
    expect(browser.text().endsWith("after")).toBe(true);
    pty.emit("live");
    expect(browser.text().endsWith("afterlive")).toBe(true);
    expect(browser.messages.filter((m) => m.type === "snapshot").length).toBe(1); // a small tail is replayed, not skipped
  });

  test("a browser whose window filled within HURRY_RECENT_FULL_MS skips when it types, even with little in flight; one full long before does not", async () => {
    const { s, pty, browser } = await browserSession();
    let written = 0;
    const fillThenCatchUp = async () => {
      const from = written;
      do {
        pty.emit(chunk(16 << 10));
        written += 16 << 10;
      } while (browser.bytes() === written && written - from < 2 * UNACKED_HIGH_BYTES); // until output stops at the watermark
      expect(browser.bytes()).toBeLessThan(written); // it did stop
      const parsed = browser.bytes();
      s.ack(browser, parsed); // it parsed all it had: the rest is replayed, it is live again
      await tick();
      expect(browser.bytes()).toBe(written);
      expect(written - parsed).toBeLessThan(HURRY_MIN_UNACKED_BYTES); // little in flight
    };
    await fillThenCatchUp();
    await Bun.sleep(HURRY_RECENT_FULL_MS + 50); // the flood stopped a while ago
    s.input(browser, new TextEncoder().encode("a"));
    await tick();
    await tick();
    expect(browser.messages.some((m) => m.type === "skip")).toBe(false);
    await fillThenCatchUp(); // in a flood, just after an ack: little in flight
    expect(HURRY_RECENT_FULL_MS).toBeGreaterThan(HURRY_MIN_INTERVAL_MS); // (a second hurry is not refused for its interval)
    s.input(browser, new Uint8Array([3]));
    await tick();
    await tick();
    expect(browser.messages.filter((m) => m.type === "skip").length).toBe(1);
    expect(browser.last("snapshot")).toBeTruthy();
  });

  test("after a hurry the flood's tail is not replayed: once the program is quiet the browser gets one more snapshot, then live output", async () => {
    const { s, pty, screens, browser } = await browserSession();
    for (let n = 0; n < UNACKED_HIGH_BYTES; n += 16 << 10) pty.emit(chunk(16 << 10));
    s.input(browser, new Uint8Array([3])); // Ctrl-C in the flood
    await tick();
    await tick();
    expect(browser.messages.filter((m) => m.type === "snapshot").length).toBe(1);
    const before = browser.bytes();
    // The program goes on writing for a while after the Ctrl-C (its tail), then prints its prompt.
    for (let n = 0; n < HURRY_REPLAY_BYTES * 16; n += 16 << 10) pty.emit(chunk(16 << 10));
    pty.emit("$ ");
    expect(browser.bytes()).toBe(before); // held: nothing of the tail was sent
    await Bun.sleep(4 * HURRY_QUIET_MS);
    expect(browser.messages.filter((m) => m.type === "snapshot").length).toBe(2); // the present, not 256 KiB of tail
    expect(browser.messages.map((m) => m.type).filter((t) => t === "skip" || t === "snapshot")).toEqual(["skip", "snapshot", "snapshot"]); // told at once, before the screen model answered
    expect(browser.bytes()).toBe(before);
    expect(screens.snapshots).toBe(2);
    pty.emit("ls\r\n");
    expect(browser.bytes()).toBe(before + 4); // live again
  });

  test("a program that goes on flooding after a hurry is shown again within HURRY_WINDOW_MS, not held until it stops", async () => {
    const { s, pty, browser } = await browserSession();
    for (let n = 0; n < UNACKED_HIGH_BYTES; n += 16 << 10) pty.emit(chunk(16 << 10));
    s.input(browser, new Uint8Array([3]));
    const t0 = performance.now();
    let second = 0;
    while (performance.now() - t0 < 3 * HURRY_WINDOW_MS && !second) {
      pty.emit(chunk(4 << 10)); // never quiet
      await Bun.sleep(2);
      if (browser.messages.filter((m) => m.type === "snapshot").length >= 2) second = performance.now() - t0;
    }
    expect(second).toBeGreaterThan(0);
    expect(second).toBeLessThan(HURRY_WINDOW_MS + 10 * HURRY_QUIET_MS);
  });
});

describe("pausing the program", () => {
  test("when every client is HOLD_AHEAD_BYTES behind the program's output is paused; a client catching up releases it", async () => {
    const { s, pty } = session();
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
    const { s, pty } = session();
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
    const { s, pty } = session();
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
    const { s, pty, ended } = session(50); // grace 50 ms: shorter than the disposable grace, so both end fast here
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
    const { s, pty } = session();
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
    const { s, pty } = session();
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
