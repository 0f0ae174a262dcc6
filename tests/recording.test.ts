// Session recording (--record DIR) with real shells: asciicast v2 files checked line by line and
// replayed into a headless terminal (the screen must be the one a live client saw); the size
// limit; recording errors never touch the session; the /api/recordings routes and their name checks.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { Recorder, recordingName, RECORDING_NAME } from "../server/core/recorder.ts";
import { startServer, TestClient, until, type TestServer } from "./harness.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "bunty-rec-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Header = { version: number; width: number; height: number; timestamp: number; env: Record<string, string>; title: string; command?: string };
type Event = [number, string, string];

/** Checks an asciicast v2 file line by line against the specification; returns its header and events. */
function parseCast(text: string): { header: Header; events: Event[] } {
  expect(text.endsWith("\n")).toBe(true);
  const [first, ...rest] = text.slice(0, -1).split("\n");
  const header = JSON.parse(first!) as Header;
  expect(typeof header).toBe("object");
  expect(header.version).toBe(2);
  for (const k of ["width", "height", "timestamp"] as const) expect(Number.isInteger(header[k])).toBe(true);
  expect(header.width).toBeGreaterThan(0);
  expect(header.height).toBeGreaterThan(0);
  expect(Math.abs(header.timestamp - Date.now() / 1000)).toBeLessThan(120);
  expect(typeof header.title).toBe("string");
  expect(Object.keys(header.env).sort()).toEqual(["SHELL", "TERM"]);
  for (const v of Object.values(header.env)) expect(typeof v).toBe("string");
  let last = 0;
  const events = rest.map((line) => {
    const e = JSON.parse(line) as Event;
    expect(Array.isArray(e)).toBe(true);
    expect(e.length).toBe(3);
    expect(typeof e[0]).toBe("number");
    expect(e[0]).toBeGreaterThanOrEqual(last); // times are monotonic
    last = e[0];
    expect(["o", "r", "m"]).toContain(e[1]);
    expect(typeof e[2]).toBe("string");
    if (e[1] === "r") expect(e[2]).toMatch(/^\d+x\d+$/);
    return e;
  });
  return { header, events };
}

/** Replays a recording into a headless terminal of the header's size; returns the visible lines. */
async function replayCast(header: Header, events: Event[]): Promise<string[]> {
  const { Terminal } = await import("@xterm/headless");
  const term = new Terminal({ cols: header.width, rows: header.height, allowProposedApi: true, scrollback: 1000 });
  const write = (d: string) => new Promise<void>((r) => term.write(d, r));
  for (const [, code, data] of events) {
    if (code === "o") await write(data);
    else if (code === "r") {
      const [cols, rows] = data.split("x").map(Number);
      term.resize(cols!, rows!);
    }
  }
  const b = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < term.rows; y++) lines.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? "");
  term.dispose();
  return lines;
}

