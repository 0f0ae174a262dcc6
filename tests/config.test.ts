// Configuration from real processes: a config file (TOML or JSON) < BUNTY_* variables < flags,
// --print-config, refusals of bad files, and SIGHUP reloading a running server without
// dropping its sessions.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envName, OPTIONS } from "../server/config/options.ts";
import { BUN, ROOT, startServer, TestClient, until } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunty-config-"));
let n = 0;
/** Writes a config file with a fresh name; returns its path. */
const file = (ext: "toml" | "json", text: string) => {
  const p = join(dir, `c${++n}.${ext}`);
  writeFileSync(p, text);
  return p;
};
const run = (args: string[], env: Record<string, string> = {}) => {
  const p = Bun.spawnSync([BUN, join(ROOT, "server/main.ts"), ...args], { env: { PATH: process.env.PATH!, SHELL: "/bin/bash", ...env }, timeout: 10_000 });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};
/** The effective settings, through --print-config. */
const effective = (args: string[], env: Record<string, string> = {}) => {
  const r = run(["--print-config", ...args], env);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};

describe("sources and precedence", () => {
  const toml = file("toml", 'port = 1111\nterm = "file-term"\nlog-level = "error"\nenv = { EDITOR = "vim" }\nallow-origin = ["https://file.example"]\n');

  test("defaults < config file < BUNTY_* variables < flags", () => {
    expect(effective([])).toMatchObject({ port: 7681, term: "xterm-256color", "log-level": "info", "max-sessions": 64 });
    expect(effective(["--config", toml])).toMatchObject({ port: 1111, term: "file-term", "log-level": "error", "max-sessions": 64 });
    const env = { BUNTY_PORT: "2222", BUNTY_TERM: "env-term", BUNTY_LOG_LEVEL: "warn" };
    expect(effective(["--config", toml], env)).toMatchObject({ port: 2222, term: "env-term", "log-level": "warn" });
    expect(effective(["--config", toml, "-p", "3333", "--term=flag-term"], env)).toMatchObject({ port: 3333, term: "flag-term", "log-level": "warn" });
    // BUNTY_CONFIG names the file too; a flag's --config wins over it.
    expect(effective([], { BUNTY_CONFIG: toml })).toMatchObject({ port: 1111 });
    expect(effective(["--config", file("json", '{"port": 4444}')], { BUNTY_CONFIG: toml })).toMatchObject({ port: 4444, term: "xterm-256color" });
  }, 30_000);

  test("repeatable options add up across sources; switches can be turned off by a variable", () => {
    const c = effective(["--config", toml, "--env", "A=1", "--allow-origin", "https://flag.example"], { BUNTY_ALLOW_ORIGIN: "https://env.example, https://env2.example" });
    expect(c.env).toEqual({ EDITOR: "vim", A: "1" });
    expect(c["allow-origin"]).toEqual(["https://file.example", "https://env.example", "https://env2.example", "https://flag.example"]);
    const ro = file("toml", "readonly = true\n");
    expect(effective(["--config", ro]).readonly).toBe(true);
    expect(effective(["--config", ro], { BUNTY_READONLY: "false" }).readonly).toBe(false);
    expect(effective(["--config", ro, "--readonly=false"]).readonly).toBe(false);
  }, 30_000);

  test("the same settings in TOML and in JSON give the same configuration", () => {
    const t = file("toml", `port = 8080
max-sessions = 10
grace = 0
host = "::1"
socket-mode = "0660"
readonly = true
command = ["bash", "-l"]
trusted-proxy = ["10.0.0.1"]

[env]
EDITOR = "vim"

[allow-command]
top = "htop -d 1"
logs = ["tail", "-f", "/var/log/a b"]
`);
    const j = file("json", JSON.stringify({
      port: 8080, "max-sessions": 10, grace: 0, host: "::1", "socket-mode": "0660", readonly: true, command: ["bash", "-l"], "trusted-proxy": ["10.0.0.1"],
      env: { EDITOR: "vim" }, "allow-command": { top: "htop -d 1", logs: ["tail", "-f", "/var/log/a b"] }, record: null,
    }));
    const a = effective(["--config", t]);
    expect(a).toMatchObject({
      port: 8080, "max-sessions": 10, grace: 0, host: "::1", "socket-mode": "0660", readonly: true, command: ["bash", "-l"], "trusted-proxy": ["10.0.0.1"],
      env: { EDITOR: "vim" }, "allow-command": { top: ["htop", "-d", "1"], logs: ["tail", "-f", "/var/log/a b"] },
    });
    expect(effective(["--config", j])).toEqual(a);
    // The output is itself a config file giving the same settings (null: not set).
    expect(effective(["--config", file("json", JSON.stringify(a))])).toEqual(a);
    // The command line's command wins over the file's.
    expect(effective(["--config", t, "--", "htop"]).command).toEqual(["htop"]);
  }, 30_000);

  test("--print-config masks the token and the credential, from every source", () => {
    const secrets = file("toml", 'token = "file-token-4f9a1c"\ncredential = "admin:file-pass-77"\n');
    for (const [args, env] of [[["--config", secrets], {}], [["--token", "flag-token-8b2e", "-c", "admin:flag-pass-99"], {}], [[], { BUNTY_TOKEN: "env-token-3d7f", BUNTY_CREDENTIAL: "admin:env-pass-55" }]] as const) {
      const r = run([...args, "--print-config"], env);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/(flag|file|env)-(token|pass)-/);
      expect(JSON.parse(r.out)).toMatchObject({ token: "***", credential: "***" });
    }
    expect(effective([])).toMatchObject({ token: null, credential: null }); // none given: a random token at each start
  }, 30_000);
});

