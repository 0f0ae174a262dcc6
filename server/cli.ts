// The command line: parses argv into a Config, and the --help text. No I/O here except
// what parseArgs returns for main.ts to print.

import pkg from "../package.json" with { type: "json" };

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
  /** Most sessions alive at once (warm spares included). */
  maxSessions: number;
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
  /** The access token; null = generate one at start (unless noToken). From --token or BUNTY_TOKEN. */
  token: string | null;
  /** --no-token: no token authentication (loopback use, or with another method). */
  noToken: boolean;
  /** --no-auth: allow a non-loopback bind with no authentication at all (loudly warned). */
  noAuth: boolean;
  /** user:pass for HTTP basic authentication. */
  credential: string | null;
  /** Header a reverse proxy sets to the authenticated user. */
  authHeader: string | null;
  /** Peer addresses trusted to set authHeader (default: loopback). */
  trustedProxies: string[];
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
  /** Program and arguments; default: $SHELL, else /bin/sh. */
  command: string[];
}

export const DEFAULTS = {
  port: 7681, host: "127.0.0.1", term: "xterm-256color", maxSessions: 64, logLevel: "info", logFormat: "text",
  metricsPublic: false, record: null, recordMaxBytes: 100 * 1024 * 1024,
  graceS: 300, idleTimeoutS: 0, poolSize: 0, scrollback: 1000, allowAnyCommand: false,
  token: null, noToken: false, noAuth: false, credential: null, authHeader: null, allowEmbed: false,
  tlsCert: null, tlsKey: null, tlsCa: null, readonly: false, basePath: "", socketMode: null, maxClients: 0, once: false, exitNoConn: false, urlArgs: false,
} as const;
/** Bounds of --record-max-bytes: room for the header and the stop marker, and at most 1 TiB. */
export const RECORD_MIN_BYTES = 4096;
export const RECORD_MAX_BYTES = 2 ** 40;
/** With -a/--url-arg: at most this many `arg` parameters, each at most URL_ARG_MAX_BYTES. */
export const URL_ARG_MAX_COUNT = 16;
export const URL_ARG_MAX_BYTES = 256;

export const USAGE = `Usage: bunty [options] [--] [command [args...]]

Serves a terminal running COMMAND (default: $SHELL, else /bin/sh) to a browser tab.
Open the URL it prints. Each new tab starts a session; a session outlives its connection for
the grace period, so a reload or a dropped network reattaches to the same shell and screen.

Options:
  -p, --port N          TCP port to listen on (default ${DEFAULTS.port}; 0 picks a free port)
  -i, --host ADDR       interface to bind (default ${DEFAULTS.host}, loopback only); an IPv6
                        address (::1), or a unix socket path (/run/bunty.sock or unix:/path)
      --socket-mode M   file mode of the unix socket, octal (e.g. 0660)
  -b, --base-path P     serve everything under the prefix P (e.g. /term), for reverse proxies
  -w, --cwd DIR         working directory for the command (default: the current one)
  -T, --term NAME       TERM for the command (default ${DEFAULTS.term})
      --env KEY=VALUE   set an environment variable for the command (repeatable)
      --max-sessions N  most sessions alive at once (default ${DEFAULTS.maxSessions}); more are refused
      --grace S         seconds a session without clients lives on (default ${DEFAULTS.graceS});
                        0 ends a session with its last client (the ttyd behaviour)
      --idle-timeout S  end sessions with no input or output for S seconds (default 0: never)
      --pool-size N     keep N warm spares of the default command started, so a new tab
                        gets a prompt without waiting for the shell (default ${DEFAULTS.poolSize})
      --scrollback N    lines of scrollback restored on reattach (default ${DEFAULTS.scrollback})
      --allow-command NAME=CMD [ARGS]
                        let POST /api/sessions start CMD by NAME (repeatable; split on spaces,
                        no shell)
      --allow-any-command
                        let POST /api/sessions start any argv (dangerous; off by default)
      --log-level L     debug, info, warn, error or silent (default ${DEFAULTS.logLevel}); logs go to stderr
      --log-format F    text or json (one object per line: time, level, event, fields;
                        default ${DEFAULTS.logFormat})
      --record DIR      record every session as an asciicast v2 file DIR/<time>-<session>.cast
                        (listed at GET /recordings; play with asciinema play)
      --record-max-bytes N
                        largest recording file (default ${DEFAULTS.recordMaxBytes}, 100 MiB); its
                        recording stops there with a marker event
      --metrics-public  serve GET /metrics (Prometheus text format) without authentication
Security (docs/security.md):
      --token T         access token (default: a random one, printed once in the URL line;
                        also BUNTY_TOKEN). Browsers trade it for an HttpOnly cookie.
      --no-token        no token (for loopback use, or with -c / --auth-header)
  -c, --credential U:P  HTTP basic authentication
      --auth-header H   trust this header, set by a reverse proxy, as the user's name; only
                        from loopback peers or --trusted-proxy addresses; the child gets BUNTY_USER
      --trusted-proxy A peer address allowed to set --auth-header (repeatable)
      --allow-origin O  also accept WebSockets and API calls from this Origin (repeatable)
      --allow-embed     let other sites show the page in a frame (default: refused)
      --no-auth         allow a non-loopback --host with no authentication (dangerous)
      --tls-cert FILE, --tls-key FILE
                        serve HTTPS and WSS
      --tls-ca FILE     require client certificates signed by this CA
  -R, --readonly        every client is view-only
  -m, --max-clients N   most WebSocket clients at once (default 0: no limit)
  -o, --once            serve one client, exit when its session ends
      --exit-no-conn    exit when the last client disconnects
  -a, --url-arg         let ?arg=X URL parameters add arguments to new sessions' command
                        (appended as argv, never through a shell; at most ${URL_ARG_MAX_COUNT}, ${URL_ARG_MAX_BYTES} bytes each)

  -h, --help            print this help and exit
  -v, --version         print the version and exit

On start, bunty prints one line with the URL to open (http://HOST:PORT/).
Protocol, limits and close codes: docs/protocol.md. Metrics, logs, recordings: docs/operations.md. Exit status: 0 after SIGTERM/SIGINT,
2 for bad options, 1 when the server cannot start.`;