/** A GET sent byte for byte as given (fetch would normalise `..` and `%2e%2e` away before sending). */
async function rawGet(s: TestServer, path: string): Promise<{ status: number; text: string }> {
  const sock = connect(Number(s.url.port), "127.0.0.1");
  let text = "";
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  const closed = new Promise<void>((r) => sock.on("close", () => r()));
  sock.on("error", () => {});
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ${s.url.host}\r\nAuthorization: Bearer ${s.token}\r\nConnection: close\r\n\r\n`);
  await Promise.race([closed, Bun.sleep(5000)]);
  sock.destroy();
  return { status: Number(text.slice(9, 12)), text };
}

/** What a process has open (the targets of its /proc/PID/fd links). */
async function openFiles(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  return Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
}

const get = (s: TestServer, path: string, headers = s.auth) => fetch(new URL(path, s.url), { headers, signal: AbortSignal.timeout(5000) });

/** The recording of session `id`, once its file is closed (the server logs recording.end at debug level). */
async function recordingOf(s: TestServer, dir: string, id: string): Promise<{ name: string; text: string }> {
  expect(await until(() => s.stderr().includes(`recording.end session=${id} `), 10_000)).toBe(true);
  const name = (await readdir(dir)).find((n) => n.includes(id));
  expect(name).toBeDefined();
  return { name: name!, text: await readFile(join(dir, name!), "utf8") };
}

describe("--record DIR", () => {
  test("`echo hi; exit` is recorded as asciicast v2, and replaying it shows the screen the live client saw", async () => {
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      const c = await TestClient.open(s, "?cols=100&rows=30", true);
      const id = c.hello()!.session;
      c.type("echo hi; exit\r");
      expect(await c.waitClosed()).toBeTruthy();
      const { name, text } = await recordingOf(s, dir, id);
      expect(name).toMatch(RECORDING_NAME);
      expect(name).toEndWith(`-${id}.cast`);

      const { header, events } = parseCast(text);
      expect(header).toMatchObject({ version: 2, width: 100, height: 30, env: { TERM: "xterm-256color", SHELL: "/bin/bash" } });
      expect(header.title).toContain(id);
      expect(events.length).toBeGreaterThan(0); // how many chunks the PTY made of it depends on timing
      expect(events.every((e) => e[1] === "o")).toBe(true);
      // Every byte the client got is in the recording, in order.
      expect(events.map((e) => e[2]).join("")).toBe(new TextDecoder().decode(c.recordedBytes()));

      const recorded = await replayCast(header, events);
      const live = await c.screen(100, 30);
      expect(recorded).toEqual(live);
      expect(recorded).toContain("hi");
    } finally {
      await s.stop();
    }
  });

  test("resizes become `r` events at their place; characters split across output chunks stay whole", async () => {
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      const c = await TestClient.open(s, "?cols=80&rows=24");
      const id = c.hello()!.session;
      c.control({ type: "resize", cols: 90, rows: 20 });
      expect(await until(() => c.find("size"), 5000)).toBeTruthy();
      // The euro sign (e2 82 ac) written in two pieces, 300 ms apart: two PTY reads.
      c.type("stty size; printf '\\342'; sleep 0.3; printf '\\202\\254 euro\\n'; exit\r");
      expect(await c.waitClosed()).toBeTruthy();
      const { header, events } = parseCast((await recordingOf(s, dir, id)).text);
      expect(header).toMatchObject({ width: 80, height: 24 });
      const r = events.findIndex((e) => e[1] === "r");
      expect(events[r]![2]).toBe("90x20");
      const after = events.slice(r + 1).map((e) => e[2]).join("");
      expect(after).toContain("20 90");
      expect(after).toContain("€ euro");
      expect(events.map((e) => e[2]).join("")).not.toContain("\ufffd");
      expect(events.map((e) => e[1]).join("")).toMatch(/^o*ro+$/);
      const screen = await replayCast(header, events);
      expect(screen.length).toBe(20);
      expect(screen).toContain("20 90");
      expect(screen).toContain("€ euro");
    } finally {
      await s.stop();
    }
  });

  test("a warm spare is recorded from its first byte (its prompt), so the replay matches the live screen", async () => {
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug", "--pool-size", "1"] });
    try {
      expect(await until(async () => (await s.health()).spares === 1, 5000)).toBe(true);
      await Bun.sleep(300); // the spare prints its prompt
      const c = await TestClient.open(s, "?cols=100&rows=30", true); // the spare was started at 80x24
      expect(c.hello()!.resumed).toBe("new"); // a spare that had already printed: its prompt comes as bytes from 0
      expect(await c.waitFor(/\$ /, 5000)).toBe(true);
      const id = c.hello()!.session;
      c.type("echo from-spare-$((40+2)); exit\r");
      expect(await c.waitClosed()).toBeTruthy();
      const { header, events } = parseCast((await recordingOf(s, dir, id)).text);
      // The prompt at the spare's size, then the resize to the client's, then the rest.
      expect(header).toMatchObject({ width: 80, height: 24 });
      expect(events[0]![1]).toBe("o");
      expect(events[0]![0]).toBeLessThan(0.05);
      expect(events[0]![2]).toContain("$ ");
      expect(events[1]!.slice(1)).toEqual(["r", "100x30"]);
      const recorded = await replayCast(header, events);
      expect(recorded).toEqual(await c.screen(100, 30));
      expect(recorded).toContain("from-spare-42");
      // Only the session handed out is recorded, not the new spare started behind it.
      expect((await readdir(dir)).length).toBe(1);
    } finally {
      await s.stop();
    }
  });

  test("a disposable session (nothing typed, nobody came back) leaves no file; one typed into is recorded from its first byte", async () => {
    // A storm of dropped connections must not fill the recording directory (issue #10).
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      const dropped = await TestClient.open(s);
      expect(await dropped.waitFor(/\$ /)).toBe(true);
      dropped.close();
      const kept = await TestClient.open(s);
      expect(await kept.waitFor(/\$ /)).toBe(true);
      kept.type("echo kept-$((20+1)); exit\r");
      expect(await kept.waitClosed()).toBeTruthy();
      expect(await until(() => s.idle(), 10_000)).toBe(true); // the dropped one ends DISPOSABLE_GRACE_MS after its client left
      const files = await readdir(dir);
      expect(files).toEqual([expect.stringContaining(kept.hello()!.session)]);
      const { events } = parseCast((await recordingOf(s, dir, kept.hello()!.session)).text);
      const text = events.map((e) => e[2]).join("");
      expect(text.indexOf("$ ")).toBeGreaterThanOrEqual(0);
      expect(text.indexOf("$ ")).toBeLessThan(text.indexOf("echo kept")); // the prompt, printed before anything was typed
      expect(text).toContain("kept-21");
    } finally {
      await s.stop();
    }
  }, 20_000);

  test("Recorder: a held recording queues without a file; commit() writes everything from the start, end() before it writes nothing", async () => {
    const dir = tempDir();
    const meta = { sessionId: "held1", created: new Date(), cols: 80, rows: 24, command: ["sh"] };
    const opts = { maxBytes: 1 << 20, meta, env: { TERM: "xterm", SHELL: "/bin/sh" }, log: () => {}, held: true };
    const dropped = new Recorder({ ...opts, path: join(dir, "dropped.cast") });
    dropped.output(new TextEncoder().encode("never written"));
    await dropped.end();
    expect(dropped.stopReason).toBe("discarded");
    const kept = new Recorder({ ...opts, path: join(dir, "kept.cast") });
    kept.output(new TextEncoder().encode("before commit"));
    await Bun.sleep(50);
    expect(await readdir(dir)).toEqual([]);
    kept.commit();
    kept.output(new TextEncoder().encode(" and after"));
    await kept.end();
    expect(await readdir(dir)).toEqual(["kept.cast"]);
    expect(parseCast(await readFile(join(dir, "kept.cast"), "utf8")).events.map((e) => e[2]).join("")).toBe("before commit and after");
  });

  test("--record-max-bytes: the file stops at the limit with a marker and a warning; the session goes on", async () => {
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--record-max-bytes", "4096", "--log-level", "debug"] });
    try {
      const c = await TestClient.open(s);
      const id = c.hello()!.session;
      c.type("seq 1 3000\r");
      expect(await c.waitFor(/\n3000\n/)).toBe(true);
      expect(await until(() => s.stderr().includes("recording.limit"), 5000)).toBe(true);
      c.type("echo still-$((2*21))\r");
      expect(await c.waitFor(/still-42/)).toBe(true);
      c.type("exit\r");
      expect(await c.waitClosed()).toBeTruthy();
      const { name, text } = await recordingOf(s, dir, id);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
      expect((await stat(join(dir, name))).size).toBeLessThanOrEqual(4096);
      const { events } = parseCast(text);
      expect(events.at(-1)![1]).toBe("m");
      expect(events.at(-1)![2]).toContain("--record-max-bytes");
      expect(events.filter((e) => e[1] === "m").length).toBe(1);
      expect(text).not.toContain("still-42");
      expect(s.stderr()).toMatch(new RegExp(`warn recording\\.limit session=${id} `));
    } finally {
      await s.stop();
    }
  });

  test("a recording directory that cannot be written breaks no session", async () => {
    const parent = tempDir();
    const file = join(parent, "a-file");
    writeFileSync(file, "not a directory");
    const s = await startServer({ args: ["--record", join(file, "recordings"), "--log-level", "debug"] }); // ENOTDIR, even for root
    try {
      expect(s.stderr()).toMatch(/error recording\.unavailable dir=\S+ message=/);
      for (const n of [1, 2]) {
        const c = await TestClient.open(s);
        const id = c.hello()!.session;
        c.type(`echo unrecorded-$((${n}+40))\r`);
        expect(await c.waitFor(new RegExp(`unrecorded-${n + 40}`))).toBe(true);
        expect(await until(() => s.stderr().includes(`recording.failed session=${id} `), 5000)).toBe(true);
        c.type("exit\r");
        expect(await c.waitClosed()).toBeTruthy();
        expect(c.closed!.code).toBe(1000);
        expect(c.find("exit")).toMatchObject({ code: 0 });
      }
      expect((await s.health()).status).toBe("ok");
      expect((await get(s, "/api/recordings")).status).toBe(200);
      expect(await (await get(s, "/api/recordings")).json()).toEqual([]);
    } finally {
      await s.stop();
    }
  });
});

describe("finding 14: the recording directory and what is in it", () => {
  test("finding 14: a recording directory others can write (0777) is refused: nothing is written into it, the server says why, sessions still work", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      expect(s.stderr()).toMatch(/error recording\.unsafe_dir dir=\S+ reason="[^"]*others can write it[^"]*"/);
      const c = await TestClient.open(s);
      c.type("echo unrecorded-$((40+2)); exit\r"); // typed into: it would be recorded
      expect(await c.waitFor(/unrecorded-42/)).toBe(true);
      expect(await c.waitClosed()).toBeTruthy();
      expect(c.find("exit")).toMatchObject({ code: 0 });
      expect(await until(() => s.idle(), 10_000)).toBe(true);
      expect(await readdir(dir)).toEqual([]);
      expect(s.stderr()).not.toContain("recording.start");
      const r = await get(s, "/api/recordings");
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: "unavailable", message: expect.stringContaining("others can write it") });
      const one = await get(s, `/api/recordings/${recordingName(new Date(), c.hello()!.session)}`);
      expect(one.status).toBe(404);
      expect((await one.json()).message).toContain("recording is off");
      expect((await s.health()).status).toBe("ok");
    } finally {
      await s.stop();
    }
  }, 20_000);

  test("finding 14: a recording directory that is a symlink, or (as root) owned by another user, is refused too", async () => {
    const real = tempDir();
    const link = join(tempDir(), "recordings");
    symlinkSync(real, link);
    const cases: [string, RegExp][] = [[link, /is a symlink/]];
    if (process.getuid?.() === 0) {
      const theirs = join(tempDir(), "theirs");
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 65534, 65534);
      cases.push([theirs, /owned by uid 65534/]);
    }
    for (const [dir, why] of cases) {
      const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
      try {
        expect(s.stderr()).toMatch(/error recording\.unsafe_dir dir=/);
        expect(s.stderr()).toMatch(why);
        const c = await TestClient.open(s);
        c.type("echo still-$((20+1)); exit\r");
        expect(await c.waitFor(/still-21/)).toBe(true);
        expect(await c.waitClosed()).toBeTruthy();
        expect(await until(() => s.idle(), 10_000)).toBe(true);
        expect(await readdir(dir)).toEqual([]);
        const r = await get(s, "/api/recordings");
        expect(r.status).toBe(404);
        expect((await r.json()).message).toMatch(why);
      } finally {
        await s.stop();
      }
    }
  }, 30_000);

  test("finding 14: a symlink (or a FIFO) planted in the recording directory, named like a recording, is neither listed nor served", async () => {
    const dir = tempDir();
    const secret = join(tempDir(), "secret.txt");
    writeFileSync(secret, "top-secret-contents\n");
    const planted = ["20261128T054000Z-abcdef.cast", "20261128T054001Z-passwd.cast", "20261128T054002Z-fifo.cast"];
    symlinkSync(secret, join(dir, planted[0]!));
    symlinkSync("/etc/passwd", join(dir, planted[1]!));
    expect(Bun.spawnSync(["mkfifo", join(dir, planted[2]!)]).exitCode).toBe(0);
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      expect(s.stderr()).not.toContain("recording.unsafe_dir");
      const c = await TestClient.open(s);
      const id = c.hello()!.session;
      c.type("seq 1 30000; exit\r"); // more than one 64 KiB read to serve
      expect(await c.waitClosed(10_000)).toBeTruthy();
      const { name, text } = await recordingOf(s, dir, id);
      expect(Buffer.byteLength(text)).toBeGreaterThan(150_000);
      const list = await (await get(s, "/api/recordings")).json();
      expect(list.map((x: { name: string }) => x.name)).toEqual([name]); // ours only
      for (const p of planted) {
        const r = await get(s, `/api/recordings/${p}`);
        const body = await r.text();
        expect([p, r.status]).toEqual([p, 404]);
        expect(body).not.toContain("top-secret");
        expect(body).not.toContain("root:x:0:0");
      }
      // Ours is still served, whole.
      const r = await get(s, `/api/recordings/${name}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/x-asciicast");
      expect(await r.text()).toBe(text);
      // A client that leaves after the first piece: the server's descriptor of the file is closed all the same.
      const cut = await get(s, `/api/recordings/${name}`);
      const reader = cut.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
      expect(await until(async () => !(await openFiles(s.pid)).some((f) => f.startsWith(dir)), 5000)).toBe(true);
      expect((await s.health()).status).toBe("ok");
    } finally {
      await s.stop();
    }
  }, 20_000);
});

