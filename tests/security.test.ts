// Each attack is refused, and the server goes on serving everyone else. Real server, real
// sockets (raw TCP where a well-behaved client would not send the request), real shells.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_FAILURES } from "../server/web/auth.ts";
import { BUN, ROOT, startServer, TestClient, until, type TestServer } from "./harness.ts";
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

/** Everyone else is still served: the bystander's shell answers, and health too. */
async function othersUnharmed(tag: string) {
  bystander.type(`echo ok-${tag}-$((20+22))\r`);
  expect(await bystander.waitFor(new RegExp(`ok-${tag}-42`))).toBe(true);
  expect((await server.health()).status).toBe("ok");
}

/** Sends a raw request line + headers; returns the status and the whole answer. */
async function raw(s: TestServer, head: string): Promise<{ status: number; text: string }> {
  const w = new RawWs(Number(s.url.port));
  await w.connected();
  let text = "";
  w.sock.removeAllListeners("data");
  w.sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  w.sock.write(head);
  await until(() => /\r\n\r\n/.test(text) || w.ended, 5000);
  await Bun.sleep(50);
  w.sock.destroy();
  return { status: Number(text.slice(9, 12)), text };
}

const upgrade = async (s: TestServer, path: string, origin: string | null, token: string | null) => {
  const r = await raw(s, RawWs.request(Number(s.url.port), path, origin, token));
  return r.status;
};