export type ParseResult = { kind: "run"; config: Config } | { kind: "help" } | { kind: "version" } | { kind: "error"; message: string };

const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
const FORMATS = ["text", "json"] as const;

function intIn(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Parses argv (without the runtime and script). Options stop at `--` or the first non-option. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): ParseResult {
  const c: Config = { ...DEFAULTS, env: {}, command: [], allowCommands: {}, trustedProxies: [], allowOrigins: [] };
  let recordMaxGiven = false;
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
      const value = (): string => {
        if (eq > 0) return arg.slice(eq + 1);
        const v = argv[++i];
        if (v === undefined) throw new Error(`${name} needs a value`);
        return v;
      };
      switch (name) {
        case "-h": case "--help": return { kind: "help" };
        case "-v": case "--version": return { kind: "version" };
        case "-p": case "--port": c.port = intIn(name, value(), 0, 65535); break;
        case "-i": case "--host": c.host = value(); if (!c.host) throw new Error(`${name} must not be empty`); break;
        case "-w": case "--cwd": c.cwd = value(); break;
        case "-T": case "--term": c.term = value(); if (!/^[\w.+-]{1,64}$/.test(c.term)) throw new Error(`${name} must be a terminal name like xterm-256color`); break;
        case "--env": {
          const kv = value();
          const k = kv.slice(0, Math.max(0, kv.indexOf("=")));
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`--env takes KEY=VALUE, got ${JSON.stringify(kv)}`);
          c.env[k] = kv.slice(k.length + 1);
          break;
        }
        case "--max-sessions": c.maxSessions = intIn(name, value(), 1, 100_000); break;
        case "--grace": c.graceS = intIn(name, value(), 0, 7 * 86400); break;
        case "--idle-timeout": c.idleTimeoutS = intIn(name, value(), 0, 30 * 86400); break;
        case "--pool-size": c.poolSize = intIn(name, value(), 0, 1000); break;
        case "--scrollback": c.scrollback = intIn(name, value(), 0, 100_000); break;
        case "--allow-any-command": c.allowAnyCommand = true; break;
        case "--token": c.token = value(); if (c.token.length < 8) throw new Error("--token must be at least 8 characters"); break;
        case "--no-token": c.noToken = true; break;
        case "--no-auth": c.noAuth = true; break;
        case "-c": case "--credential": c.credential = value(); if (!/^[^:]+:.+$/.test(c.credential)) throw new Error(`${name} takes USER:PASSWORD`); break;
        case "--auth-header": c.authHeader = value(); if (!/^[A-Za-z0-9-]{1,64}$/.test(c.authHeader)) throw new Error("--auth-header takes a header name"); break;
        case "--trusted-proxy": c.trustedProxies = [...c.trustedProxies, value()]; break;
        case "--allow-origin": {
          const o = value();
          try { c.allowOrigins = [...c.allowOrigins, new URL(o).origin]; } catch { throw new Error(`--allow-origin takes an origin like https://example.com, got ${JSON.stringify(o)}`); }
          break;
        }
        case "--allow-embed": c.allowEmbed = true; break;
        case "--tls-cert": c.tlsCert = value(); break;
        case "--tls-key": c.tlsKey = value(); break;
        case "--tls-ca": c.tlsCa = value(); break;
        case "-R": case "--readonly": c.readonly = true; break;
        case "-b": case "--base-path": {
          const b = value().replace(/\/+$/, "");
          if (b !== "" && (!/^(\/[A-Za-z0-9._~-]+)+$/.test(b) || b.split("/").some((seg) => seg === "." || seg === ".."))) throw new Error(`${name} takes a path like /term, got ${JSON.stringify(b)}`);
          c.basePath = b;
          break;
        }
        case "--socket-mode": {
          const m = value();
          if (!/^0?[0-7]{3}$/.test(m)) throw new Error(`--socket-mode takes an octal mode like 0660, got ${JSON.stringify(m)}`);
          c.socketMode = parseInt(m, 8);
          break;
        }
        case "-m": case "--max-clients": c.maxClients = intIn(name, value(), 0, 100_000); break;
        case "-o": case "--once": c.once = true; break;
        case "--exit-no-conn": c.exitNoConn = true; break;
        case "-a": case "--url-arg": c.urlArgs = true; break;
        case "--allow-command": {
          const v = value();
          const eqAt = v.indexOf("=");
          const argv = v.slice(eqAt + 1).split(/\s+/).filter(Boolean);
          if (eqAt < 1 || !/^[\w.-]{1,64}$/.test(v.slice(0, eqAt)) || argv.length === 0) throw new Error(`--allow-command takes NAME=COMMAND [ARGS], got ${JSON.stringify(v)}`);
          c.allowCommands[v.slice(0, eqAt)] = argv;
          break;
        }
        case "--log-level": {
          const l = value();
          if (!(LEVELS as readonly string[]).includes(l)) throw new Error(`--log-level must be one of ${LEVELS.join(", ")}`);
          c.logLevel = l as Config["logLevel"];
          break;
        }
        case "--log-format": {
          const f = value();
          if (!(FORMATS as readonly string[]).includes(f)) throw new Error(`--log-format must be one of ${FORMATS.join(", ")}`);
          c.logFormat = f as Config["logFormat"];
          break;
        }
        case "--metrics-public": c.metricsPublic = true; break;
        case "--record": c.record = value(); if (!c.record) throw new Error("--record must name a directory"); break;
        case "--record-max-bytes": c.recordMaxBytes = intIn(name, value(), RECORD_MIN_BYTES, RECORD_MAX_BYTES); recordMaxGiven = true; break;
        default: throw new Error(`unknown option ${name}`);
      }
    }
    c.command = argv.slice(i);
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  if (c.command.length === 0) c.command = [env.SHELL || "/bin/sh"];
  if (c.token === null && env.BUNTY_TOKEN) c.token = env.BUNTY_TOKEN;
  if ((c.tlsCert === null) !== (c.tlsKey === null)) return { kind: "error", message: "--tls-cert and --tls-key go together" };
  if (c.tlsCa && !c.tlsCert) return { kind: "error", message: "--tls-ca needs --tls-cert and --tls-key" };
  if (c.noToken && c.token !== null && !env.BUNTY_TOKEN) return { kind: "error", message: "--token and --no-token contradict each other" };
  if (recordMaxGiven && c.record === null) return { kind: "error", message: "--record-max-bytes needs --record DIR" };
  if (c.poolSize >= c.maxSessions) return { kind: "error", message: `--pool-size (${c.poolSize}) must be less than --max-sessions (${c.maxSessions})` };
  return { kind: "run", config: c };
}
