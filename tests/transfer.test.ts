// File transfer against a real server and real shells: uploads into the shell's current
// directory (streamed, limited, atomic, cleaned up after any failure), and downloads offered by
// `bunty-get` in a session (the OSC request, the `download` message, the file served by id).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_REQUEST_BYTES, OscWatcher } from "../server/core/osc.ts";
import { MAX_UPLOADS, UPLOAD_IDLE_TIMEOUT_MS } from "../server/web/transfer.ts";
import { startServer, TestClient, until, type TestServer } from "./harness.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const dirs: string[] = [];
const freshDir = () => {
  dirs.push(mkdtempSync(join(tmpdir(), "bunty-xfer-")));
  return dirs.at(-1)!;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
/** Files bunty left behind: its temp files are `.NAME.bunty-XXXXXX.part`. */
const partFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".part"));

function put(s: TestServer, session: string, name: string, body: BodyInit | null, opts: { overwrite?: boolean; headers?: Record<string, string> } = {}) {
  const q = new URLSearchParams({ name });
  if (opts.overwrite) q.set("overwrite", "1");
  return fetch(new URL(`/api/sessions/${session}/files?${q}`, s.url), { method: "PUT", body, headers: { origin: s.origin, ...s.auth, ...opts.headers }, signal: AbortSignal.timeout(20_000) });
}

/**
 * Swaps `dir` for a symlink to `other` and back as fast as it can, until the file `stop` exists:
 * rename `dir` away, symlink `dir` -> `other`, remove the symlink, rename it back (finding 13's
 * attack). Stops after a whole cycle, so `dir` is a directory again; prints the cycles made.
 */
const SWAPPER = `
const { existsSync, renameSync, symlinkSync, unlinkSync, writeFileSync } = require("node:fs");
const [dir, other, away, stop, ready] = process.argv.slice(-5);
let n = 0;
while (!existsSync(stop)) {
  renameSync(dir, away);
  symlinkSync(other, dir);
  unlinkSync(dir);
  renameSync(away, dir);
  if (++n === 100) writeFileSync(ready, ""); // swapping for real: the uploads may start
}
console.log(n);
`;

/** What a process has open (the targets of its /proc/PID/fd links). */
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((fd) => {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return "";
  }
});

/** A shell session whose current directory is `dir`. */
async function shellIn(s: TestServer, dir: string): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.open(s);
  c.type(`cd '${dir}' && echo "in-$((20+1))"\r`);
  expect(await c.waitFor(/in-21/)).toBe(true);
  return { c, id: c.hello()!.session };
}

/** An HTTP request over a raw socket, headers and the first part of the body only; the socket is left open. */
async function partialPut(s: TestServer, session: string, name: string, length: number, sent: Uint8Array): Promise<{ sock: Socket; answer: () => string }> {
  const sock = connect(Number(s.url.port), s.url.hostname);
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  let answer = "";
  sock.on("data", (d) => (answer += d.toString("latin1")));
  sock.on("error", () => {});
  sock.write(`PUT /api/sessions/${session}/files?name=${encodeURIComponent(name)} HTTP/1.1\r\nHost: ${s.url.host}\r\nAuthorization: Bearer ${s.token}\r\nContent-Length: ${length}\r\n\r\n`);
  sock.write(sent);
  return { sock, answer: () => answer };
}

