// Flow control to each client (server/core/delivery.ts) in-process, with a fake PTY, fake clients
// and fake screen models (tests/fakes.ts): watermarks, catch-up from the log or a snapshot, and a
// browser's hurry (Ctrl-C in a flood), each in milliseconds. Against real shells and real sockets:
// tests/slow-consumer.test.ts and the browser checks.

import { describe, expect, test } from "bun:test";
import {
  BROWSER_REPLAY_LIMIT_BYTES, HURRY_MIN_INTERVAL_MS, HURRY_MIN_UNACKED_BYTES, HURRY_RECENT_FULL_MS, HURRY_QUIET_MS, HURRY_REPLAY_BYTES, HURRY_WINDOW_MS, SOCKET_HIGH_BYTES, SOCKET_LOW_BYTES, UNACKED_HIGH_BYTES,
} from "../server/core/delivery.ts";
import { OUTPUT_LOG_BYTES } from "../server/core/outlog.ts";
import { browserSession, chunk, FakeClient, fakeSession, tick } from "./fakes.ts";

describe("flow control", () => {
  test("past SOCKET_HIGH_BYTES queued a client is skipped; below SOCKET_LOW_BYTES it catches up from the log, byte for byte", async () => {
    const { s, pty } = fakeSession();
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
    const { s, pty, screens } = fakeSession();
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
    const { s, pty } = fakeSession();
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
