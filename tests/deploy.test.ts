// Deployment shapes: a base path, a real nginx reverse proxy under /term/, a unix socket, IPv6.
// Real servers, real shells; nginx is Debian's (.ci/run installs it).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, ROOT, startServer, until, type TestServer } from "./harness.ts";

const NGINX = "/usr/sbin/nginx";

/** One shell round trip over a WebSocket at `wsUrl` with these headers. */
async function echoOver(wsUrl: string, headers: Record<string, string>): Promise<string> {
  const ws = new WebSocket(wsUrl, { headers } as any);
  ws.binaryType = "arraybuffer";
  let text = "";
  let closed: number | null = null;
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") text += new TextDecoder().decode(e.data);
  };
  ws.onclose = (e) => (closed = e.code);
  await until(() => ws.readyState === WebSocket.OPEN || closed !== null, 5000);
  if (closed !== null) return `closed ${closed}`;
  ws.send(new TextEncoder().encode("echo via-$((40+2))\r"));
  await until(() => text.includes("via-42"), 5000);
  ws.close();
  return text.includes("via-42") ? "ok" : `no answer: ${JSON.stringify(text.slice(-200))}`;
}

describe("--base-path", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ args: ["-b", "/term"] });
  });
  afterAll(async () => {
    await s.stop();
  });

  test("every route lives under the prefix; the page's own URLs follow it", async () => {
    expect(s.url.pathname).toBe("/term/");
    const bare = await fetch(new URL("/term", s.url), { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/term/");
    const page = await fetch(s.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = html.match(/src="([^"]+)"/)![1]!;
    expect(script).toStartWith("./"); // relative: resolves under the prefix
    expect((await fetch(new URL(script, s.url))).status).toBe(200);
    expect((await fetch(new URL("/api/health", s.url), { headers: s.auth })).status).toBe(404);
    expect((await fetch(new URL("api/health", s.url), { headers: s.auth })).status).toBe(200);
    expect((await fetch(new URL("api/health", s.url))).status).toBe(401);
    expect(await echoOver(new URL("ws", s.url).href.replace("http", "ws"), { origin: s.origin, ...s.auth })).toBe("ok");
    const made = await (await fetch(new URL("api/sessions", s.url), { method: "POST", body: "{}", headers: { ...s.auth, origin: s.origin, "content-type": "application/json" } })).json();
    const share = await (await fetch(new URL(`api/sessions/${made.id}/share`, s.url), { method: "POST", headers: { ...s.auth, origin: s.origin } })).json();
    expect(share.path).toStartWith("/term/?session=");
    expect((await fetch(new URL(`api/sessions/${made.id}`, s.url), { method: "DELETE", headers: { ...s.auth, origin: s.origin } })).status).toBe(204);
  });
});

describe.skipIf(!existsSync(NGINX))("behind nginx under /term/", () => {
  let s: TestServer;
  let nginx: ReturnType<typeof Bun.spawn>;
  let front: URL;
  beforeAll(async () => {
    s = await startServer({ args: ["-b", "/term"] });
    const dir = mkdtempSync(join(tmpdir(), "bunty-nginx-"));
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    // The documented snippet (docs/deploy.md), on loopback, with everything in a temp dir.
    writeFileSync(join(dir, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location /term/ {
      proxy_pass http://127.0.0.1:${s.url.port};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1h;
      proxy_buffering off;
    }
  }
}`);
    nginx = Bun.spawn([NGINX, "-c", join(dir, "nginx.conf"), "-p", dir], { stdout: "pipe", stderr: "pipe" });
    front = new URL(`http://127.0.0.1:${port}/term/`);
    const up = await until(async () => (await fetch(front).then((r) => r.status, () => 0)) === 200, 5000, 50);
    if (!up) throw new Error(`nginx did not come up: ${await Bun.file(join(dir, "error.log")).text().catch(() => "")}`);
  });
  afterAll(async () => {
    nginx?.kill("SIGTERM");
    await nginx?.exited;
    await s.stop();
  });

  test("the page loads and a shell works through the proxy", async () => {
    const page = await fetch(front);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const script = (await page.text()).match(/src="([^"]+)"/)![1]!;
    expect((await fetch(new URL(script, front))).status).toBe(200);
    expect(await echoOver(new URL("ws", front).href.replace("http", "ws"), { origin: front.origin, ...s.auth })).toBe("ok");
  });

  test("authentication and the Origin check still work through the proxy", async () => {
    expect((await fetch(new URL("api/health", front))).status).toBe(401);
    expect((await fetch(new URL("api/health", front), { headers: s.auth })).status).toBe(200);
    expect(await echoOver(new URL("ws", front).href.replace("http", "ws"), { origin: "http://evil.example", ...s.auth })).toMatch(/^closed/);
    expect(await echoOver(new URL("ws", front).href.replace("http", "ws"), { origin: front.origin })).toMatch(/^closed/); // no token
  });
});

test("a unix socket: mode as asked, HTTP and a shell through it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunty-sock-"));
  const sock = join(dir, "bunty.sock");
  const p = Bun.spawn([BUN, join(ROOT, "server/main.ts"), "-i", sock, "--socket-mode", "0600", "--log-level", "warn", "--", "bash", "--noprofile", "--norc", "-i"], {
    env: { PATH: process.env.PATH!, HOME: dir, PS1: "$ " }, stdout: "pipe", stderr: "pipe",
  });
  try {
    let out = "";
    void (async () => {
      for await (const c of p.stdout as ReadableStream<Uint8Array>) out += new TextDecoder().decode(c);
    })();
    expect(await until(() => / at http:\/\/localhost\/\?token=/.test(out), 10_000)).toBe(true);
    expect(out).toContain(`on unix socket ${sock}`);
    const token = out.match(/token=([\w-]+)/)![1]!;
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const health = await fetch("http://localhost/api/health", { unix: sock, headers: { authorization: `Bearer ${token}` } } as RequestInit);
    expect(health.status).toBe(200);
    // A WebSocket over the socket file: the handshake and one frame by hand.
    const c = net.connect(sock);
    let got = "";
    c.on("data", (d) => (got += d.toString("latin1")));
    await new Promise((r) => c.once("connect", r));
    c.write(`GET /ws HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    expect(await until(() => got.includes("101 Switching Protocols") && got.includes('"hello"'), 5000)).toBe(true);
    const payload = new TextEncoder().encode("echo unix-$((7*6))\r");
    const mask = [1, 2, 3, 4];
    c.write(Buffer.from([0x82, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ mask[i & 3]!)]));
    expect(await until(() => got.includes("unix-42"), 5000)).toBe(true);
    c.destroy();
  } finally {
    p.kill("SIGTERM");
    await p.exited;
  }
});

test("IPv6 loopback: the URL line brackets the address and a shell works", async () => {
  const s = await startServer({ args: ["-i", "::1"] });
  try {
    expect(s.url.href).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    expect((await s.health()).status).toBe("ok");
    expect(await echoOver(new URL("ws", s.url).href.replace("http", "ws"), { origin: s.origin, ...s.auth })).toBe("ok");
  } finally {
    await s.stop();
  }
});