describe("GET /api/recordings", () => {
  test("lists and serves our files, behind authentication; refuses other names", async () => {
    const dir = tempDir();
    const s = await startServer({ args: ["--record", dir, "--log-level", "debug"] });
    try {
      const c = await TestClient.open(s);
      const id = c.hello()!.session;
      c.type("echo listed; exit\r");
      expect(await c.waitClosed()).toBeTruthy();
      const { name, text } = await recordingOf(s, dir, id);
      writeFileSync(join(dir, "notes.txt"), "not a recording"); // other files in the directory are not served

      expect((await get(s, "/api/recordings", {})).status).toBe(401);
      expect((await get(s, `/api/recordings/${name}`, {})).status).toBe(401);
      const list = await (await get(s, "/api/recordings")).json();
      expect(list).toEqual([{ name, size: Buffer.byteLength(text), created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }]);
      expect(Math.abs(Date.parse(list[0].created) - Date.now())).toBeLessThan(60_000);

      const r = await get(s, `/api/recordings/${name}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/x-asciicast");
      expect(await r.text()).toBe(text);

      // Names with a separator or a parent reference: 400, sent as they are (no client-side normalisation).
      for (const bad of ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..", "..%5C..%5Cetc%5Cpasswd", `..%2F${name}`, "%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "a%00.cast"]) {
        const r = await rawGet(s, `/api/recordings/${bad}`);
        expect([bad, r.status]).toEqual([bad, 400]);
        expect(r.text).not.toContain("root:x:0:0");
      }
      for (const path of ["/api/recordings/../../../../etc/passwd", "/api/recordings/%2e%2e/%2e%2e/etc/passwd"]) {
        const r = await rawGet(s, path);
        expect([path, r.status === 400 || r.status === 404]).toEqual([path, true]);
        expect(r.text).not.toContain("root:x:0:0");
      }
      for (const missing of ["notes.txt", "x.cast", recordingName(new Date(0), "nosuchsession")]) expect((await get(s, `/api/recordings/${missing}`)).status).toBe(404);
    } finally {
      await s.stop();
    }
  });

  test("without --record the routes answer 404", async () => {
    const s = await startServer();
    try {
      const r = await get(s, "/api/recordings");
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: "not_found" });
      expect((await get(s, "/api/recordings/20260101T000000Z-abc.cast")).status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});

describe("Recorder", () => {
  const meta = { sessionId: "unit", created: new Date(), cols: 80, rows: 24, command: ["sh"] };
  const env = { TERM: "xterm-256color", SHELL: "/bin/sh" };

  test("a character split across chunks is written whole; the file is valid after end()", async () => {
    const path = join(tempDir(), recordingName(meta.created, "unit"));
    const r = new Recorder({ path, maxBytes: 1 << 20, meta, env, log: () => {} });
    const euro = new TextEncoder().encode("a€b");
    r.output(euro.subarray(0, 2));
    r.output(euro.subarray(2, 3));
    r.output(euro.subarray(3));
    r.output(new Uint8Array([0xe2])); // cut off by the end: flushed as U+FFFD, not dropped silently
    r.resize(100, 40);
    await r.end();
    const { events } = parseCast(await readFile(path, "utf8"));
    expect(events.map((e) => [e[1], e[2]])).toEqual([["o", "a"], ["o", "€b"], ["r", "100x40"], ["o", "\ufffd"]]);
    expect(r.stopReason).toBe("end");
  });

  test("a write error (disk full: /dev/full) stops the recording, is logged once, and never throws", async () => {
    const logged: [string, Record<string, unknown> | undefined, string | undefined][] = [];
    const r = new Recorder({ path: "/dev/full", exclusive: false, maxBytes: 1 << 20, meta, env, log: (e, f, l) => logged.push([e, f, l]) });
    await until(() => r.stopReason === "error", 5000);
    for (let i = 0; i < 1000; i++) r.output(new TextEncoder().encode(`line ${i}\r\n`)); // ignored, cheaply
    r.resize(10, 10);
    await r.end();
    expect(r.stopReason).toBe("error");
    expect(logged).toEqual([["recording.failed", expect.objectContaining({ session: "unit", file: "/dev/full", message: expect.stringContaining("ENOSPC") }), "error"]]);
  });

  test("an existing file is never overwritten", async () => {
    const path = join(tempDir(), "exists.cast");
    writeFileSync(path, "keep me");
    const logged: string[] = [];
    const r = new Recorder({ path, maxBytes: 1 << 20, meta, env, log: (e) => logged.push(e) });
    r.output(new TextEncoder().encode("x"));
    await r.end();
    expect(await readFile(path, "utf8")).toBe("keep me");
    expect(logged).toEqual(["recording.failed"]);
  });
});