describe("OscWatcher (the output scan)", () => {
  const req = (path: string) => `\x1b]5379;get;${Buffer.from(path).toString("base64")}\x07`;
  const run = (chunks: (string | Uint8Array)[]) => {
    const got: string[] = [];
    const w = new OscWatcher((p) => got.push(p.toString()));
    for (const c of chunks) w.push(typeof c === "string" ? Buffer.from(c) : c);
    return got;
  };

  test("finds a request in one chunk, several in a chunk, none in plain or coloured output", () => {
    expect(run([`before${req("/a")}after`])).toEqual([`get;${Buffer.from("/a").toString("base64")}`]);
    expect(run([`${req("/a")}x${req("/b")}`]).length).toBe(2);
    expect(run(["\x1b[32mgreen\x1b[0m \x1b]0;title\x07 \x1b]53;x\x07 \x1b]5379"])).toEqual([]);
  });

  test("a request split at every possible place is found exactly once", () => {
    const text = `ab\x1b[1m${req("/tmp/some file.txt")}cd`;
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 1), Math.min(text.length, i + 5)]) {
        const got = run([text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(got).toEqual([`get;${Buffer.from("/tmp/some file.txt").toString("base64")}`]);
      }
    }
  });

  test("an unterminated or oversized request is dropped, and later ones still work", () => {
    const long = `\x1b]5379;get;${"A".repeat(MAX_REQUEST_BYTES)}\x07`;
    expect(run([long.slice(0, 5000), long.slice(5000), req("/ok")])).toEqual([`get;${Buffer.from("/ok").toString("base64")}`]);
    expect(run([long, req("/ok")])).toEqual([`get;${Buffer.from("/ok").toString("base64")}`]);
    expect(run(["\x1b]5379;get;abc", "x".repeat(20_000), req("/ok")])).toEqual([`get;${Buffer.from("/ok").toString("base64")}`]);
  });
});