describe("authentication", () => {
  test("no token, a wrong token, a token of the wrong length: refused on HTTP and on the WebSocket", async () => {
    // Its own server: these failures count toward the per-address limit, and all tests come from 127.0.0.1.
    const s = await startServer();
    try {
      const wrong = s.token!.replace(/^./, (c) => (c === "a" ? "b" : "a"));
      for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${wrong}` }, { authorization: "Bearer x" }, { authorization: `Bearer ${s.token}${s.token}` }]) {
        const r = await fetch(new URL("/api/sessions", s.url), { headers });
        expect(r.status).toBe(401);
        expect(JSON.stringify(await r.json())).not.toContain(s.token!);
      }
      expect((await fetch(new URL(`/api/health?token=${wrong}`, s.url))).status).toBe(401);
      expect(await upgrade(s, "/ws", s.origin, null)).toBe(401);
      expect(await upgrade(s, "/ws", s.origin, wrong)).toBe(401);
      expect(await upgrade(s, "/ws", s.origin, "short")).toBe(401);
      expect(await upgrade(s, `/ws?token=${s.token}`, s.origin, null)).toBe(101); // the query form works too
    } finally {
      await s.stop();
    }
    await othersUnharmed("tokens");
  });

  test("the browser trades the token for a sign-in: an HttpOnly, SameSite=Strict cookie and a proof; only the two together work, and not without an Origin", async () => {
    const r = await fetch(new URL("/api/auth", server.url), { method: "POST", headers: { ...server.auth, origin: server.origin } as Record<string, string> });
    expect(r.status).toBe(200);
    const cookie = r.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^bunty_sid=[\w.-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/);
    expect(cookie).not.toContain(server.token!);
    const { proof } = await r.json();
    expect(proof).toMatch(/^[\w-]{20,}$/);
    const pair = cookie.split(";")[0]!;
    expect((await fetch(new URL("/api/sessions", server.url), { headers: { cookie: pair, "x-bunty-proof": proof } })).status).toBe(200);
    expect((await fetch(new URL("/api/sessions", server.url), { headers: { cookie: pair } })).status).toBe(401); // the cookie alone is not enough
    expect((await fetch(new URL("/api/sessions", server.url), { headers: { cookie: pair, "x-bunty-proof": `${proof}x` } })).status).toBe(401);
    expect((await fetch(new URL("/api/sessions", server.url), { headers: { cookie: "bunty_sid=forged", "x-bunty-proof": proof } })).status).toBe(401);
    // A sign-in rides along with any request a browser makes; without an Origin it is not a browser, so it must show the token itself.
    const port = Number(server.url.port);
    const head = RawWs.request(port, `/ws?proof=${proof}`, null).replace("\r\n\r\n", `\r\nCookie: ${pair}\r\n\r\n`);
    expect((await raw(server, head)).status).toBe(403);
    const withOrigin = RawWs.request(port, `/ws?proof=${proof}`, server.origin).replace("\r\n\r\n", `\r\nCookie: ${pair}\r\n\r\n`);
    expect((await raw(server, withOrigin)).status).toBe(101);
  });

  test("wrong tokens from one address past the budget are slowed to one a second; the right token still gets in; signed-in clients are not affected", async () => {
    const s = await startServer();
    try {
      const c = await TestClient.open(s);
      const r = await fetch(new URL("/api/auth", s.url), { method: "POST", headers: { ...s.auth, origin: s.origin } });
      const signedIn = { cookie: r.headers.get("set-cookie")!.split(";")[0]!, "x-bunty-proof": (await r.json()).proof };
      const statuses: number[] = [];
      for (let i = 0; i < MAX_FAILURES; i++) statuses.push((await fetch(new URL("/api/health", s.url), { headers: { authorization: `Bearer guess-${i}-xxxxxxxx` } })).status);
      expect(statuses).toEqual(Array(MAX_FAILURES).fill(401));
      // Past the budget each further guess waits its turn: about one a second.
      const t = performance.now();
      for (let i = 0; i < 3; i++) expect((await fetch(new URL("/api/health", s.url), { headers: { authorization: `Bearer more-${i}-xxxxxxxx` } })).status).toBe(401);
      expect(performance.now() - t).toBeGreaterThan(1800);
      // The right token is never refused for earlier failures (it waits at most its turn)...
      expect((await fetch(new URL("/api/health", s.url), { headers: s.auth })).status).toBe(200);
      // ...and a browser already signed in, and an open session, go on at once.
      const t2 = performance.now();
      expect((await fetch(new URL("/api/health", s.url), { headers: signedIn })).status).toBe(200);
      expect(performance.now() - t2).toBeLessThan(500);
      c.type("echo still-$((2*2))\r");
      expect(await c.waitFor(/still-4/)).toBe(true);
      expect(s.output()).not.toContain(`guess-3`); // attempts are logged without the secret offered
      c.close();
    } finally {
      await s.stop();
    }
  });

  test("basic auth: a wrong password is refused with a prompt; the right one works, for the page too", async () => {
    const s = await startServer({ args: ["--no-token", "-c", "alice:s3cret pass"] });
    try {
      const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}` });
      const page = await fetch(s.url);
      expect(page.status).toBe(401);
      expect(page.headers.get("www-authenticate")).toContain("Basic");
      expect((await fetch(new URL("/api/health", s.url), { headers: basic("alice", "wrong") })).status).toBe(401);
      expect((await fetch(new URL("/api/health", s.url), { headers: basic("bob", "s3cret pass") })).status).toBe(401);
      expect((await fetch(new URL("/api/health", s.url), { headers: basic("alice", "s3cret pass") })).status).toBe(200);
      expect((await fetch(s.url, { headers: basic("alice", "s3cret pass") })).status).toBe(200);
      expect(s.output()).not.toContain("s3cret");
    } finally {
      await s.stop();
    }
  });

  test("a trusted proxy's user header (the proxy shows its secret) authenticates, and the program learns the user", async () => {
    const secretFile = join(mkdtempSync(join(tmpdir(), "bunty-proxy-")), "secret");
    await Bun.write(secretFile, "proxy-secret-0123456789abcdef\n");
    const s = await startServer({ args: ["--no-token", "--auth-header", "X-Forwarded-User", "--proxy-secret-file", secretFile] });
    try {
      expect((await fetch(new URL("/api/health", s.url))).status).toBe(401);
      expect((await fetch(new URL("/api/health", s.url), { headers: { "X-Forwarded-User": "mallory" } })).status).toBe(401); // not from the proxy
      const c = new TestClient(s, "", { "X-Forwarded-User": "carol", "X-Bunty-Proxy-Secret": "proxy-secret-0123456789abcdef" });
      expect(await until(() => c.hello(), 5000)).toBeTruthy();
      c.type("echo user=$BUNTY_USER\r");
      expect(await c.waitFor(/user=carol/)).toBe(true);
      c.close();
    } finally {
      await s.stop();
    }
  });

  test("binding beyond loopback without authentication refuses to start; --no-auth starts with a loud warning", async () => {
    const run = Bun.spawnSync([BUN, join(ROOT, "server/main.ts"), "-i", "0.0.0.0", "--no-token", "--port", "0"], { env: { PATH: process.env.PATH! }, timeout: 10_000 });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toContain("refusing to serve a shell on 0.0.0.0 without authentication");
    const p = Bun.spawn([BUN, join(ROOT, "server/main.ts"), "-i", "0.0.0.0", "--no-token", "--no-auth", "--port", "0"], { env: { PATH: process.env.PATH! }, stdout: "pipe", stderr: "pipe" });
    let err = "";
    void (async () => {
      for await (const c of p.stderr as ReadableStream<Uint8Array>) err += new TextDecoder().decode(c);
    })();
    const warned = await until(() => err.includes("NO AUTHENTICATION"), 5000);
    p.kill("SIGKILL");
    await p.exited;
    expect(warned).toBe(true);
  });
});

