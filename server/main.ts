// Entry point: parse flags (and the config file, and BUNTY_* variables), start the server, print
// the URL line, handle signals: SIGTERM drains it (with --drain-timeout) or stops it, a second
// SIGTERM or SIGINT stops it at once, SIGHUP rereads the config file.

import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { isLoopback, newToken } from "./web/auth.ts";
import { parseArgs, USAGE } from "./config/cli.ts";
import { COMMIT, VERSION } from "./core/version.ts";
import { changes, printable, reloaded } from "./config/config.ts";
import { startServer, unixPath } from "./app.ts";
import { createLogger, type LogFn } from "./core/log.ts";
import { raiseOwnPriority } from "./core/sched.ts";
import { SESSION_END_BOUND_MS } from "./core/session.ts";

/** After SIGTERM/SIGINT the process exits by this deadline even if something hangs. */
const SHUTDOWN_DEADLINE_MS = SESSION_END_BOUND_MS + 1500; // covers pool.endAll's slack (500) and the recordings' CLOSE_DEADLINE_MS (500)

const argv = process.argv.slice(2);
const parsed = parseArgs(argv);
if (parsed.kind === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (parsed.kind === "version") {
  console.log(`bunty ${VERSION} (${COMMIT})`);
  process.exit(0);
}
if (parsed.kind === "error") {
  console.error(`bunty: ${parsed.message}${parsed.usage === false ? "" : `\n\n${USAGE}`}`);
  process.exit(2);
}
/** A secret's first line from a file (read at start, and again on SIGHUP; a small local file). Throws Error(reason). */
function secretFrom(file: string, flag: string, min: number): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${flag} ${file}: ${(e as Error).message}`);
  }
  const secret = text.split("\n")[0]!.trim();
  if (secret.length < min) throw new Error(`${flag} ${file}: the secret must be at least ${min} characters on the first line`);
  return secret;
}
const readSecrets = (c: typeof config) => {
  if (c.tokenFile) c.token = secretFrom(c.tokenFile, "--token-file", 8);
  if (c.proxySecretFile) c.proxySecret = secretFrom(c.proxySecretFile, "--proxy-secret-file", 16);
};
let config = parsed.config;
try {
  readSecrets(config);
} catch (e) {
  console.error(`bunty: ${(e as Error).message}`);
  process.exit(2);
}
if (config.cwd) {
  const st = await stat(config.cwd).catch(() => null);
  if (!st?.isDirectory()) {
    console.error(`bunty: --cwd ${JSON.stringify(config.cwd)} is not a directory\n\n${USAGE}`);
    process.exit(2);
  }
}

// Secure by default: a token unless told otherwise, and no unauthenticated listener beyond loopback.
const authenticated = !config.noToken || config.credential !== null || config.authHeader !== null;
// A unix socket is reachable only through the file system, so it counts as local.
const loopbackOnly = isLoopback(config.host) || config.host === "localhost" || unixPath(config.host) !== null;
if (!loopbackOnly && !authenticated && !config.noAuth) {
  console.error(`bunty: refusing to serve a shell on ${config.host} without authentication: anyone who can reach it gets your shell. Drop --no-token, or add -c USER:PASS or --auth-header, or pass --no-auth if you really mean it.`);
  process.exit(2);
}
// After every check a start makes, so --print-config also says whether the settings would start.
if (parsed.kind === "print") {
  console.log(printable(config));
  process.exit(0);
}
const generatedToken = !config.noToken && config.token === null;
if (generatedToken) config.token = newToken();
if (config.noToken) config.token = null;

// Through a variable, so that SIGHUP can change the level and format of every later line.
let logTo = createLogger(config.logLevel, config.logFormat, config.instance);
const log: LogFn = (event, fields, level) => logTo(event, fields, level);
if (!loopbackOnly && !authenticated) log("security.no_auth", { host: config.host, message: "NO AUTHENTICATION on a non-loopback address: anyone who can reach this port gets a shell" }, "warn");
if (config.readonly) log("security.readonly", { message: "read-only: every client is view-only (-R)" }, "warn");
if (argv.some((a) => a === "--token" || a.startsWith("--token=")))
  log("security.token_on_command_line", { message: "--token on the command line can be read by every local user (/proc/PID/cmdline, ps); use BUNTY_TOKEN or --token-file" }, "warn");
let server: Awaited<ReturnType<typeof startServer>>;
/** However a drain began (a signal, POST /api/drain), the process exits once it is done, or by the deadline after its sessions' end. */
const onDrain = (inMs: number, done: Promise<void>) => {
  setTimeout(() => process.exit(0), inMs + SHUTDOWN_DEADLINE_MS).unref();
  void done.then(() => process.exit(0));
};
try {
  server = await startServer(config, log, { onDrain });
} catch (e) {
  const msg = (e as Error).message;
  console.error(/EADDRINUSE|EACCES|in use|listen|address/i.test(msg + String((e as { code?: string }).code)) ? `bunty: cannot listen on ${config.host}:${config.port}: ${msg}` : `bunty: cannot start: ${msg}`);
  process.exit(1);
}
// A busy terminal must not starve the server that serves them all (sched.ts).
const priority = await raiseOwnPriority();
log("server.priority", priority, "debug");
// The one place the token is shown: the URL to open.
const where = unixPath(config.host) ? ` on unix socket ${unixPath(config.host)}, path` : "";
console.log(`bunty ${VERSION} serving ${JSON.stringify(config.command.join(" "))}${config.readonly ? " read-only" : ""}${where} at ${server.openUrl.href}`);

const stopNow = (sig: NodeJS.Signals) => {
  log("server.stop", { signal: sig, sessions: server.pool.size });
  setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
  server.shutdown().then(() => process.exit(0));
};
// The first SIGTERM drains (--drain-timeout; what systemd, Kubernetes and docker stop send), or
// joins a drain POST /api/drain began; a second one, or SIGINT (Ctrl-C), ends everything at once.
let terms = 0;
process.on("SIGTERM", () => {
  if (++terms === 1 && (server.draining || config.drainTimeoutS > 0)) return void server.drain(config.drainTimeoutS * 1000, "SIGTERM");
  stopNow("SIGTERM");
});
process.on("SIGINT", () => stopNow("SIGINT"));

/**
 * SIGHUP (only with a config file; without one it ends the process, as by default): rereads the
 * file, with the same flags and environment, and applies the options marked `reload` in
 * options.ts. A file that does not parse or check is logged and the running settings are kept;
 * other changed options are logged as needing a restart. Live sessions are never touched.
 */
function reload(file: string): void {
  const r = parseArgs(argv);
  if (r.kind !== "run") return log("config.reload_failed", { file, message: r.kind === "error" ? r.message : r.kind }, "error");
  const next = r.config;
  try {
    readSecrets(next);
  } catch (e) {
    return log("config.reload_failed", { file, message: (e as Error).message }, "error");
  }
  if (generatedToken && next.token === null && !next.noToken) next.token = config.token; // still none given: keep the one made at start
  const { applied, ignored } = changes(config, next);
  if (ignored.length) log("config.ignored", { file, options: ignored, message: "these options change only with a restart" }, "warn");
  config = reloaded(config, next);
  if (applied.includes("log-level") || applied.includes("log-format")) logTo = createLogger(config.logLevel, config.logFormat, config.instance);
  server.update(config);
  log("config.reload", { file, applied });
  if (applied.includes("readonly") && config.readonly) log("security.readonly", { message: "read-only: every client that connects from now on is view-only (-R)" }, "warn");
}
if (config.configFile !== undefined) {
  const file = config.configFile;
  process.on("SIGHUP", () => reload(file));
}
