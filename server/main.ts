// Entry point: parse flags, start the server, print the URL line, handle signals.

import { stat } from "node:fs/promises";
import { isLoopback, newToken } from "./auth.ts";
import { COMMIT, parseArgs, USAGE, VERSION } from "./cli.ts";
import { startServer, unixPath } from "./app.ts";
import { createLogger } from "./log.ts";
import { SESSION_END_BOUND_MS } from "./session.ts";

/** After SIGTERM/SIGINT the process exits by this deadline even if something hangs. */
const SHUTDOWN_DEADLINE_MS = SESSION_END_BOUND_MS + 1500; // covers pool.endAll's slack (500) and the recordings' CLOSE_DEADLINE_MS (500)

const parsed = parseArgs(process.argv.slice(2));
if (parsed.kind === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (parsed.kind === "version") {
  console.log(`bunty ${VERSION} (${COMMIT})`);
  process.exit(0);
}
if (parsed.kind === "error") {
  console.error(`bunty: ${parsed.message}\n\n${USAGE}`);
  process.exit(2);
}
const config = parsed.config;
if (config.cwd) {
  const st = await stat(config.cwd).catch(() => null);
  if (!st?.isDirectory()) {
    console.error(`bunty: --cwd ${JSON.stringify(config.cwd)} is not a directory\n\n${USAGE}`);
    process.exit(2);
  }
}

// Secure by default: a token unless told otherwise, and no unauthenticated listener beyond loopback.
if (!config.noToken && config.token === null) config.token = newToken();
if (config.noToken) config.token = null;
const authenticated = config.token !== null || config.credential !== null || config.authHeader !== null;
// A unix socket is reachable only through the file system, so it counts as local.
const loopbackOnly = isLoopback(config.host) || config.host === "localhost" || unixPath(config.host) !== null;
if (!loopbackOnly && !authenticated && !config.noAuth) {
  console.error(`bunty: refusing to serve a shell on ${config.host} without authentication: anyone who can reach it gets your shell. Drop --no-token, or add -c USER:PASS or --auth-header, or pass --no-auth if you really mean it.`);
  process.exit(2);
}

const log = createLogger(config.logLevel, config.logFormat);
if (!loopbackOnly && !authenticated) log("security.no_auth", { host: config.host, message: "NO AUTHENTICATION on a non-loopback address: anyone who can reach this port gets a shell" }, "warn");
if (config.readonly) log("security.readonly", { message: "read-only: every client is view-only (-R)" }, "warn");
let server: Awaited<ReturnType<typeof startServer>>;
try {
  server = await startServer(config, log);
} catch (e) {
  const msg = (e as Error).message;
  console.error(/EADDRINUSE|EACCES|in use|listen|address/i.test(msg + String((e as { code?: string }).code)) ? `bunty: cannot listen on ${config.host}:${config.port}: ${msg}` : `bunty: cannot start: ${msg}`);
  process.exit(1);
}
// The one place the token is shown: the URL to open.
const where = unixPath(config.host) ? ` on unix socket ${unixPath(config.host)}, path` : "";
console.log(`bunty ${VERSION} serving ${JSON.stringify(config.command.join(" "))}${config.readonly ? " read-only" : ""}${where} at ${server.openUrl.href}`);

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    log("server.stop", { signal: sig, sessions: server.pool.size });
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
    server.shutdown().then(() => process.exit(0));
  });
}
