// The outside security audit (issue #11): each finding as a regression test that a real client
// (raw sockets, fetch, another local user) drives against a real server. Findings 7 and 9 (the
// page) are in tests/browser/security-check.ts, 4 also in tests/browser/signin-check.ts;
// 12, 13 and 14 are in tests/transfer.test.ts and tests/recording.test.ts.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Auth, MAX_FAILURES, SIGN_IN_MAX_AGE_S } from "../server/web/auth.ts";
import { FD_RESERVE } from "../server/core/fds.ts";
import { MAX_CLIENTS_PER_GRANT } from "../server/web/socket.ts";
import { BUN, ROOT, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

const servers: TestServer[] = [];
const start = async (args: string[] = [], extra: Parameters<typeof startServer>[0] = {}) => {
  const s = await startServer({ ...extra, args });
  servers.push(s);
  return s;
};
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** A raw HTTP request (any Host, any header); returns the status line's code. */
async function rawStatus(s: TestServer, head: string): Promise<number> {
  const w = new RawWs(Number(s.url.port));
  await w.connected();
  let text = "";
  w.sock.removeAllListeners("data");
  w.sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  w.sock.write(head);
  await until(() => /\r\n\r\n/.test(text) || w.ended, 5000);
  w.sock.destroy();
  return Number(text.slice(9, 12));
}
const wsHead = (s: TestServer, path: string, headers: Record<string, string> = {}) => {
  const port = Number(s.url.port);
  return RawWs.request(port, path, s.origin, null).replace("\r\n\r\n", `\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
};
const api = (s: TestServer, path: string, init: RequestInit = {}) =>
  fetch(new URL(path, s.url), { ...init, headers: { origin: s.origin, "content-type": "application/json", ...s.auth, ...(init.headers as Record<string, string>) } });
const share = async (s: TestServer, id: string) => new URL((await (await api(s, `/api/sessions/${id}/share`, { method: "POST" })).json()).path, s.url).searchParams.get("share")!;
/** Runs bunty and returns how it exits (for refusals at start). */
const runBunty = (args: string[]) => {
  const p = Bun.spawnSync([BUN, join(ROOT, "server/main.ts"), "--port", "0", ...args], { env: { PATH: process.env.PATH!, HOME: tmp("bunty-home-") }, timeout: 10_000 });
  return { code: p.exitCode, err: p.stderr.toString() };
};

describe("finding 1: share links open only the live session they were made for", () => {
  test("a duplicated or empty key is refused (400); a grant never opens another session, never starts one, and dies with its session", async () => {
    const s = await start(["-a"]);
    const a = await TestClient.open(s);
    const b = await TestClient.open(s);
    const [A, B] = [a.hello()!.session, b.hello()!.session];
    const g = await share(s, A);
    expect(await rawStatus(s, wsHead(s, `/ws?session=${A}&share=${g}&session=${B}`))).toBe(400);
    expect(await rawStatus(s, wsHead(s, `/ws?session=${B}&share=${g}&session=${A}`))).toBe(400);
    expect(await rawStatus(s, wsHead(s, `/ws?session=${A}&share=${g}&session=`))).toBe(400);
    expect(await rawStatus(s, wsHead(s, `/ws?session=&share=${g}`))).toBe(400);
    // Without a session, or with any other one: refused, and no session is started (with -a: no command either).
    const before = (await s.health()).sessionsCreated;
    const marker = join(tmp("bunty-share-"), "ran");
    expect(await rawStatus(s, wsHead(s, `/ws?share=${g}&arg=-c&arg=${encodeURIComponent(`touch ${marker}`)}`))).toBe(403);
    expect(await rawStatus(s, wsHead(s, `/ws?session=${B}&share=${g}`))).toBe(403);
    // What follows a '#' is not the query: it attaches to A.
    const hash = new RawWs(Number(s.url.port));
    hash.capture = true;
    await hash.connected();
    hash.sock.write(wsHead(s, `/ws?session=${A}&share=${g}#&session=${B}`));
    const hello = await until(() => (hash.events.find((e) => "message" in e && e.message.type === "hello") as any)?.message, 5000);
    expect(hello).toMatchObject({ session: A, mode: "view" });
    hash.sock.destroy();
    await Bun.sleep(300);
    expect((await s.health()).sessionsCreated).toBe(before);
    expect(existsSync(marker)).toBe(false);
    // The grant dies with its session.
    a.type("exit\r");
    await a.waitClosed();
    expect(await until(async () => !(await (await api(s, "/api/sessions")).json()).some((x: any) => x.id === A), 5000)).toBe(true);
    expect(await rawStatus(s, wsHead(s, `/ws?session=${A}&share=${g}`))).toBe(403);
    b.close();
  }, 20_000);

  test("70 refused share sockets count as nobody's failed login: the owner's token then works at once, and no session was started", async () => {
    const s = await start();
    const owner = await TestClient.open(s);
    const g = await share(s, owner.hello()!.session);
    const h0 = await s.health();
    await Promise.all(Array.from({ length: 70 }, (_, i) => rawStatus(s, wsHead(s, i % 2 ? `/ws?session=x${i}&share=${g}` : `/ws?session=${owner.hello()!.session}&share=${g}x${i}`))));
    const h1 = await s.health();
    expect(h1.authFailures).toBe(h0.authFailures);
    expect(h1.sessionsCreated).toBe(h0.sessionsCreated);
    const t = performance.now();
    expect((await api(s, "/api/health")).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(500);
    owner.close();
  });
});