describe("uploads", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ args: ["--log-level", "info"] });
  });
  afterAll(async () => {
    await s.stop();
  });

  test("a 3 MB upload lands in the shell's current directory, byte for byte", async () => {
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    const data = randomBytes(3_000_000);
    const r = await put(s, id, "random.bin", data);
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ name: "random.bin", path: join(dir, "random.bin"), size: 3_000_000 });
    expect(sha256(readFileSync(join(dir, "random.bin")))).toBe(sha256(data));
    expect(partFiles(dir)).toEqual([]);
    c.type("sha256sum random.bin\r");
    expect(await c.waitFor(new RegExp(`${sha256(data)}  random.bin`))).toBe(true);
    // The shell moves on: the next upload follows it.
    mkdirSync(join(dir, "sub dir"));
    c.type("cd 'sub dir'\r");
    await Bun.sleep(200);
    const r2 = await put(s, id, "été ü.txt", "hello\n");
    expect(r2.status).toBe(201);
    expect(readFileSync(join(dir, "sub dir", "été ü.txt"), "utf8")).toBe("hello\n");
    expect(s.stderr()).toMatch(/info file\.uploaded session=\S+ name=random\.bin size=3000000/);
    c.close();
  }, 30_000);

  test("bad names are refused with 400 and a reason", async () => {
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    for (const [name, reason] of [["", /required/], [".", /cannot be/], ["..", /cannot be/], ["a/b", /without '\/'/], ["../x", /without '\/'/], ["a\0b", /NUL/], ["x".repeat(256), /longer than 255 bytes/]] as const) {
      const r = await put(s, id, name, "data");
      expect(r.status).toBe(400);
      const body = await r.json();
      expect(body.error).toBe("bad_name");
      expect(body.message).toMatch(reason);
    }
    expect(readdirSync(dir)).toEqual([]);
    c.close();
  }, 30_000);

  test("an existing name is 409 (the file untouched), overwrite=1 replaces it", async () => {
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    writeFileSync(join(dir, "keep.txt"), "original");
    const r = await put(s, id, "keep.txt", "new content");
    expect(r.status).toBe(409);
    expect(await r.json()).toEqual({ error: "exists", message: `keep.txt exists in ${dir}` });
    expect(readFileSync(join(dir, "keep.txt"), "utf8")).toBe("original");
    const r2 = await put(s, id, "keep.txt", "new content", { overwrite: true });
    expect(r2.status).toBe(201);
    expect(readFileSync(join(dir, "keep.txt"), "utf8")).toBe("new content");
    mkdirSync(join(dir, "adir"));
    expect((await put(s, id, "adir", "x", { overwrite: true })).status).toBe(409);
    expect(partFiles(dir)).toEqual([]);
    c.close();
  }, 30_000);

  test("unknown session 404, foreign Origin 403, no credentials 401", async () => {
    const r = await put(s, "nosuchsession", "a.txt", "x");
    expect(r.status).toBe(404);
    expect((await r.json()).error).toBe("not_found");
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    const f = await put(s, id, "a.txt", "x", { headers: { origin: "https://evil.example" } });
    expect(f.status).toBe(403);
    expect((await f.json()).message).toContain("does not match this server");
    const u = await fetch(new URL(`/api/sessions/${id}/files?name=a.txt`, s.url), { method: "PUT", body: "x", headers: { origin: s.origin } });
    expect(u.status).toBe(401);
    expect(readdirSync(dir)).toEqual([]);
    c.close();
  }, 30_000);

  test("a client that vanishes mid-body, or stalls, leaves no file; the server keeps answering", async () => {
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    const gone = await partialPut(s, id, "gone.bin", 1_000_000, randomBytes(300_000));
    const stalled = await partialPut(s, id, "stalled.bin", 1_000_000, randomBytes(300_000));
    await until(() => partFiles(dir).length === 2, 3000);
    expect(partFiles(dir).length).toBe(2); // both are being written
    gone.sock.destroy();
    expect(await until(() => partFiles(dir).length === 1, 3000)).toBe(true);
    const t0 = Date.now();
    expect((await s.health()).status).toBe("ok");
    expect(Date.now() - t0).toBeLessThan(500);
    // The stalled one is aborted by the idle deadline: 408, temp file removed.
    expect(await until(() => stalled.answer().length > 0, UPLOAD_IDLE_TIMEOUT_MS + 5000)).toBeTruthy();
    expect(stalled.answer()).toMatch(/^HTTP\/1\.1 408/);
    expect(stalled.answer()).toContain("no data for");
    stalled.sock.destroy();
    expect(await until(() => readdirSync(dir).length === 0, 3000)).toBe(true);
    c.close();
  }, 30_000);

  test("finding 13: uploads while the directory is swapped for a symlink again and again all land in it; no .part file is left", async () => {
    const base = freshDir();
    const [dir, other, away, stop, ready] = ["D", "E", "D.away", "stop", "ready"].map((n) => join(base, n)) as [string, string, string, string, string];
    mkdirSync(dir);
    mkdirSync(other);
    const { c, id } = await shellIn(s, dir);
    const swapper = Bun.spawn([process.execPath, "-e", SWAPPER, dir, other, away, stop, ready], { stdout: "pipe", stderr: "inherit" });
    const UPLOADS = 200;
    const statuses: number[] = [];
    let next = 0;
    try {
      // The uploads start once the swapper has swapped 100 times (on a loaded host its start alone
      // took longer than all 200 uploads, and the test saw 0 swaps). Inside the try: a swapper that
      // never gets ready is stopped too.
      expect(await until(() => existsSync(ready), 15_000)).toBe(true);
      // MAX_UPLOADS at a time (more would be 503), each a different name.
      await Promise.all(Array.from({ length: MAX_UPLOADS }, async () => {
        while (next < UPLOADS) {
          const i = next++;
          const r = await put(s, id, `up-${i}.txt`, `upload ${i}\n`.repeat(1000));
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }));
    } finally {
      writeFileSync(stop, "");
      await Promise.race([swapper.exited, Bun.sleep(5000)]);
      swapper.kill();
    }
    const cycles = Number(await new Response(swapper.stdout as ReadableStream).text());
    expect(cycles).toBeGreaterThan(200); // the swap really ran while the uploads did (100 more after they started)
    expect(lstatSync(dir).isDirectory()).toBe(true);
    expect(existsSync(away)).toBe(false);
    // Nothing went through the symlink, and nothing was left behind.
    expect(readdirSync(other)).toEqual([]);
    expect(partFiles(dir)).toEqual([]);
    // Every upload landed where the shell is, whole.
    expect(statuses.filter((x) => x !== 201)).toEqual([]);
    expect(readdirSync(dir).length).toBe(UPLOADS);
    for (let i = 0; i < UPLOADS; i += 37) expect(readFileSync(join(dir, `up-${i}.txt`), "utf8")).toBe(`upload ${i}\n`.repeat(1000));
    // Every descriptor of the directory (one per upload) was closed.
    expect(await until(() => openFiles(s.pid).every((f) => !f.startsWith(dir)), 3000)).toBe(true);
    c.close();
  }, 60_000);

  test("finding 13: uploads interrupted (socket destroyed, idle timeout) after their directory was swapped for a symlink leave no .part file", async () => {
    const base = freshDir();
    const [dir, other, away] = ["D", "E", "D.away"].map((n) => join(base, n)) as [string, string, string];
    mkdirSync(dir);
    mkdirSync(other);
    const { c, id } = await shellIn(s, dir);
    const gone = await partialPut(s, id, "gone.bin", 1_000_000, randomBytes(300_000));
    const stalled = await partialPut(s, id, "stalled.bin", 1_000_000, randomBytes(300_000));
    expect(await until(() => partFiles(dir).length === 2, 3000)).toBe(true);
    // The directory moves; its old path now leads somewhere else.
    renameSync(dir, away);
    symlinkSync(other, dir);
    try {
      gone.sock.destroy();
      expect(await until(() => partFiles(away).length === 1, 3000)).toBe(true);
      expect(await until(() => stalled.answer().length > 0, UPLOAD_IDLE_TIMEOUT_MS + 5000)).toBeTruthy();
      expect(stalled.answer()).toMatch(/^HTTP\/1\.1 408/);
      stalled.sock.destroy();
      expect(await until(() => readdirSync(away).length === 0, 3000)).toBe(true);
      expect(readdirSync(other)).toEqual([]);
    } finally {
      unlinkSync(dir);
      renameSync(away, dir);
    }
    c.close();
  }, 30_000);

  test(`more than ${MAX_UPLOADS} uploads at once: 503`, async () => {
    const dir = freshDir();
    const { c, id } = await shellIn(s, dir);
    const open = [];
    for (let i = 0; i < MAX_UPLOADS; i++) open.push(await partialPut(s, id, `f${i}`, 100_000, randomBytes(1000)));
    await until(() => partFiles(dir).length === MAX_UPLOADS, 3000);
    const r = await put(s, id, "one-more", "x");
    expect(r.status).toBe(503);
    expect((await r.json()).message).toContain("uploads are already in progress");
    for (const o of open) o.sock.destroy();
    expect(await until(() => readdirSync(dir).length === 0, 3000)).toBe(true);
    expect((await put(s, id, "now.txt", "ok")).status).toBe(201);
    c.close();
  }, 30_000);

  test("API bodies other than uploads are limited (413)", async () => {
    const r = await fetch(new URL("/api/sessions", s.url), { method: "POST", body: JSON.stringify({ pad: "x".repeat(2 << 20) }), headers: { origin: s.origin, "content-type": "application/json", ...s.auth } });
    expect(r.status).toBe(413);
    expect((await r.json()).error).toBe("too_large");
    // Without a length (chunked), a body could not be limited before it is read: refused.
    const chunked = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("{}")); c.close(); } });
    const r2 = await fetch(new URL("/api/sessions", s.url), { method: "POST", body: chunked, headers: { origin: s.origin, "content-type": "application/json", ...s.auth } });
    expect(r2.status).toBe(411);
    expect((await r2.json()).error).toBe("length_required");
    expect((await fetch(new URL("/api/health", s.url), { headers: s.auth })).status).toBe(200);
  });
});