test("programs never see the server's BUNTY_* settings", async () => {
  const cfg = file("toml", "grace = 60\n");
  const proc = Bun.spawn([BUN, join(ROOT, "server/main.ts"), "--port", "0", "--log-level", "error", "--", "sleep", "100"], {
    env: { PATH: process.env.PATH!, SHELL: "/bin/bash", BUNTY_CONFIG: cfg, BUNTY_TOKEN: "env-token-5c1e9a", BUNTY_MAX_SESSIONS: "3", BUNTY_ALLOW_ORIGIN: "https://x.example" },
    stdout: "pipe", stderr: "pipe",
  });
  try {
    let out = "";
    void (async () => {
      for await (const c of proc.stdout) out += new TextDecoder().decode(c);
    })();
    const m = await until(() => out.match(/ at (http:\/\/\S+)/), 10_000);
    expect(m).toBeTruthy();
    const base = new URL(m![1]!);
    expect(base.searchParams.get("token")).toBe("env-token-5c1e9a");
    const r = await fetch(new URL("/api/sessions", base), { method: "POST", body: "{}", headers: { authorization: "Bearer env-token-5c1e9a", "content-type": "application/json" } });
    expect(r.status).toBe(201);
    const { id, pid } = await r.json();
    const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    expect(env).toContain(`BUNTY_SESSION=${id}`);
    expect(env.filter((kv) => /^BUNTY_(CONFIG|TOKEN|MAX_SESSIONS|ALLOW_ORIGIN)=/.test(kv))).toEqual([]);
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
}, 30_000);

describe("bad configuration exits 2 with one line naming the key and the file", () => {
  test.each([
    ["toml", "bogus = 1\n", /: unknown option "bogus"$/],
    ["toml", "maxSessions = 3\n", /: unknown option "maxSessions" \(options are spelled like their flags: max-sessions\)$/],
    ["json", '{"print-config": true}', /: unknown option "print-config"/],
    ["toml", 'port = "8080"\n', /: port must be an integer, not a string$/],
    ["json", '{"readonly": "yes"}', /: readonly must be true or false, not a string$/],
    ["toml", "max-sessions = 0\n", /: max-sessions must be an integer from 1 to 100000, got "0"$/],
    ["toml", "env = { A = 1 }\n", /: env\.A must be a string$/],
    ["toml", 'allow-origin = "https://a.example"\n', /: allow-origin must be an array of strings, not a string$/],
    ["toml", 'token = "short"\n', /: token must be at least 8 characters$/],
    ["toml", 'token = "unterminated\n', /: not valid TOML: /],
    ["json", '{"port": 1,}', /: not valid JSON: /],
  ])("%s: %p", (ext, text, why) => {
    const path = file(ext as "toml" | "json", text as string);
    const r = run(["--config", path]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trimEnd().split("\n")).toHaveLength(1); // no usage: the command line was fine
    expect(r.err).toStartWith(`bunty: ${path}: `);
    expect(r.err.trimEnd()).toMatch(why);
  }, 10_000);
  test("a file that is missing or not .toml/.json, and a bad variable", () => {
    expect(run(["--config", join(dir, "none.toml")])).toMatchObject({ code: 2, err: `bunty: --config ${join(dir, "none.toml")}: cannot read it (ENOENT)\n` });
    expect(run(["--config", "x.yaml"])).toMatchObject({ code: 2, err: "bunty: --config x.yaml: the file name must end in .toml or .json\n" });
    expect(run([], { BUNTY_MAX_SESSIONS: "lots" })).toMatchObject({ code: 2, err: 'bunty: BUNTY_MAX_SESSIONS must be an integer from 1 to 100000, got "lots"\n' });
    // A combination that does not check is refused whichever sources it came from.
    expect(run(["--config", file("toml", "pool-size = 4\n")], { BUNTY_MAX_SESSIONS: "4" }).err).toContain("--pool-size (4) must be less than --max-sessions (4)");
  }, 30_000);
});

describe("docs", () => {
  test("docs/operations.md lists every option, with its variable", () => {
    const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Configuration"));
    expect(section.length).toBeLessThan(doc.length);
    for (const o of OPTIONS) {
      expect(section).toContain(o.noFlag ? `\`${o.name}\`` : `\`--${o.name}`);
      const env = envName(o);
      if (env) expect(section).toContain(`\`${env}\``);
    }
  });
});

describe("SIGHUP", () => {
  const api = (s: Awaited<ReturnType<typeof startServer>>, path: string, init: RequestInit = {}) =>
    fetch(new URL(path, s.url), { ...init, headers: { "content-type": "application/json", origin: s.origin, ...s.auth, ...(init.headers ?? {}) } });

  test("rereads the config file: new limits and modes apply, live sessions keep working, restart-only options are logged", async () => {
    const cfg = file("toml", "max-sessions = 5\nreadonly = false\nscrollback = 1000\n");
    const s = await startServer({ args: ["--config", cfg, "--log-level", "info"] });
    try {
      const c = await TestClient.open(s);
      expect(c.hello()!.mode).toBe("write");
      const id = c.hello()!.session;
      c.type("echo before-$((6*7))\r");
      expect(await c.waitFor(/before-42/)).toBe(true);
      expect((await api(s, "/api/sessions", { method: "POST", body: JSON.stringify({ command: "nap" }) })).status).toBe(403);

      writeFileSync(cfg, 'max-sessions = 2\nscrollback = 10\nallow-command = { nap = "sleep 100" }\n');
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().includes("config.reload "), 5000)).toBe(true);
      expect(s.stderr()).toMatch(/warn config\.ignored .*options=\["scrollback"\]/);
      expect(s.stderr()).toMatch(/info config\.reload .*applied=\["max-sessions","allow-command"\]/);

      // The new allow-list and maximum: one more session, then refused once both have a client.
      const nap = await api(s, "/api/sessions", { method: "POST", body: JSON.stringify({ command: "nap" }) });
      expect(nap.status).toBe(201);
      const napClient = await TestClient.open(s, `?session=${(await nap.json()).id}`);
      const full = await api(s, "/api/sessions", { method: "POST", body: "{}" });
      expect(full.status).toBe(503);
      expect((await full.json()).message).toContain("maximum of 2 sessions");
      // Read-only: a client that joins now is view-only; the one already typing goes on typing; the API starts nothing.
      writeFileSync(cfg, 'max-sessions = 2\nscrollback = 10\nallow-command = { nap = "sleep 100" }\nreadonly = true\n');
      s.proc.kill("SIGHUP");
      expect(await until(() => /info config\.reload .*applied=\["readonly"\]/.test(s.stderr()), 5000)).toBe(true);
      expect((await api(s, "/api/sessions", { method: "POST", body: "{}" })).status).toBe(403);
      const viewer = await TestClient.open(s, `?session=${id}`);
      expect(viewer.hello()!.mode).toBe("view");
      c.type("echo after-$((6*7))\r");
      expect(await c.waitFor(/after-42/)).toBe(true);
      expect(await viewer.waitFor(/after-42/)).toBe(true);
      expect(c.closed).toBeNull();
      expect((await s.health()).sessions).toBe(2);

      // A broken file: logged, and the settings in force stay.
      writeFileSync(cfg, "max-sessions = 0\n");
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().includes("config.reload_failed"), 5000)).toBe(true);
      expect(s.stderr()).toMatch(/error config\.reload_failed file=\S+ message=".*max-sessions must be an integer from 1 to 100000, got \\"0\\""/);
      writeFileSync(cfg, "max-sessions = [\n");
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().split("config.reload_failed").length === 3, 5000)).toBe(true);
      expect((await api(s, "/api/sessions", { method: "POST", body: "{}" })).status).toBe(403); // still read-only
      c.type("echo still-$((6*7))\r");
      expect(await c.waitFor(/still-42/)).toBe(true);

      // Fixed again: raised limits apply at once.
      writeFileSync(cfg, "max-sessions = 3\n");
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().split("info config.reload ").length === 4, 5000)).toBe(true);
      expect((await api(s, "/api/sessions", { method: "POST", body: "{}" })).status).toBe(201);
      expect((await TestClient.open(s, `?session=${id}`)).hello()!.mode).toBe("write");
      expect(napClient.closed).toBeNull(); // attached sessions are never ended to make room
      expect(s.proc.exitCode).toBeNull();
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 30_000);

  test("the page's display defaults (client-option, -t) are in its meta tag, checked, and follow a reload", async () => {
    const cfg = file("toml", '[client-option]\nfontSize = 16\ncursorBlink = false\n');
    const s = await startServer({ args: ["--config", cfg, "-t", "theme=solarized-dark"] });
    const meta = async () => (await (await fetch(s.url)).text()).match(/<meta name="bunty-options" content="([^"]*)">/)?.[1] ?? null;
    try {
      expect(await meta()).toBe("fontSize=16&amp;cursorBlink=false&amp;theme=solarized-dark");
      writeFileSync(cfg, '[client-option]\nfontFamily = "Fira Code, monospace"\n');
      s.proc.kill("SIGHUP");
      expect(await until(async () => (await meta())?.startsWith("fontFamily=") ?? false, 5000)).toBe(true);
      expect(await meta()).toBe("fontFamily=Fira+Code%2C+monospace&amp;theme=solarized-dark");
      // A bad value is refused like any bad setting: the page keeps the defaults in force.
      writeFileSync(cfg, '[client-option]\nfontFamily = "x;}body{display:none"\n');
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().includes("config.reload_failed"), 5000)).toBe(true);
      expect(s.stderr()).toContain("invalid value for fontFamily");
      expect(await meta()).toBe("fontFamily=Fira+Code%2C+monospace&amp;theme=solarized-dark");
    } finally {
      expect(await s.stop()).toBe(0);
    }
    // Without -t the page has no such tag.
    const plain = await startServer();
    try {
      expect(await (await fetch(plain.url)).text()).not.toContain("bunty-options");
    } finally {
      await plain.stop();
    }
  }, 30_000);

  test("grace and pool size change on a running server", async () => {
    const cfg = file("json", JSON.stringify({ grace: 300, "pool-size": 0 }));
    const s = await startServer({ args: ["--config", cfg, "--log-level", "info"] });
    try {
      const keep = await TestClient.open(s);
      writeFileSync(cfg, JSON.stringify({ grace: 0, "pool-size": 2 }));
      s.proc.kill("SIGHUP");
      expect(await until(() => s.stderr().includes("config.reload "), 5000)).toBe(true);
      expect(await until(async () => (await s.health()).spares === 2, 5000)).toBe(true);
      // Grace 0: a session ends with its last client, now.
      const c = await TestClient.open(s);
      const id = c.hello()!.session;
      c.close();
      expect(await until(async () => (await api(s, `/api/sessions/${id}`)).status === 404, 5000)).toBe(true);
      writeFileSync(cfg, JSON.stringify({ grace: 0, "pool-size": 0 }));
      s.proc.kill("SIGHUP");
      expect(await until(async () => (await s.health()).spares === 0, 5000)).toBe(true);
      keep.type("echo kept-$((6*7))\r");
      expect(await keep.waitFor(/kept-42/)).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 30_000);
});