describe("finding 2: --auth-header trusts only the proxy", () => {
  test("--auth-header with no way to tell the proxy from anybody else refuses to start; so does a loopback --trusted-proxy", () => {
    const r = runBunty(["--no-token", "--auth-header", "X-Forwarded-User"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("needs a way to tell the proxy from everyone else");
    const l = runBunty(["--no-token", "--auth-header", "X-Forwarded-User", "--trusted-proxy", "127.0.0.1"]);
    expect(l.code).toBe(2);
    expect(l.err).toContain("cannot be told apart from any local user");
  });

  test("behind a unix socket only its owner may open (0600 by default), the header is believed; user nobody cannot even connect", async () => {
    const dir = tmp("bunty-sock-");
    const sock = join(dir, "bunty.sock");
    const p = Bun.spawn([BUN, join(ROOT, "server/main.ts"), "-i", sock, "--no-token", "--auth-header", "X-Forwarded-User", "--", "bash", "--noprofile", "--norc", "-i"], {
      env: { PATH: process.env.PATH!, HOME: dir, PS1: "$ " }, stdout: "pipe", stderr: "pipe",
    });
    try {
      expect(await until(() => existsSync(sock), 10_000)).toBe(true);
      await Bun.sleep(200);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      const asProxy = await fetch("http://localhost/api/sessions", { unix: sock, headers: { "X-Forwarded-User": "carol" } } as RequestInit);
      expect(asProxy.status).toBe(200);
      // Another local user, with the header: the socket's mode keeps them out.
      const script = `fetch("http://localhost/api/health", { unix: ${JSON.stringify(sock)}, headers: { "X-Forwarded-User": "root" } }).then(r => console.log("status", r.status), e => console.log("refused", e.code ?? e.message))`;
      const nobody = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUN, "-e", script], { env: { PATH: process.env.PATH!, HOME: "/tmp" }, timeout: 10_000 });
      const out = nobody.stdout.toString() + nobody.stderr.toString();
      expect(out).not.toContain("status 200");
      expect(out).toMatch(/refused|EACCES|denied|status 40/i);
    } finally {
      p.kill();
      await p.exited;
    }
  }, 20_000);
});

describe("finding 3: DNS rebinding", () => {
  for (const args of [["--no-token"], []]) {
    test(`a request for a host name that is not ours is refused with 421 on every route (${args.length ? "no token" : "with a token"})`, async () => {
      const s = await start(args);
      const port = Number(s.url.port);
      const evil = `rebind.evil.test:${port}`;
      const headers = { host: evil, origin: `http://${evil}`, ...s.auth };
      const routes: [string, string][] = [["GET", "/"], ["GET", "/api/sessions"], ["POST", "/api/sessions"], ["GET", "/api/health"], ["POST", "/api/auth"]];
      for (const [method, path] of routes) {
        const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}content-length: ${method === "POST" ? 2 : 0}\r\n\r\n${method === "POST" ? "{}" : ""}`;
        expect(`${method} ${path} ${await rawStatus(s, head)}`).toBe(`${method} ${path} 421`);
      }
      const upgrade = RawWs.request(port, "/ws", `http://${evil}`, s.token).replace(`Host: 127.0.0.1:${port}`, `Host: ${evil}`);
      expect(await rawStatus(s, upgrade)).toBe(421);
      // Our own names still work.
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect(await rawStatus(s, `GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`)).toBe(200);
    });
  }

  test("--allow-host NAME and the names in --allow-origin are answered", async () => {
    const s = await start(["--allow-host", "term.example.org", "--allow-origin", "https://proxy.example.net"]);
    for (const host of ["term.example.org", "proxy.example.net:443", "TERM.example.org:8080"]) expect(await rawStatus(s, `GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`)).toBe(200);
    expect(await rawStatus(s, `GET / HTTP/1.1\r\nhost: other.example.org\r\n\r\n`)).toBe(421);
  });
});