describe("view-only access", () => {
  test("a share link attaches view-only to its one session without the token; input is refused and the client told", async () => {
    const w = await TestClient.open(server);
    const id = w.hello()!.session;
    const share = await (await fetch(new URL(`/api/sessions/${id}/share`, server.url), { method: "POST", headers: { ...server.auth, origin: server.origin } })).json();
    expect(share.path).toMatch(/^\/\?session=[\w-]+&mode=view&share=[\w-]+$/);
    const grant = new URL(share.path, server.url).searchParams.get("share")!;
    const v = new TestClient({ ...server, auth: {} }, `?session=${id}&share=${grant}&mode=write`);
    expect(await until(() => v.hello(), 5000)).toBeTruthy();
    expect(v.hello()).toMatchObject({ mode: "view", writer: false });
    v.type("echo from-share\r");
    expect(await until(() => v.messages.find((m) => m.type === "error" && m.code === "read_only"), 3000)).toBeTruthy();
    w.type("echo seen-by-$((1+1))\r");
    expect(await v.waitFor(/seen-by-2/)).toBe(true);
    expect(w.plain()).not.toContain("from-share");
    // The grant is for that session only, and cannot be forged.
    const other = await TestClient.open(server);
    expect(await upgrade(server, `/ws?session=${other.hello()!.session}&share=${grant}`, server.origin, null)).toBe(403);
    expect(await upgrade(server, `/ws?session=${id}&share=${grant.slice(1)}x`, server.origin, null)).toBe(403);
    expect((await fetch(new URL(`/api/sessions?share=${grant}`, server.url))).status).toBe(401); // not an API credential
    for (const c of [w, v, other]) c.close();
  });

  test("-R: every client is view-only, input is dropped and the client is told", async () => {
    const s = await startServer({ args: ["-R"] });
    try {
      expect(s.output()).toContain("read-only");
      const c = await TestClient.open(s);
      expect(c.hello()).toMatchObject({ mode: "view", writer: false });
      c.type("touch /tmp/should-not-exist-$$\r");
      expect(await until(() => c.messages.find((m) => m.type === "error" && m.code === "read_only"), 3000)).toBeTruthy();
      c.control({ type: "take" });
      c.close();
    } finally {
      await s.stop();
    }
  });
});