describe("upload limits and modes", () => {
  test("--upload-max-bytes: 413 by Content-Length and while streaming without one; nothing left behind", async () => {
    const s = await startServer({ args: ["--upload-max-bytes", "1000000"] });
    try {
      const dir = freshDir();
      const { c, id } = await shellIn(s, dir);
      const r = await put(s, id, "big.bin", randomBytes(2_000_000));
      expect(r.status).toBe(413);
      expect((await r.json()).message).toContain("upload limit of 1000000 bytes");
      // No Content-Length (chunked): the count is enforced as the bytes arrive.
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent >= 3_000_000) return ctl.close();
          sent += 100_000;
          ctl.enqueue(randomBytes(100_000));
        },
      });
      const r2 = await put(s, id, "streamed.bin", stream).catch((e) => e as Error);
      if (r2 instanceof Response) {
        expect(r2.status).toBe(413);
        expect((await r2.json()).error).toBe("too_large");
      } // else the server closed the connection while we were still sending, which is also a refusal
      expect(await until(() => readdirSync(dir).length === 0, 3000)).toBe(true);
      expect(s.stderr()).toMatch(/http\.refused .*status=413/);
      // Exactly the limit is fine.
      expect((await put(s, id, "max.bin", randomBytes(1_000_000))).status).toBe(201);
      c.close();
    } finally {
      await s.stop();
    }
  }, 30_000);

  test("--upload-max-bytes 0 and --readonly refuse uploads (403)", async () => {
    const off = await startServer({ args: ["--upload-max-bytes", "0"] });
    try {
      const { c, id } = await shellIn(off, freshDir());
      const r = await put(off, id, "a.txt", "x");
      expect(r.status).toBe(403);
      expect((await r.json()).message).toContain("uploads are off");
      c.close();
    } finally {
      await off.stop();
    }
    const ro = await startServer({ args: ["--readonly"] });
    try {
      const created = await fetch(new URL("/api/sessions", ro.url), { method: "POST", body: "{}", headers: { origin: ro.origin, "content-type": "application/json", ...ro.auth } });
      const { id } = await created.json();
      const r = await put(ro, id, "a.txt", "x");
      expect(r.status).toBe(403);
      expect((await r.json()).message).toContain("read-only");
    } finally {
      await ro.stop();
    }
  }, 30_000);

  test("--no-file-transfer: both routes 403, no bunty-get on PATH", async () => {
    const s = await startServer({ args: ["--no-file-transfer"] });
    try {
      const { c, id } = await shellIn(s, freshDir());
      const r = await put(s, id, "a.txt", "x");
      expect(r.status).toBe(403);
      expect((await r.json()).message).toContain("--no-file-transfer");
      const g = await fetch(new URL(`/api/sessions/${id}/downloads/abc`, s.url), { headers: s.auth });
      expect(g.status).toBe(403);
      c.type('command -v bunty-get || echo "no-helper-$((1+1))"\r');
      expect(await c.waitFor(/no-helper-2/)).toBe(true);
      c.close();
    } finally {
      await s.stop();
    }
  }, 30_000);
});