describe("finding 4: sign-ins are per page, expire, can be revoked, and the cookie alone is never enough", () => {
  const signIn = async (s: TestServer, base = "") => {
    const r = await api(s, `${base}/api/auth`, { method: "POST" });
    return { cookie: r.headers.get("set-cookie")!, pair: r.headers.get("set-cookie")!.split(";")[0]!, proof: (await r.json()).proof as string };
  };
  test("each sign-in has its own id and proof; Path is the base path; a replayed cookie with a forged Origin gets nothing without the proof", async () => {
    const s = await start(["-b", "/term"]);
    const [one, two] = [await signIn(s, "/term"), await signIn(s, "/term")];
    expect(one.pair).not.toBe(two.pair);
    expect(one.proof).not.toBe(two.proof);
    expect(one.cookie).toContain("Path=/term;");
    expect(one.cookie).toMatch(/Max-Age=\d+/);
    const port = Number(s.url.port);
    // Another service on this host got the cookie (browsers send it to every port) and replays it, Origin forged.
    const replay = RawWs.request(port, "/term/ws", s.origin, null).replace("\r\n\r\n", `\r\nCookie: ${one.pair}\r\n\r\n`);
    expect(await rawStatus(s, replay)).toBe(401);
    const withProof = RawWs.request(port, `/term/ws?proof=${one.proof}`, s.origin, null).replace("\r\n\r\n", `\r\nCookie: ${one.pair}\r\n\r\n`);
    expect(await rawStatus(s, withProof)).toBe(101);
    expect((await fetch(new URL("/term/api/sessions", s.url), { headers: { cookie: one.pair, "x-bunty-proof": two.proof } })).status).toBe(401); // another sign-in's proof
  });

  test("sign-out revokes that sign-in (and only it); a new token on SIGHUP signs everybody out", async () => {
    const dir = tmp("bunty-rot-");
    const cfg = join(dir, "bunty.toml");
    writeFileSync(cfg, 'token = "first-token-1234567890"\n');
    const s = await start(["--config", cfg, "--log-level", "info"]);
    const auth = { authorization: "Bearer first-token-1234567890" };
    const signInWith = async () => {
      const r = await fetch(new URL("/api/auth", s.url), { method: "POST", headers: { ...auth, origin: s.origin } });
      return { cookie: r.headers.get("set-cookie")!.split(";")[0]!, "x-bunty-proof": (await r.json()).proof };
    };
    const [a, b] = [await signInWith(), await signInWith()];
    const get = (h: Record<string, string>) => fetch(new URL("/api/sessions", s.url), { headers: h }).then((r) => r.status);
    expect([await get(a), await get(b)]).toEqual([200, 200]);
    const out = await fetch(new URL("/api/auth", s.url), { method: "DELETE", headers: { ...a, origin: s.origin } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect([await get(a), await get(b)]).toEqual([401, 200]);
    writeFileSync(cfg, 'token = "second-token-0987654321"\n');
    s.proc.kill("SIGHUP");
    expect(await until(() => s.stderr().includes("config.reload"), 5000)).toBe(true);
    expect(await get(b)).toBe(401);
    expect(await get({ authorization: "Bearer first-token-1234567890" })).toBe(401);
    expect(await get({ authorization: "Bearer second-token-0987654321" })).toBe(200);
  });

  test("a sign-in expires after SIGN_IN_MAX_AGE_S", () => {
    const auth = new Auth({ token: "some-token-123", credential: null, authHeader: null, trustedProxies: [], proxySecret: null, unixProxy: false, basePath: "" });
    const { setCookie, proof } = auth.signIn(false);
    const req = () => new Request("http://127.0.0.1/api/sessions", { headers: { cookie: setCookie.split(";")[0]!, "x-bunty-proof": proof } });
    const now = Date.now;
    try {
      return auth.check(req(), "127.0.0.1").then(async (fresh) => {
        expect(fresh.ok).toBe(true);
        Date.now = () => now() + (SIGN_IN_MAX_AGE_S + 1) * 1000;
        expect((await auth.check(req(), "127.0.0.1")).ok).toBe(false);
      }).finally(() => (Date.now = now));
    } catch (e) {
      Date.now = now;
      throw e;
    }
  });
});

describe("finding 5: the guessing limit never locks the owner out", () => {
  test(`${MAX_FAILURES} wrong tokens from 127.0.0.1, then the right one: accepted (within a second), not 429`, async () => {
    const s = await start();
    for (let i = 0; i < MAX_FAILURES; i++) expect((await fetch(new URL("/api/health", s.url), { headers: { authorization: `Bearer wrong-${i}-xxxxxxxx` } })).status).toBe(401);
    const t = performance.now();
    expect((await fetch(new URL("/api/health", s.url), { headers: s.auth })).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(1500);
  });

  test("behind a trusted proxy each client is counted by its own address; guesses from 40 addresses are slowed together past the global budget", async () => {
    const dir = tmp("bunty-px-");
    writeFileSync(join(dir, "secret"), "proxy-secret-0123456789abcdef\n");
    const s = await start(["--proxy-secret-file", join(dir, "secret")]);
    const from = (ip: string, token: string) =>
      fetch(new URL("/api/health", s.url), { headers: { authorization: `Bearer ${token}`, "x-bunty-proxy-secret": "proxy-secret-0123456789abcdef", "x-forwarded-for": `203.0.113.9, ${ip}` } }).then((r) => r.status);
    // One client guesses past its budget: another client of the same proxy is not slowed at all.
    for (let i = 0; i < MAX_FAILURES + 2; i++) await from("10.0.0.1", `wrong-${i}-xxxxxxxx`);
    const t = performance.now();
    expect(await from("10.0.0.2", s.token!)).toBe(200);
    expect(performance.now() - t).toBeLessThan(300);
    // 40 addresses, 3 guesses each: under each address's budget, but past the server's: the later ones are slowed.
    const t2 = performance.now();
    let n = 0;
    for (let round = 0; round < 3; round++) for (let a = 0; a < 40; a++) if ((await from(`10.1.0.${a}`, `guess-${round}-${a}-xxxxxxxx`)) === 401) n++;
    const took = performance.now() - t2;
    console.log(`120 guesses from 40 addresses behind the proxy: ${n} answered 401 in ${(took / 1000).toFixed(1)} s`);
    expect(n).toBe(120);
    expect(took).toBeGreaterThan(1500); // past MAX_FAILURES_GLOBAL, at most one check per GLOBAL_SLOT_MS
    // And the owner, from a clean address, still gets in at once.
    const t3 = performance.now();
    expect(await from("10.9.9.9", s.token!)).toBe(200);
    expect(performance.now() - t3).toBeLessThan(300);
  }, 60_000);
});

describe("finding 6: no client can take the last file descriptors", () => {
  test(`a share link opens at most ${MAX_CLIENTS_PER_GRANT} viewers; the owner and /api/health are unaffected`, async () => {
    const s = await start();
    const owner = await TestClient.open(s);
    const id = owner.hello()!.session;
    const g = await share(s, id);
    const statuses = await Promise.all(Array.from({ length: MAX_CLIENTS_PER_GRANT + 8 }, () => {
      const w = new RawWs(Number(s.url.port));
      return w.connected().then(() => {
        w.sock.write(wsHead(s, `/ws?session=${id}&share=${g}`));
        return until(() => w.status, 5000).then(() => w.status);
      });
    }));
    expect(statuses.filter((x) => x === 101).length).toBe(MAX_CLIENTS_PER_GRANT);
    expect(statuses.filter((x) => x === 503).length).toBe(8);
    owner.type("echo owner-$((5*5))\r");
    expect(await owner.waitFor(/owner-25/)).toBe(true);
    expect((await s.health()).status).toBe("ok");
    owner.close();
  });

  test("with a small open-file limit, sockets are refused (503) while FD_RESERVE are left, and the owner's session and health go on; the limit is warned about at start", async () => {
    const limit = 400;
    const s = await start(["--log-level", "warn"], { bin: ["bash", "-c", `ulimit -n ${limit}; exec "$0" "$@"`, BUN, join(ROOT, "server/main.ts")] });
    expect(s.stderr()).toContain("server.fd_limit");
    const owner = await TestClient.open(s);
    const socks: RawWs[] = [];
    let refused = 0;
    for (let i = 0; i < limit && refused === 0; i++) {
      const w = new RawWs(Number(s.url.port));
      socks.push(w);
      await w.connected();
      w.sock.write(wsHead(s, `/ws?session=${owner.hello()!.session}&mode=view`, s.auth));
      await until(() => w.status || w.ended, 5000);
      if (w.status === 503) refused++;
    }
    console.log(`ulimit -n ${limit}: ${socks.length - refused} viewers accepted before the first 503 (reserve ${FD_RESERVE})`);
    expect(refused).toBe(1);
    expect((await s.health()).status).toBe("ok");
    owner.type("echo still-$((6*6))\r");
    expect(await owner.waitFor(/still-36/)).toBe(true);
    for (const w of socks) w.sock.destroy();
    owner.close();
  }, 60_000);
});

describe("finding 8 and 15: where the token can be read", () => {
  test("--token on the command line is warned about; --token-file reads it; the programs' environment never has it", async () => {
    const dir = tmp("bunty-tok-");
    writeFileSync(join(dir, "token"), "file-token-abcdefgh\n", { mode: 0o600 });
    const withFlag = await start(["--token", "flag-token-abcdefgh"]);
    expect(withFlag.stderr()).toContain("security.token_on_command_line");
    const fromFile = await start(["--token-file", join(dir, "token")]);
    expect(fromFile.token).toBe("file-token-abcdefgh");
    expect(fromFile.stderr()).not.toContain("security.token_on_command_line");
    const c = await TestClient.open(fromFile);
    c.type("echo token=[${BUNTY_TOKEN:-none}]\r");
    expect(await c.waitFor(/token=\[none\]/)).toBe(true);
    c.close();
    expect(runBunty(["--token-file", join(dir, "token"), "--token", "x-abcdefgh"]).code).toBe(2);
    expect(runBunty(["--token-file", join(dir, "missing")]).err).toContain("--token-file");
  });
});

describe("finding 10: a read-only server changes nothing", () => {
  test("-R refuses POST /api/sessions and DELETE with 403", async () => {
    const s = await start(["-R", "--allow-command", "nap=sleep 100"]);
    expect((await api(s, "/api/sessions", { method: "POST", body: JSON.stringify({ command: "nap" }) })).status).toBe(403);
    const viewer = await TestClient.open(s);
    expect((await api(s, `/api/sessions/${viewer.hello()!.session}`, { method: "DELETE" })).status).toBe(403);
    expect(viewer.closed).toBeNull();
    viewer.close();
  });
});

describe("finding 11: the control-frame limit comes before parsing", () => {
  test("a JSON text frame over 4096 bytes gets too_large, never an answer", async () => {
    const s = await start();
    const c = await TestClient.open(s);
    c.control(JSON.stringify({ type: "ping", t: 1, pad: "x".repeat(5000) }));
    expect(await until(() => c.messages.find((m) => m.type === "error"), 3000)).toMatchObject({ code: "too_large" });
    expect(c.messages.some((m) => m.type === "pong")).toBe(false);
    c.control(JSON.stringify({ type: "ping", t: 2 }));
    expect(await until(() => c.messages.find((m) => m.type === "pong"), 3000)).toMatchObject({ t: 2 });
    c.close();
  });
});

describe("finding 16: a unix socket is created 0600", () => {
  test("with umask 000 the socket is still 0600; --socket-mode 0660 gives 0660", async () => {
    for (const [mode, want] of [[null, 0o600], ["0660", 0o660]] as const) {
      const dir = tmp("bunty-um-");
      const sock = join(dir, "b.sock");
      const p = Bun.spawn(["bash", "-c", `umask 000; exec "$@"`, "bash", BUN, join(ROOT, "server/main.ts"), "-i", sock, ...(mode ? ["--socket-mode", mode] : []), "--", "bash", "--norc"], {
        env: { PATH: process.env.PATH!, HOME: dir }, stdout: "pipe", stderr: "pipe",
      });
      try {
        expect(await until(() => existsSync(sock), 10_000)).toBe(true);
        await Bun.sleep(100);
        expect((statSync(sock).mode & 0o777).toString(8)).toBe(want.toString(8));
      } finally {
        p.kill();
        await p.exited;
      }
    }
  }, 30_000);
});
