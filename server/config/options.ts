// The option table: every option once, with its flag, type, default, help text and validation.
// It drives the command line and --help (cli.ts), config files and BUNTY_* environment
// variables (config.ts), what SIGHUP reloads, and the option list in docs/operations.md.

import { hostname } from "node:os";
import { Limits } from "../../protocol/index.ts";
import { PARSERS } from "../../protocol/options.ts";
import { WORKSPACE_PARSERS } from "../../protocol/workspace-options.ts";
import type { Config } from "./types.ts";

/** Bounds of --record-max-bytes: room for the header and the stop marker, and at most 1 TiB. */
export const RECORD_MIN_BYTES = 4096;
export const RECORD_MAX_BYTES = 2 ** 40;
/** Upper bound of --upload-max-bytes (1 TiB). */
export const UPLOAD_MAX_BYTES = 2 ** 40;
/** Upper bound of --drain-timeout (one day). */
export const DRAIN_TIMEOUT_MAX_S = 86400;
/** An instance name: it goes into URL prefixes, socket file names, log lines and metric labels as it is. */
export const INSTANCE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** --instance's default: this machine's host name, made to fit INSTANCE_RE (a container's, a pod's, or a VM's name). */
export const defaultInstance = (name = hostname()): string => name.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 63) || "bunty";
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export const LOG_FORMATS = ["text", "json"] as const;

/**
 * How values are given and combined. Text values (flags, environment variables, strings in a
 * file) go through `parse`. In a file: int = integer, bool = true/false, list = array of
 * strings, map = table, argv = array of strings. Lists and maps add up across sources.
 */
export type OptionType = "int" | "string" | "bool" | "list" | "map" | "argv";
/** Flags that are not settings: they make bunty do something else, or say where the settings are. */
export type Action = "help" | "version" | "printConfig";

export interface OptionSpec {
  key: keyof Config | Action;
  /** The long flag without its dashes, and the key in a config file (kebab-case). */
  name: string;
  short?: string;
  /** The value's placeholder in --help; none for switches. */
  arg?: string;
  type: OptionType;
  default: unknown;
  /** One paragraph for --help and the docs; `{default}` is replaced by the default. */
  help: string;
  section: "options" | "security" | "other";
  /** Checks and converts one text value; a map option returns [key, value]. Throws Error(reason); `label` names the flag or variable. */
  parse?(text: string, label: string): unknown;
  /** A map option's entry from a file table, when its value need not be text; returns [key, value]. */
  entry?(key: string, value: unknown, label: string): [string, unknown];
  /** Applied by SIGHUP to a running server; every other option needs a restart. */
  reload?: true;
  /** Shown as "***" by --print-config. */
  secret?: true;
  /** Not read from a config file / from a BUNTY_* variable / not a flag. */
  noFile?: true;
  noEnv?: true;
  noFlag?: true;
}

const isLoopbackAddress = (a: string) => a === "::1" || a === "localhost" || /^127\./.test(a) || /^::ffff:127\./i.test(a);

