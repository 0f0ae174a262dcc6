// The single executable end to end: build it, run it from an empty folder (no node_modules, no
// sources), then check the page, its bundled script, the health API and one shell session.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CloseCode, Paths, decodeServerMessage, type ServerMessage } from "../protocol/index.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUILD_TIMEOUT_MS = 180_000;
const URL_DEADLINE_MS = 10_000;
const STEP_DEADLINE_MS = 5_000;
const EXIT_DEADLINE_MS = 5_000;

// Bun's client takes request headers; with lib.dom loaded (for client/) TypeScript only sees the
// browser constructor, which has no options object.
const BunWebSocket = WebSocket as unknown as new (url: string, options: Bun.WebSocketOptions) => WebSocket;

let dir = "";
let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">> | null = null;
let base: URL;
/** Authenticates this test as a non-browser client with the token from the URL line. */
let auth: Record<string, string> = {};
let stderrText: Promise<string> = Promise.resolve("");
/** Where the binary put bunty-get (removed at shutdown). */
let helper = "";

/** Rejects after `ms` with a message saying what was being waited for. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Reads stdout until a line has the URL; keeps draining afterwards so the child never blocks on a full pipe. */
async function waitForUrl(stdout: ReadableStream<Uint8Array>): Promise<URL> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const found = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`bunty closed stdout before printing a URL; stdout was:\n${text}`);
      text += decoder.decode(value, { stream: true });
      const m = text.match(/http:\/\/127\.0\.0\.1:(\d+)\/(\?token=[\w-]+)?/);
      if (m) return new URL(m[0]);
    }
  })();
  try {
    const url = await within(URL_DEADLINE_MS, "the URL line on stdout", found);
    (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {});
    return url;
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  }
}

beforeAll(async () => {
  const build = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await within(BUILD_TIMEOUT_MS, "scripts/build.ts", Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited])).catch((e) => {
    build.kill("SIGKILL");
    throw e;
  });
  if (code !== 0) throw new Error(`scripts/build.ts exited with ${code}\n${out}\n${err}`);

  dir = await mkdtemp(join(tmpdir(), "bunty-binary-"));
  const bin = join(dir, "bunty");
  await copyFile(join(ROOT, "dist/bunty"), bin);
  console.log(`binary size: ${((await stat(bin)).size / 1e6).toFixed(1)} MB`);

  const started = performance.now();
  proc = Bun.spawn([bin, "--port", "0", "--", "/bin/sh"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  stderrText = new Response(proc.stderr).text();
  const printed = await waitForUrl(proc.stdout);
  const token = printed.searchParams.get("token");
  expect(token).toBeTruthy(); // secure by default: the binary prints its token in the URL
  auth = { authorization: `Bearer ${token}` };
  base = new URL("/", printed);
  console.log(`start time (spawn -> URL line): ${(performance.now() - started).toFixed(0)} ms`);
}, BUILD_TIMEOUT_MS + URL_DEADLINE_MS + 5_000);

afterAll(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGKILL");
    await within(EXIT_DEADLINE_MS, "bunty to die after SIGKILL", proc.exited).catch(() => {});
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("GET / serves the page with a bundled script that contains xterm", async () => {
  const res = await fetch(new URL(Paths.page.slice(1), base), { signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  const html = await res.text();
  const src = html.match(/<script\b[^>]*\bsrc="([^"]+)"/)?.[1];
  expect(src).toBeTruthy();

  const js = await fetch(new URL(src!, base), { signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
  expect(js.status).toBe(200);
  expect(js.headers.get("content-type")).toContain("javascript");
  expect(await js.text()).toContain("xterm");
});

test("the screen worker is embedded where server/app.ts points the screen models", async () => {
  // The executable names its main module after the outfile and puts each extra entry point at its
  // path under --root, all in /$bunfs/root/. `new URL("./core/screen-worker.ts", import.meta.url)`
  // in app.ts resolves in the bundle to /$bunfs/root/core/screen-worker.ts, which Bun maps to the
  // embedded .js. (The reattach tests below fail if the worker cannot be started.)
  const bin = Buffer.from(await Bun.file(join(dir, "bunty")).arrayBuffer());
  expect(bin.includes("/$bunfs/root/bunty")).toBe(true);
  expect(bin.includes("/$bunfs/root/core/screen-worker.js")).toBe(true);
});

test("GET /api/health answers JSON with a status", async () => {
  expect((await fetch(new URL(Paths.health.slice(1), base), { signal: AbortSignal.timeout(STEP_DEADLINE_MS) })).status).toBe(401);
  const res = await fetch(new URL(Paths.health.slice(1), base), { headers: auth, signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { status?: unknown };
  expect(body.status).toBe("ok");
});

test("a shell session over /ws: hello, output, exit code, close 1000", async () => {
  const wsUrl = new URL(Paths.socket.slice(1), base);
  wsUrl.protocol = "ws:";
  const ws = new BunWebSocket(wsUrl.href, { headers: { Origin: base.origin, ...auth } });
  ws.binaryType = "arraybuffer";

  const decoder = new TextDecoder();
  let output = "";
  const messages: ServerMessage[] = [];
  let onChange = () => {};
  /** Resolves once `ok()` holds, re-checked on every frame; fails at the deadline or on close. */
  const until = (what: string, ok: () => boolean) =>
    within(
      STEP_DEADLINE_MS,
      `${what}; output so far: ${JSON.stringify(output.slice(-300))}`,
      new Promise<void>((resolve) => {
        onChange = () => ok() && resolve();
        onChange();
      }),
    );
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") {
      const m = decodeServerMessage(ev.data);
      if (m) messages.push(m);
    } else output += decoder.decode(new Uint8Array(ev.data as ArrayBuffer), { stream: true });
    onChange();
  };
  const closed = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));

  try {
    await until("hello", () => messages.some((m) => m.type === "hello"));
    const hello = messages.find((m) => m.type === "hello")!;
    expect(hello.type === "hello" && typeof hello.session).toBe("string");

    const enc = new TextEncoder();
    ws.send(enc.encode("echo $((6*7))\r"));
    // The echoed command line contains "6*7", not "42", so "42" can only come from the shell.
    await until('"42" in the output', () => output.includes("42"));

    // The embedded bunty-get helper is on the session's PATH and offers a file for download.
    ws.send(enc.encode("printf abc > f.txt; command -v bunty-get; bunty-get f.txt\r"));
    await until("a download message", () => messages.some((m) => m.type === "download"));
    expect(messages.find((m) => m.type === "download")).toMatchObject({ type: "download", name: "f.txt", size: 3 });
    helper = output.match(/\/\S*\/bunty-bin-\w+\/bunty-get/)?.[0] ?? "";
    expect(helper).not.toBe("");

    ws.send(enc.encode("exit 5\r"));
    await until("the exit message", () => messages.some((m) => m.type === "exit"));
    expect(messages.find((m) => m.type === "exit")).toEqual({ type: "exit", code: 5, signal: null });
    const close = await within(STEP_DEADLINE_MS, "the socket to close", closed);
    expect(close.code).toBe(CloseCode.normal);
  } finally {
    if (ws.readyState !== WebSocket.CLOSED) ws.close();
  }
});

test("SIGTERM stops the binary within 5 s", async () => {
  const p = proc!;
  p.kill("SIGTERM");
  const code = await within(EXIT_DEADLINE_MS, "bunty to exit after SIGTERM", p.exited);
  if (code !== 0) console.error(await stderrText);
  expect(code).toBe(0);
  expect(await Bun.file(helper).exists()).toBe(false); // the helper's directory is removed at shutdown
});