describe("hostile requests", () => {
  test("a foreign Origin is refused with 403 before the upgrade", async () => {
    expect(await upgrade(server, "/ws", "http://evil.example", server.token)).toBe(403);
    expect((await fetch(new URL("/api/sessions", server.url), { method: "POST", body: "{}", headers: { ...server.auth, "content-type": "application/json", origin: "http://evil.example" } })).status).toBe(403);
    await othersUnharmed("origin");
  });

  test.each([
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "/server/main.ts",
    "/package.json",
    "/client/main.ts",
    "//etc/passwd",
  ])("a path outside the bundled files (%s) finds nothing", async (path) => {
    const r = await raw(server, `GET ${path} HTTP/1.1\r\nHost: ${server.url.host}\r\nAuthorization: Bearer ${server.token}\r\nConnection: close\r\n\r\n`);
    expect([400, 404]).toContain(r.status);
    expect(r.text).not.toContain("root:x:0:0");
    expect(r.text).not.toContain('"name": "bunty"');
    expect(r.text).not.toContain("import ");
  });

  test("oversized headers are refused and the server goes on", async () => {
    const r = await raw(server, `GET /api/health HTTP/1.1\r\nHost: ${server.url.host}\r\nX-Big: ${"a".repeat(256 * 1024)}\r\n\r\n`);
    expect(r.status === 431 || r.status === 400 || r.status === 0).toBe(true);
    await othersUnharmed("headers");
  });

  test("responses carry the security headers; no secret in the page, the API or the logs", async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval';"); // WebAssembly for the sixel decoder; no eval
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    expect(html).not.toContain(server.token!);
    const script = html.match(/src="([^"]+)"/)![1]!;
    expect(await (await fetch(new URL(script, server.url))).text()).not.toContain(server.token!);
    for (const path of ["/api/health", "/api/sessions", "/openapi/json"]) {
      const r = await fetch(new URL(path, server.url), { headers: server.auth });
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await r.text()).not.toContain(server.token!);
    }
    // The URL line is the one place the token appears.
    expect(server.output().split(server.token!).length - 1).toBe(1);
    bystander.type("echo token=[$BUNTY_TOKEN]\r");
    expect(await bystander.waitFor(/token=\[\]/)).toBe(true); // programs never see it
  });

  test("--allow-embed lifts the frame refusal", async () => {
    const s = await startServer({ args: ["--allow-embed"] });
    try {
      const r = await fetch(s.url);
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors *");
      expect(r.headers.get("x-frame-options")).toBeNull();
    } finally {
      await s.stop();
    }
  });
});

describe("limits", () => {
  test("-m: past the client limit new sockets get 503; -o serves one client and exits when its session ends", async () => {
    const s = await startServer({ args: ["-m", "1"] });
    try {
      const a = await TestClient.open(s);
      expect(await upgrade(s, "/ws", s.origin, s.token)).toBe(503);
      a.close();
      await until(async () => (await s.health()).clients === 0, 3000);
      expect(await upgrade(s, "/ws", s.origin, s.token)).toBe(101);
    } finally {
      await s.stop();
    }
    const once = await startServer({ args: ["-o", "--grace", "0"] });
    const c = await TestClient.open(once);
    expect(await upgrade(once, "/ws", once.origin, once.token)).toBe(503);
    c.type("exit 0\r");
    const code = await Promise.race([once.proc.exited, Bun.sleep(8000).then(() => "still running")]);
    expect(code).toBe(0);
  });

  test("--exit-no-conn: the server exits when its last client disconnects", async () => {
    const s = await startServer({ args: ["--exit-no-conn"] });
    const a = await TestClient.open(s);
    const b = await TestClient.open(s);
    a.close();
    await Bun.sleep(500);
    expect(s.proc.exitCode).toBeNull(); // one client left
    b.close();
    const code = await Promise.race([s.proc.exited, Bun.sleep(8000).then(() => "still running")]);
    expect(code).toBe(0);
  });

  test("-a: ?arg= values are appended as argv, never through a shell, within the limits", async () => {
    const s = await startServer({ args: ["-a"], command: ["printf", "[%s]\\n"] });
    try {
      const c = await TestClient.open(s, `?arg=${encodeURIComponent("a b")}&arg=${encodeURIComponent("$(id);rm -rf /")}`);
      expect(await c.waitFor(/\[a b\]\n\[\$\(id\);rm -rf \/\]/)).toBe(true);
      const many = Array.from({ length: 17 }, (_, i) => `arg=${i}`).join("&");
      expect(await upgrade(s, `/ws?${many}`, s.origin, s.token)).toBe(400);
      expect(await upgrade(s, `/ws?arg=${"x".repeat(300)}`, s.origin, s.token)).toBe(400);
    } finally {
      await s.stop();
    }
    const plain = await startServer({ command: ["printf", "[%s]\\n", "fixed"] });
    try {
      const c = await TestClient.open(plain, "?arg=injected");
      expect(await c.waitFor(/\[fixed\]/)).toBe(true);
      expect(c.plain()).not.toContain("injected"); // without -a, URL arguments do nothing
    } finally {
      await plain.stop();
    }
  });
});

