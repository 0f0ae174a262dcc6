// The settings a server runs with: one field per option of options.ts (and the values read at
// start from the files some options name). The type only; options.ts has the defaults.

export interface Config {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind. */
  host: string;
  /** This instance's name among several behind one proxy (health, logs, metrics, the page's title); default: the host name. */
  instance: string;
  /** How long a drain (SIGTERM, POST /api/drain) keeps existing sessions before it ends them; 0 = SIGTERM ends at once. */
  drainTimeoutS: number;
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