export function intIn(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}
const int = (min: number, max: number) => ({ type: "int" as const, parse: (v: string, label: string) => intIn(label, v, min, max) });
const oneOf = (values: readonly string[]) => (v: string, label: string) => {
  if (!values.includes(v)) throw new Error(`${label} must be one of ${values.join(", ")}`);
  return v;
};
const nonEmpty = (what: string) => (v: string, label: string) => {
  if (!v) throw new Error(`${label} must ${what}`);
  return v;
};
const NAME_RE = /^[\w.-]{1,64}$/;
/** Every page option's parser: the display's (protocol/options.ts) and the workspace's (protocol/workspace-options.ts). */
const PAGE_PARSERS: Readonly<Record<string, (raw: string) => unknown>> = { ...PARSERS, ...WORKSPACE_PARSERS };
const CLIENT_KEYS = Object.keys(PAGE_PARSERS).join(", ");
/** One page option, KEY=VALUE, checked by the same allow-list the page uses for its URL query. */
function clientOption(key: string, value: string, label: string): [string, string] {
  if (!Object.hasOwn(PAGE_PARSERS, key)) throw new Error(`${label}: unknown page option ${JSON.stringify(key.slice(0, 40))} (one of ${CLIENT_KEYS})`);
  if (PAGE_PARSERS[key]!(value) === undefined) throw new Error(`${label}: invalid value for ${key}: ${JSON.stringify(value.slice(0, 40))}${key.startsWith("key") ? " (a chord like Ctrl+Shift+E, not one the browser keeps, or none)" : ""}`);
  return [key, value];
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: "port", name: "port", short: "p", arg: "N", ...int(0, 65535), default: 7681, section: "options", help: "TCP port to listen on (default {default}; 0 picks a free port)" },
  { key: "host", name: "host", short: "i", arg: "ADDR", type: "string", default: "127.0.0.1", section: "options", parse: nonEmpty("not be empty"),
    help: "interface to bind (default {default}, loopback only); an IPv6 address (::1), or a unix socket path (/run/bunty.sock or unix:/path)" },
  { key: "socketMode", name: "socket-mode", arg: "M", type: "string", default: null, section: "options", help: "file mode of the unix socket, octal (e.g. 0660)",
    parse: (m) => {
      if (!/^0?[0-7]{3}$/.test(m)) throw new Error(`--socket-mode takes an octal mode like 0660, got ${JSON.stringify(m)}`);
      return parseInt(m, 8);
    } },
  { key: "basePath", name: "base-path", short: "b", arg: "P", type: "string", default: "", section: "options", help: "serve everything under the prefix P (e.g. /term), for reverse proxies",
    parse: (v, label) => {
      const b = v.replace(/\/+$/, "");
      if (b !== "" && (!/^(\/[A-Za-z0-9._~-]+)+$/.test(b) || b.split("/").some((seg) => seg === "." || seg === ".."))) throw new Error(`${label} takes a path like /term, got ${JSON.stringify(b)}`);
      return b;
    } },
  { key: "instance", name: "instance", arg: "NAME", type: "string", default: defaultInstance(), section: "options",
    help: "this instance's name among several behind one proxy (default: the host name, here {default}): in /api/health, every log line, a label of every metric, the page's title. Give each one its own prefix too: --instance a --base-path /i/a (docs/deploy.md)",
    parse: (v, label) => {
      if (!INSTANCE_RE.test(v)) throw new Error(`${label} takes a name of letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit), got ${JSON.stringify(v.slice(0, 80))}`);
      return v;
    } },
  { key: "drainTimeoutS", name: "drain-timeout", arg: "S", ...int(0, DRAIN_TIMEOUT_MAX_S), default: 0, section: "options", reload: true,
    help: "on SIGTERM (or POST /api/drain), drain first: take no new sessions, answer 503 to readiness (/readyz, /api/health), tell the pages, keep the sessions up to S seconds (until they end), then end them and exit. A second SIGTERM, or SIGINT, ends at once. Default {default}: SIGTERM ends at once" },
  { key: "cwd", name: "cwd", short: "w", arg: "DIR", type: "string", default: undefined, section: "options", help: "working directory for the command (default: the current one)" },
  { key: "term", name: "term", short: "T", arg: "NAME", type: "string", default: "xterm-256color", section: "options", help: "TERM for the command (default {default})",
    parse: (v, label) => {
      if (!/^[\w.+-]{1,64}$/.test(v)) throw new Error(`${label} must be a terminal name like xterm-256color`);
      return v;
    } },
  { key: "env", name: "env", arg: "KEY=VALUE", type: "map", default: {}, section: "options", noEnv: true, help: "set an environment variable for the command (repeatable)",
    parse: (kv) => {
      const k = kv.slice(0, Math.max(0, kv.indexOf("=")));
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`--env takes KEY=VALUE, got ${JSON.stringify(kv)}`);
      return [k, kv.slice(k.length + 1)];
    },
    entry: (k, v, label) => {
      if (typeof v !== "string") throw new Error(`${label}.${k} must be a string`);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`${label} has a bad variable name ${JSON.stringify(k)}`);
      return [k, v];
    } },
  { key: "clientOptions", name: "client-option", short: "t", arg: "KEY=VALUE", type: "map", default: {}, section: "options", reload: true, noEnv: true,
    help: `a default of the page, like ttyd's -t (repeatable): ${Object.keys(PARSERS).join(", ")}; predict (off, auto, always) and the workspace's shortcuts (keyNewTab, keySplitRight... =Ctrl+Shift+E or none; docs/client.md); e.g. -t fontSize=16 -t theme=light -t predict=off. The URL query (?fontSize=18) overrides it`,
    parse: (kv, label) => {
      const eqAt = kv.indexOf("=");
      if (eqAt < 1) throw new Error(`${label} takes KEY=VALUE, got ${JSON.stringify(kv.slice(0, 60))}`);
      return clientOption(kv.slice(0, eqAt), kv.slice(eqAt + 1), label);
    },
    entry: (k, v, label) => {
      if (!["string", "number", "boolean"].includes(typeof v)) throw new Error(`${label}.${k} must be a string, number or boolean`);
      return clientOption(k, String(v), label);
    } },
  { key: "maxSessions", name: "max-sessions", arg: "N", ...int(1, 100_000), default: 64, section: "options", reload: true, help: "most sessions alive at once (default {default}; warm spares not counted); a new one ends a detached session to make room, and is refused only when every session has a client" },
  { key: "maxDetached", name: "max-detached", arg: "N", ...int(0, 100_000), default: 32, section: "options", reload: true,
    help: "most sessions kept without a client (default {default}); past it, or when a new session needs room under --max-sessions, the detached session least worth keeping is ended (never typed in first, then the longest detached)" },
  { key: "graceS", name: "grace", arg: "S", ...int(0, 7 * 86400), default: 300, section: "options", reload: true,
    help: "seconds a session without clients lives on (default {default}); 0 ends a session with its last client (the ttyd behaviour)" },
  { key: "idleTimeoutS", name: "idle-timeout", arg: "S", ...int(0, 30 * 86400), default: 0, section: "options", reload: true, help: "end sessions with no input or output for S seconds (default 0: never)" },
  { key: "poolSize", name: "pool-size", arg: "N", ...int(0, 1000), default: null, section: "options", reload: true,
    help: "keep N warm spares of the default command started, so a new tab gets a prompt without waiting for the shell (default 1 when no COMMAND is given: the login shell; 0 with a COMMAND, which starts only when a tab asks for it); spares are nobody's session" },
  { key: "scrollback", name: "scrollback", arg: "N", ...int(0, 100_000), default: 1000, section: "options", help: "lines of scrollback restored on reattach (default {default})" },
  { key: "allowCommands", name: "allow-command", arg: "NAME=CMD [ARGS]", type: "map", default: {}, section: "options", reload: true, noEnv: true,
    help: "let POST /api/sessions start CMD by NAME (repeatable; split on spaces, no shell; in a file: NAME = \"CMD ARGS\" or NAME = [argv])",
    parse: (v) => {
      const eqAt = v.indexOf("=");
      const argv = v.slice(eqAt + 1).split(/\s+/).filter(Boolean);
      if (eqAt < 1 || !NAME_RE.test(v.slice(0, eqAt)) || argv.length === 0) throw new Error(`--allow-command takes NAME=COMMAND [ARGS], got ${JSON.stringify(v)}`);
      return [v.slice(0, eqAt), argv];
    },
    entry: (k, v, label) => {
      if (!NAME_RE.test(k)) throw new Error(`${label} has a bad command name ${JSON.stringify(k)}`);
      const argv = typeof v === "string" ? v.split(/\s+/).filter(Boolean) : v;
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) throw new Error(`${label}.${k} must be a command: a non-empty string or array of strings`);
      return [k, argv];
    } },
  { key: "allowAnyCommand", name: "allow-any-command", type: "bool", default: false, section: "options", reload: true, help: "let POST /api/sessions start any argv (dangerous; off by default)" },
  { key: "logLevel", name: "log-level", arg: "L", type: "string", default: "info", section: "options", reload: true, parse: oneOf(LOG_LEVELS),
    help: `${LOG_LEVELS.slice(0, -1).join(", ")} or silent (default {default}); logs go to stderr` },
  { key: "logFormat", name: "log-format", arg: "F", type: "string", default: "text", section: "options", reload: true, parse: oneOf(LOG_FORMATS),
    help: "text or json (one object per line: time, level, event, fields; default {default})" },
  { key: "record", name: "record", arg: "DIR", type: "string", default: null, section: "options", parse: nonEmpty("name a directory"),
    help: "record every session as an asciicast v2 file DIR/<time>-<session>.cast (listed at GET /recordings; play with asciinema play)" },
  { key: "recordMaxBytes", name: "record-max-bytes", arg: "N", ...int(RECORD_MIN_BYTES, RECORD_MAX_BYTES), default: 100 * 1024 * 1024, section: "options",
    help: "largest recording file (default {default}, 100 MiB); its recording stops there with a marker event" },
  { key: "uploadMaxBytes", name: "upload-max-bytes", arg: "N", ...int(0, UPLOAD_MAX_BYTES), default: 1024 * 1024 * 1024, section: "options",
    help: "largest file that can be uploaded by dropping it on the page (default {default}, 1 GiB); 0 turns uploads off" },
  { key: "metricsPublic", name: "metrics-public", type: "bool", default: false, section: "options", reload: true, help: "serve GET /metrics (Prometheus text format) without authentication" },
  { key: "configFile", name: "config", arg: "FILE", type: "string", default: undefined, section: "options", noFile: true, parse: nonEmpty("name a file"),
    help: "read options from a .toml or .json file (keys are the long option names: port = 8080); flags and BUNTY_* variables override it; SIGHUP rereads it" },
  { key: "printConfig", name: "print-config", type: "bool", default: false, section: "options", noFile: true, noEnv: true,
    help: "print the effective options as JSON (secrets as \"***\") and exit" },
  { key: "command", name: "command", type: "argv", default: [], section: "options", noFlag: true, noEnv: true,
    help: "the program and its arguments (given after the options on the command line; default: $SHELL, else /bin/sh)" },

  { key: "token", name: "token", arg: "T", type: "string", default: null, section: "security", secret: true, reload: true,
    help: "access token (default: a random one, printed once in the URL line). Browsers trade it for a sign-in cookie. On the command line every local user can read it (/proc/PID/cmdline): prefer BUNTY_TOKEN or --token-file. A new one on SIGHUP signs every page out",
    parse: (v, label) => {
      if (v.length < 8) throw new Error(`${label} must be at least 8 characters`);
      return v;
    } },
  { key: "tokenFile", name: "token-file", arg: "FILE", type: "string", default: null, section: "security", parse: nonEmpty("name a file"),
    help: "read the access token from FILE (its first line; keep it mode 0600), instead of --token; SIGHUP rereads it" },
  { key: "noToken", name: "no-token", type: "bool", default: false, section: "security", help: "no token (for loopback use, or with -c / --auth-header)" },
  { key: "credential", name: "credential", short: "c", arg: "U:P", type: "string", default: null, section: "security", secret: true, help: "HTTP basic authentication",
    parse: (v, label) => {
      if (!/^[^:]+:.+$/.test(v)) throw new Error(`${label} takes USER:PASSWORD`);
      return v;
    } },
  { key: "authHeader", name: "auth-header", arg: "H", type: "string", default: null, section: "security",
    help: "trust this header, set by a reverse proxy, as the user's name; only from the proxy, which bunty must be able to tell from everyone else: --proxy-secret-file, a unix socket only the proxy may open (-i PATH, --socket-mode without access for others), or --trusted-proxy; the child gets BUNTY_USER",
    parse: (v, label) => {
      if (!/^[A-Za-z0-9-]{1,64}$/.test(v)) throw new Error(`${label} takes a header name`);
      return v;
    } },
  { key: "trustedProxies", name: "trusted-proxy", arg: "A", type: "list", default: [], section: "security",
    help: "the reverse proxy's address, not loopback (repeatable): its --auth-header and X-Forwarded-For are believed",
    parse: (v, label) => {
      if (isLoopbackAddress(v)) throw new Error(`${label} ${v}: a loopback address cannot be told apart from any local user; use --proxy-secret-file or a unix socket (docs/security.md)`);
      return v;
    } },
  { key: "proxySecretFile", name: "proxy-secret-file", arg: "FILE", type: "string", default: null, section: "security", parse: nonEmpty("name a file"),
    help: "a secret (FILE's first line) the reverse proxy adds to every request as X-Bunty-Proxy-Secret: requests with it come from the proxy (its --auth-header and X-Forwarded-For are believed)" },
  { key: "allowHosts", name: "allow-host", arg: "NAME", type: "list", default: [], section: "security", reload: true,
    help: "also answer requests for this host name (repeatable); by default only IP addresses, localhost, this machine's name and the names in --allow-origin are answered (421 for others: DNS rebinding)",
    parse: (v, label) => {
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(v)) throw new Error(`${label} takes a host name like term.example.com, got ${JSON.stringify(v)}`);
      return v.toLowerCase();
    } },
  { key: "allowOrigins", name: "allow-origin", arg: "O", type: "list", default: [], section: "security", reload: true,
    help: "also accept WebSockets and API calls from this Origin (repeatable)",
    parse: (o, label) => {
      try {
        return new URL(o).origin;
      } catch {
        throw new Error(`${label} takes an origin like https://example.com, got ${JSON.stringify(o)}`);
      }
    } },
  { key: "allowEmbed", name: "allow-embed", type: "bool", default: false, section: "security", help: "let other sites show the page in a frame (default: refused)" },
  { key: "noAuth", name: "no-auth", type: "bool", default: false, section: "security", help: "allow a non-loopback --host with no authentication (dangerous)" },
  { key: "tlsCert", name: "tls-cert", arg: "FILE", type: "string", default: null, section: "security", help: "serve HTTPS and WSS with this certificate (with --tls-key)" },
  { key: "tlsKey", name: "tls-key", arg: "FILE", type: "string", default: null, section: "security", help: "the private key of --tls-cert" },
  { key: "tlsCa", name: "tls-ca", arg: "FILE", type: "string", default: null, section: "security", help: "require client certificates signed by this CA" },
  { key: "readonly", name: "readonly", short: "R", type: "bool", default: false, section: "security", reload: true, help: "every client is view-only" },
  { key: "maxClients", name: "max-clients", short: "m", arg: "N", ...int(0, 100_000), default: 0, section: "security", reload: true, help: "most WebSocket clients at once (default 0: no limit)" },
  { key: "once", name: "once", short: "o", type: "bool", default: false, section: "security", help: "serve one client, exit when its session ends" },
  { key: "exitNoConn", name: "exit-no-conn", type: "bool", default: false, section: "security", help: "exit when the last client disconnects" },
  { key: "noFileTransfer", name: "no-file-transfer", type: "bool", default: false, section: "security",
    help: "turn file transfer off: no uploads (dropping files on the page) and no downloads (bunty-get)" },
  { key: "urlArgs", name: "url-arg", short: "a", type: "bool", default: false, section: "security",
    help: `let ?arg=X URL parameters add arguments to new sessions' command (appended as argv, never through a shell; at most ${Limits.maxUrlArgs}, ${Limits.maxUrlArgBytes} bytes each)` },

  { key: "help", name: "help", short: "h", type: "bool", default: false, section: "other", noFile: true, noEnv: true, help: "print this help and exit" },
  { key: "version", name: "version", short: "v", type: "bool", default: false, section: "other", noFile: true, noEnv: true, help: "print the version and exit" },
];

const ACTIONS: readonly string[] = ["help", "version", "printConfig"] satisfies Action[];
/** The options that are settings (in Config), not actions. */
export const SETTINGS = OPTIONS.filter((o) => !ACTIONS.includes(o.key)) as (OptionSpec & { key: keyof Config })[];
/** The environment variable of an option: BUNTY_ and the long name in upper snake case (--max-sessions: BUNTY_MAX_SESSIONS); null for none. */
export const envName = (o: OptionSpec): string | null => (o.noEnv ? null : `BUNTY_${o.name.toUpperCase().replaceAll("-", "_")}`);
export const ENV_NAMES: readonly string[] = OPTIONS.flatMap((o) => envName(o) ?? []);
export const helpText = (o: OptionSpec): string => o.help.replaceAll("{default}", String(o.default));
/** Every setting at its built-in default (fresh arrays and objects). */
export const defaults = (): Config => Object.fromEntries(SETTINGS.map((o) => [o.key, structuredClone(o.default)])) as unknown as Config;
