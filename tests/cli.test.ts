// The command line: parsing, and the process-level behaviour of bad flags, --help and --version.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseArgs, USAGE } from "../server/config/cli.ts";
import { defaults } from "../server/config/options.ts";
import { ENV_NAMES, OPTIONS } from "../server/config/options.ts";
import { BUN, ROOT } from "./harness.ts";

const run = (...args: string[]) => {
  const p = Bun.spawnSync([BUN, join(ROOT, "server/main.ts"), ...args], { env: { PATH: process.env.PATH! }, timeout: 10_000 });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

describe("parseArgs", () => {
  test("defaults: loopback, port 7681, $SHELL with one warm spare; a COMMAND gets none", () => {
    const r = parseArgs([], { SHELL: "/bin/zsh" });
    expect(r).toEqual({ kind: "run", config: { ...defaults(), command: ["/bin/zsh"], poolSize: 1 } });
    expect(parseArgs([], {})).toMatchObject({ config: { command: ["/bin/sh"], port: 7681, host: "127.0.0.1" } });
    // A command must not run before a tab asks for it (a script, a deploy); a spare only when asked.
    expect(parseArgs(["--", "./deploy.sh"], {})).toMatchObject({ config: { command: ["./deploy.sh"], poolSize: 0 } });
    expect(parseArgs(["--pool-size", "2", "--", "htop"], {})).toMatchObject({ config: { poolSize: 2 } });
    expect(parseArgs(["--pool-size", "0"], {})).toMatchObject({ config: { poolSize: 0 } });
    expect(parseArgs(["--max-sessions", "1"], {})).toMatchObject({ config: { poolSize: 0 } }); // no room for a spare
  });
  test("options stop at -- or at the first non-option; the command keeps its own flags", () => {
    expect(parseArgs(["-p", "0", "bash", "-c", "echo -p"], {})).toMatchObject({ config: { port: 0, command: ["bash", "-c", "echo -p"] } });
    expect(parseArgs(["--port=9", "--", "-weird"], {})).toMatchObject({ config: { port: 9, command: ["-weird"] } });
  });
  test("every documented option is parsed", () => {
    const r = parseArgs(["-i", "::1", "-w", "/tmp", "-T", "vt100", "--env", "A=1", "--env", "B=x=y", "--max-sessions", "3", "--log-level", "debug",
      "--grace", "0", "--idle-timeout", "60", "--pool-size", "2", "--scrollback", "50", "--allow-command", "top=top -d 1", "--allow-any-command", "top"], {});
    expect(r).toMatchObject({ kind: "run", config: {
      port: 7681, host: "::1", cwd: "/tmp", term: "vt100", env: { A: "1", B: "x=y" }, maxSessions: 3, logLevel: "debug",
      graceS: 0, idleTimeoutS: 60, poolSize: 2, scrollback: 50, allowCommands: { top: ["top", "-d", "1"] }, allowAnyCommand: true, command: ["top"],
    } });
  });
  test("-t: the page's display defaults, checked against the page's allow-list", () => {
    expect(parseArgs(["-t", "fontSize=16", "--client-option", "theme=solarized-dark", "-t", "fontFamily=Fira Code, monospace", "-t", "fontSize=18"], {}))
      .toMatchObject({ kind: "run", config: { clientOptions: { fontSize: "18", theme: "solarized-dark", fontFamily: "Fira Code, monospace" } } });
    expect(parseArgs(["-t", "colour=red"], {})).toMatchObject({ kind: "error", message: expect.stringContaining('unknown page option "colour"') });
    expect(parseArgs(["-t", "theme=neon"], {})).toMatchObject({ kind: "error", message: expect.stringContaining('invalid value for theme: "neon"') });
    expect(parseArgs(["-t", "fontFamily=x;}body{display:none"], {})).toMatchObject({ kind: "error", message: expect.stringContaining("invalid value for fontFamily") });
    expect(parseArgs(["-t", "fontSize"], {})).toMatchObject({ kind: "error", message: expect.stringContaining("takes KEY=VALUE") });
  });
  test("-t: the workspace's options (prediction, shortcuts) too, checked as the page checks them", () => {
    expect(parseArgs(["-t", "predict=off", "-t", "keySplitRight=Alt+Shift+R", "-t", "keyHelp=none"], {}))
      .toMatchObject({ kind: "run", config: { clientOptions: { predict: "off", keySplitRight: "Alt+Shift+R", keyHelp: "none" } } });
    expect(parseArgs(["-t", "predict=sometimes"], {})).toMatchObject({ kind: "error", message: expect.stringContaining('invalid value for predict: "sometimes"') });
    // the browser keeps Ctrl+Shift+T; Ctrl+E is a control character the shell needs
    expect(parseArgs(["-t", "keyClose=Ctrl+Shift+T"], {})).toMatchObject({ kind: "error", message: expect.stringContaining("not one the browser keeps") });
    expect(parseArgs(["-t", "keyClose=Ctrl+E"], {})).toMatchObject({ kind: "error", message: expect.stringContaining("invalid value for keyClose") });
  });
  test("operations options are parsed: log format, recording, public metrics", () => {
    expect(parseArgs(["--log-format", "json", "--record", "/var/lib/bunty", "--record-max-bytes", "5000", "--metrics-public"], {})).toMatchObject({ kind: "run", config: {
      logFormat: "json", record: "/var/lib/bunty", recordMaxBytes: 5000, metricsPublic: true,
    } });
    expect(parseArgs(["--log-format=text", "--record=rec"], {})).toMatchObject({ config: { logFormat: "text", record: "rec", recordMaxBytes: 100 * 1024 * 1024, metricsPublic: false } });
  });
  test("security options are parsed; BUNTY_TOKEN is read from the environment", () => {
    const r = parseArgs(["--token", "abcdefgh12", "-c", "u:p:w", "--auth-header", "X-User", "--trusted-proxy", "10.0.0.1", "--allow-origin", "https://a.example/x",
      "--allow-embed", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem", "-R", "-m", "5", "-o", "--exit-no-conn", "-a", "--no-auth"], {});
    expect(r).toMatchObject({ kind: "run", config: {
      token: "abcdefgh12", credential: "u:p:w", authHeader: "X-User", trustedProxies: ["10.0.0.1"], allowOrigins: ["https://a.example"], allowEmbed: true,
      tlsCert: "c.pem", tlsKey: "k.pem", tlsCa: "ca.pem", readonly: true, maxClients: 5, once: true, exitNoConn: true, urlArgs: true, noAuth: true,
    } });
    expect(parseArgs([], { BUNTY_TOKEN: "fromenv123" })).toMatchObject({ config: { token: "fromenv123" } });
    expect(parseArgs(["--no-token"], {})).toMatchObject({ config: { token: null, noToken: true } });
    expect(parseArgs(["-b", "/term/", "--socket-mode", "0660"], {})).toMatchObject({ config: { basePath: "/term", socketMode: 0o660 } });
  });
  test.each([
    [["--token", "short"], "at least 8"],
    [["-b", "term"], "takes a path"],
    [["--base-path", "/a/../b"], "takes a path"],
    [["--socket-mode", "999"], "octal"],
    [["-c", "nopassword"], "USER:PASSWORD"],
    [["--tls-cert", "c.pem"], "go together"],
    [["--allow-origin", "not a url"], "--allow-origin"],
    [["--port", "65536"], "--port"],
    [["-p", "abc"], "-p"],
    [["--port"], "needs a value"],
    [["--env", "NOEQUALS"], "KEY=VALUE"],
    [["--env", "1A=b"], "KEY=VALUE"],
    [["--bogus"], "unknown option --bogus"],
    [["-T", "x y"], "terminal name"],
    [["--max-sessions", "0"], "--max-sessions"],
    [["--log-level", "loud"], "--log-level"],
    [["--grace", "-1"], "--grace"],
    [["--allow-command", "=x"], "NAME=COMMAND"],
    [["--allow-command", "name="], "NAME=COMMAND"],
    [["--pool-size", "5", "--max-sessions", "5"], "--pool-size"],
    [["--log-format", "xml"], "--log-format must be one of text, json"],
    [["--record", ""], "--record must name a directory"],
    [["--record"], "needs a value"],
    [["--record", "d", "--record-max-bytes", "100"], "--record-max-bytes must be an integer from 4096"],
    [["--record", "d", "--record-max-bytes", "1e9"], "--record-max-bytes"],
    [["--record-max-bytes", "5000"], "needs --record"],
  ])("%p is refused with a reason", (args, why) => {
    const r = parseArgs(args as string[], {});
    expect(r.kind).toBe("error");
    if (r.kind === "error") expect(r.message).toContain(why);
  });
});

describe("one option table for flags, variables and --help", () => {
  test("every flag of the table is in --help, and every variable name is unique", () => {
    for (const o of OPTIONS) if (!o.noFlag) expect(USAGE).toContain(`${o.short ? `-${o.short}, ` : ""}--${o.name}`);
    expect(new Set(ENV_NAMES).size).toBe(ENV_NAMES.length);
    expect(ENV_NAMES).toContain("BUNTY_TOKEN");
    expect(ENV_NAMES).toContain("BUNTY_MAX_SESSIONS");
  });
  test("BUNTY_* variables set options; flags win; other BUNTY_ names are ignored", () => {
    const env = { BUNTY_PORT: "8080", BUNTY_HOST: "::1", BUNTY_MAX_SESSIONS: "9", BUNTY_LOG_LEVEL: "warn", BUNTY_READONLY: "1", BUNTY_TRUSTED_PROXY: "10.0.0.1,10.0.0.2", BUNTY_USER: "x", BUNTY_SESSION: "y" };
    expect(parseArgs([], env)).toMatchObject({ kind: "run", config: { port: 8080, host: "::1", maxSessions: 9, logLevel: "warn", readonly: true, trustedProxies: ["10.0.0.1", "10.0.0.2"] } });
    expect(parseArgs(["-p", "9", "--log-level", "debug", "--readonly=false"], env)).toMatchObject({ config: { port: 9, maxSessions: 9, logLevel: "debug", readonly: false } });
    expect(parseArgs([], { BUNTY_PORT: "" })).toMatchObject({ config: { port: 7681 } }); // empty = unset
    expect(parseArgs([], { BUNTY_PORT: "x" })).toEqual({ kind: "error", message: 'BUNTY_PORT must be an integer from 0 to 65535, got "x"', usage: false });
  });
  test("--token and --no-token: the higher source wins, the same source is a contradiction", () => {
    expect(parseArgs(["--no-token"], { BUNTY_TOKEN: "fromenv123" })).toMatchObject({ config: { token: null, noToken: true } });
    expect(parseArgs(["--token", "fromflag12"], { BUNTY_NO_TOKEN: "true" })).toMatchObject({ config: { token: "fromflag12", noToken: false } });
    expect(parseArgs(["--token", "fromflag12", "--no-token"], {})).toEqual({ kind: "error", message: "--token and --no-token contradict each other" });
  });
  test("switches take an optional =true/=false; --print-config asks for the settings", () => {
    expect(parseArgs(["--once=true", "--allow-embed=no"], {})).toMatchObject({ config: { once: true, allowEmbed: false } });
    expect(parseArgs(["--once=maybe"], {})).toMatchObject({ kind: "error", message: '--once must be true or false, got "maybe"' });
    expect(parseArgs(["--print-config", "-p", "1"], {})).toMatchObject({ kind: "print", config: { port: 1 } });
  });
});

describe("the bunty process", () => {
  test("a bad flag exits 2 with a one-line reason and the usage", () => {
    const r = run("--port", "nope");
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe('bunty: --port must be an integer from 0 to 65535, got "nope"');
    expect(r.err).toContain("Usage: bunty");
  });
  test("a --cwd that is not a directory exits 2", () => {
    const r = run("--cwd", "/nonexistent/dir");
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not a directory");
  });
  test("--help lists every option and exits 0", () => {
    const r = run("--help");
    expect(r.code).toBe(0);
    for (const flag of ["--port", "--host", "--cwd", "--term", "--env", "--max-sessions", "--grace", "--idle-timeout", "--pool-size", "--scrollback", "--allow-command", "--allow-any-command",
      "--token", "--no-token", "--credential", "--auth-header", "--trusted-proxy", "--allow-origin", "--allow-embed", "--no-auth", "--tls-cert", "--tls-key", "--tls-ca",
      "--readonly", "--max-clients", "--once", "--exit-no-conn", "--url-arg", "--base-path", "--socket-mode", "--log-level", "--log-format", "--record", "--record-max-bytes", "--metrics-public",
      "--help", "--version"]) expect(r.out).toContain(flag);
  });
  test("--version prints the version", () => {
    const r = run("--version");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^bunty \d+\.\d+\.\d+ \(\w+\)\n$/);
  });
  test("a port in use exits 1 with a reason", async () => {
    const holder = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    try {
      const r = run("--port", String(holder.port));
      expect(r.code).toBe(1);
      expect(r.err).toContain("cannot listen");
    } finally {
      holder.stop(true);
    }
  });
});