test("--tls-ca: only clients with a certificate signed by that CA get in", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunty-mtls-"));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => expect(Bun.spawnSync(["openssl", ...args], { timeout: 30_000, stderr: "pipe" }).exitCode).toBe(0);
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", f("ca.key"), "-out", f("ca.pem"));
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", f("srv.key"), "-out", f("srv.pem"));
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=client", "-keyout", f("cli.key"), "-out", f("cli.csr"));
  ssl("x509", "-req", "-in", f("cli.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f("cli.pem"));
  const s = await startServer({ args: ["--tls-cert", f("srv.pem"), "--tls-key", f("srv.key"), "--tls-ca", f("ca.pem")] });
  try {
    const ca = await Bun.file(f("srv.pem")).text();
    const url = new URL("/api/health", s.url);
    const without = await fetch(url, { headers: s.auth, tls: { ca } } as RequestInit).then((r) => r.status, (e) => `refused: ${(e as Error).message}`);
    expect(String(without)).toStartWith("refused");
    const withCert = await fetch(url, { headers: s.auth, tls: { ca, cert: await Bun.file(f("cli.pem")).text(), key: await Bun.file(f("cli.key")).text() } } as RequestInit);
    expect(withCert.status).toBe(200);
  } finally {
    await s.stop();
  }
}, 60_000);

test("TLS: a session works over wss:// with a self-signed certificate", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunty-tls-"));
  const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { timeout: 30_000 });
  expect(gen.exitCode).toBe(0);
  const s = await startServer({ args: ["--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")] });
  try {
    expect(s.output()).toMatch(/https:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const ca = await Bun.file(join(dir, "cert.pem")).text();
    const health = await fetch(new URL("/api/health", s.url), { headers: s.auth, tls: { ca } } as RequestInit);
    expect(health.status).toBe(200);
    const ws = new WebSocket(`wss://${s.url.host}/ws`, { headers: { origin: s.url.origin, ...s.auth }, tls: { ca } } as any);
    ws.binaryType = "arraybuffer";
    let text = "";
    let exit: any = null;
    ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const m = JSON.parse(e.data);
        if (m.type === "exit") exit = m;
      } else text += new TextDecoder().decode(e.data);
    };
    await until(() => ws.readyState === WebSocket.OPEN, 5000);
    ws.send(new TextEncoder().encode("echo tls-$((6*7)); exit 4\r"));
    expect(await until(() => exit, 5000)).toEqual({ type: "exit", code: 4, signal: null });
    expect(text).toContain("tls-42");
    expect((await fetch(new URL("/api/health", s.url).href.replace("https", "http"), { headers: s.auth }).then((r) => r.status, () => 0))).not.toBe(200); // no plain HTTP
  } finally {
    await s.stop();
  }
}, 30_000);