describe("downloads (bunty-get)", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ args: ["--log-level", "debug"] });
  });
  afterAll(async () => {
    await s.stop();
  });

  test("bunty-get FILE offers it to the session's clients that may type; GET serves the exact bytes as an attachment", async () => {
    const dir = freshDir();
    const data = randomBytes(1_500_000);
    writeFileSync(join(dir, "report ü.bin"), data);
    const { c, id } = await shellIn(s, dir);
    const second = await TestClient.open(s, `?session=${id}`); // another write-mode client (it becomes the writer)
    c.type("bunty-get 'report ü.bin'\r");
    expect(await until(() => c.find("download"), 5000)).toBeTruthy();
    const d = c.find("download")!;
    expect(d).toMatchObject({ type: "download", name: "report ü.bin", size: 1_500_000 });
    expect(await until(() => second.find("download")?.id === d.id, 3000)).toBe(true);
    expect(await c.waitFor(/bunty-get: offered .*report ü\.bin for download/)).toBe(true);
    const r = await fetch(new URL(`/api/sessions/${id}/downloads/${d.id}`, s.url), { headers: s.auth });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="report _.bin"; filename*=UTF-8''report%20%C3%BC.bin`);
    expect(r.headers.get("content-length")).toBe("1500000");
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(sha256(data));
    // Another session cannot use the id; an unknown id is 404.
    const other = await TestClient.open(s);
    expect((await fetch(new URL(`/api/sessions/${other.hello()!.session}/downloads/${d.id}`, s.url), { headers: s.auth })).status).toBe(404);
    expect((await fetch(new URL(`/api/sessions/${id}/downloads/nosuchid`, s.url), { headers: s.auth })).status).toBe(404);
    // And without credentials there is nothing.
    expect((await fetch(new URL(`/api/sessions/${id}/downloads/${d.id}`, s.url))).status).toBe(401);
    for (const x of [c, second, other]) x.close();
  }, 30_000);

  test("finding 12: a view-only client never gets a download offer; the writer does", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "somefile"), "secret-ish\n");
    const { c, id } = await shellIn(s, dir);
    const viewer = await TestClient.open(s, `?session=${id}&mode=view`);
    expect(viewer.hello()).toMatchObject({ mode: "view", writer: false });
    c.type("bunty-get somefile\r");
    expect(await until(() => c.find("download"), 5000)).toBeTruthy();
    expect(c.find("download")).toMatchObject({ type: "download", name: "somefile", size: 11 });
    // The viewer sees the output that follows the offer, and the offer is never among its messages.
    c.type('echo "after-$((6*7))"\r');
    expect(await viewer.waitFor(/after-42/)).toBe(true);
    expect(await viewer.waitFor(/bunty-get: offered .*somefile for download/)).toBe(true);
    await Bun.sleep(300);
    expect(viewer.messages.filter((m) => m.type === "download")).toEqual([]);
    c.close();
    viewer.close();
  }, 30_000);

  test("bunty-get refuses directories and missing files on stderr (exit 1); forged requests for them give no message", async () => {
    const dir = freshDir();
    const { c } = await shellIn(s, dir);
    c.type('bunty-get .; echo "rc=$?"; bunty-get nothere; echo "rc=$?"\r');
    expect(await c.waitFor(/bunty-get: \.: is a directory\s+rc=1[\s\S]*bunty-get: nothere: no such file\s+rc=1/)).toBe(true);
    // The same requests printed by hand (any program output can), and a relative path and junk.
    const b64 = (p: string) => Buffer.from(p).toString("base64");
    for (const p of [dir, join(dir, "missing"), "relative/path", "/dev/null"]) c.type(`printf '\\033]5379;get;%s\\007' '${b64(p)}'\r`);
    c.type(`printf '\\033]5379;get;not*base64\\007\\033]5379;put;x\\007'; echo "forged-$((3+4))"\r`);
    expect(await c.waitFor(/forged-7/)).toBe(true);
    await Bun.sleep(300);
    expect(c.find("download")).toBeUndefined();
    expect(s.stderr()).toMatch(/debug file\.get_ignored .*reason="not a regular file"/);
    c.close();
  }, 30_000);

  test("$BUNTY_GET names the helper (for login shells that reset PATH)", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "x.txt"), "abc");
    const { c } = await shellIn(s, dir);
    c.type('PATH=/usr/bin:/bin "$BUNTY_GET" x.txt\r');
    expect(await until(() => c.find("download"), 5000)).toBeTruthy();
    expect(c.find("download")).toMatchObject({ name: "x.txt", size: 3 });
    c.close();
  }, 30_000);
});
