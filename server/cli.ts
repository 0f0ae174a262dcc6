// The command line: parses argv into a Config (with the config file and BUNTY_* variables it
// names, config.ts), and the --help text. Every option is described once, in options.ts.

import pkg from "../package.json" with { type: "json" };
import { envLayer, fileLayer, fromText, put, readConfigFile, resolve, SourceError, type Layer, type Source } from "./config.ts";
import { helpText, OPTIONS, SETTINGS, type OptionSpec } from "./options.ts";

export { RECORD_MAX_BYTES, RECORD_MIN_BYTES, URL_ARG_MAX_BYTES, URL_ARG_MAX_COUNT } from "./options.ts";

export const VERSION: string = pkg.version;
/** Set at build time by scripts/build.ts (--define); "dev" when run from source. */
declare const BUNTY_COMMIT: string | undefined;
export const COMMIT: string = typeof BUNTY_COMMIT === "string" ? BUNTY_COMMIT : "dev";

export interface Config {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind. */
  host: string;
  /** Working directory for programs; default: the server's. */
  cwd?: string;
  /** TERM given to programs. */
  term: string;
  /** Extra environment for programs, from --env (applied over the server's own). */
  env: Record<string, string>;
  /** The page's display defaults, from -t key=value (checked against protocol/options.ts); the URL query overrides them. */
  clientOptions: Record<string, string>;
  /** Most sessions alive at once (warm spares not counted). */
  maxSessions: number;
  /** Most sessions kept without a client; past it the least worth keeping is ended. */
  maxDetached: number;
  /** Seconds a session without clients lives on; 0 = it ends with its last client. */
  graceS: number;
  /** End sessions with no input or output for this many seconds; 0 = never. */
  idleTimeoutS: number;
  /** Warm spares of the default command kept started. */
  poolSize: number;
  /** Lines of scrollback kept in each session's server-side screen model (sent on attach). */
  scrollback: number;
  /** Commands POST /api/sessions may start, by name. */
  allowCommands: Record<string, string[]>;
  /** POST /api/sessions may start any argv (dangerous; off by default). */
  allowAnyCommand: boolean;
  /** The access token; null = generate one at start (unless noToken). From --token, BUNTY_TOKEN or --token-file. */
  token: string | null;
  /** --token-file: where the token is read from at start (and on SIGHUP). */
  tokenFile: string | null;
  /** --no-token: no token authentication (loopback use, or with another method). */
  noToken: boolean;
  /** --no-auth: allow a non-loopback bind with no authentication at all (loudly warned). */
  noAuth: boolean;
  /** user:pass for HTTP basic authentication. */
  credential: string | null;
  /** Header a reverse proxy sets to the authenticated user. */
  authHeader: string | null;
  /** The reverse proxy's addresses (never loopback): their user header and X-Forwarded-For are believed. */
  trustedProxies: string[];
  /** --proxy-secret-file: the file with the secret the proxy sends in X-Bunty-Proxy-Secret. */
  proxySecretFile: string | null;
  /** That secret, read from the file at start (not an option). */
  proxySecret?: string | null;
  /** Extra host names requests may name (the Host allow-list against DNS rebinding). */
  allowHosts: string[];
  /** Extra origins allowed to open WebSockets (reverse proxies). */
  allowOrigins: string[];
  /** Allow the page to be embedded in frames of other origins. */
  allowEmbed: boolean;
  tlsCert: string | null;
  tlsKey: string | null;
  /** CA file: require client certificates signed by it. */
  tlsCa: string | null;
  /** Every client is view-only. */
  readonly: boolean;
  /** Every route under this prefix ("" = none), e.g. "/term" behind a reverse proxy. */
  basePath: string;
  /** File mode for a unix socket (-i /path.sock), or null for the default. */
  socketMode: number | null;
  /** Most WebSocket clients at once; 0 = no limit. */
  maxClients: number;
  /** Serve one client, exit when its session ends. */
  once: boolean;
  /** Exit when the last client disconnects. */
  exitNoConn: boolean;
  /** Let `?arg=` URL parameters append arguments to the command of new sessions. */
  urlArgs: boolean;
  /** Minimum log level, or silent. */
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Log lines as `time level event key=value...` (text) or one JSON object per line (json). */
  logFormat: "text" | "json";
  /** Serve GET /metrics without authentication (for a Prometheus scraper). */
  metricsPublic: boolean;
  /** Directory where every session is recorded as an asciicast v2 file; null = no recording. */
  record: string | null;
  /** Largest recording file, in bytes; recording of that session stops there. */
  recordMaxBytes: number;
  /** Largest upload (PUT /api/sessions/:id/files), in bytes; 0 = uploads off. */
  uploadMaxBytes: number;
  /** --no-file-transfer: no uploads, no bunty-get downloads. */
  noFileTransfer: boolean;
  /** Program and arguments; default: $SHELL, else /bin/sh. */
  command: string[];
  /** --config / BUNTY_CONFIG: the file the settings were read from (reread on SIGHUP). */
  configFile?: string;
}

/** The built-in defaults of the single-valued settings (from the option table). */
export const DEFAULTS = Object.fromEntries(
  SETTINGS.filter((o) => !["list", "map", "argv"].includes(o.type) && o.default !== undefined).map((o) => [o.key, o.default]),
) as Omit<Config, "env" | "clientOptions" | "allowCommands" | "trustedProxies" | "allowOrigins" | "allowHosts" | "command" | "cwd" | "configFile">;

const WIDTH = 100;
const COL = 24;
/** One option's lines in --help: the flag, then its help text wrapped at WIDTH in a column at COL. */
function usageLines(o: OptionSpec): string {
  const left = `  ${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`;
  const lines: string[] = [];
  let line = "";
  for (const word of helpText(o).split(" ")) {
    if (line && COL + line.length + 1 + word.length > WIDTH) lines.push(line), (line = word);
    else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  const first = left.length < COL ? `${left.padEnd(COL)}${lines.shift()}` : left;
  return [first, ...lines.map((l) => " ".repeat(COL) + l)].join("\n");
}
const section = (s: OptionSpec["section"]) => OPTIONS.filter((o) => o.section === s && !o.noFlag).map(usageLines).join("\n");

export const USAGE = `Usage: bunty [options] [--] [command [args...]]

Serves a terminal running COMMAND (default: $SHELL, else /bin/sh) to a browser tab.
Open the URL it prints. Each new tab starts a session; a session outlives its connection for
the grace period, so a reload or a dropped network reattaches to the same shell and screen.

Options:
${section("options")}
Security (docs/security.md):
${section("security")}

${section("other")}

Options can also be set in the --config file (by their long names: max-sessions = 10) and in
environment variables (BUNTY_MAX_SESSIONS=10); flags win over variables, variables over the file.
On start, bunty prints one line with the URL to open (http://HOST:PORT/).
Protocol, limits and close codes: docs/protocol.md. Options, metrics, logs, recordings: docs/operations.md.
Exit status: 0 after SIGTERM/SIGINT, 2 for bad options, 1 when the server cannot start.`;

export type ParseResult =
  | { kind: "run"; config: Config }
  | { kind: "print"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  /** `usage: false`: the problem is in the config file or an environment variable, not the command line. */
  | { kind: "error"; message: string; usage?: false };

const BY_FLAG = new Map(OPTIONS.filter((o) => !o.noFlag).flatMap((o) => [[`--${o.name}`, o], ...(o.short ? [[`-${o.short}`, o] as const] : [])]));
const COMMAND = OPTIONS.find((o) => o.key === "command")!;
const CONFIG = OPTIONS.find((o) => o.key === "configFile")!;

/**
 * Parses argv (without the runtime and script), reading the config file it or BUNTY_CONFIG names.
 * Options stop at `--` or the first non-option. Switches take an optional =true/=false.
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): ParseResult {
  const flags: Layer = new Map();
  let print = false;
  try {
    let i = 0;
    for (; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") {
        i++;
        break;
      }
      if (!arg.startsWith("-") || arg === "-") break;
      const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      const o = BY_FLAG.get(name);
      if (!o) throw new Error(`unknown option ${name}`);
      let text: string;
      if (o.type === "bool") text = eq > 0 ? arg.slice(eq + 1) : "true";
      else if (eq > 0) text = arg.slice(eq + 1);
      else if (argv[i + 1] === undefined) throw new Error(`${name} needs a value`);
      else text = argv[++i]!;
      const v = fromText(o, text, name);
      if (o.key === "help" || o.key === "version") {
        if (v) return { kind: o.key };
      } else if (o.key === "printConfig") print = v as boolean;
      else put(flags, o, v);
    }
    if (i < argv.length) put(flags, COMMAND, argv.slice(i));
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  try {
    const vars = envLayer(env);
    const file = (flags.get(CONFIG) ?? vars.get(CONFIG)) as string | undefined;
    const layers: [Source, Layer][] = [["env", vars], ["flag", flags]];
    if (file !== undefined) layers.unshift(["file", fileLayer(file, readConfigFile(file))]);
    const config = resolve(layers, env);
    return { kind: print ? "print" : "run", config };
  } catch (e) {
    return e instanceof SourceError ? { kind: "error", message: e.message, usage: false } : { kind: "error", message: (e as Error).message };
  }
}
