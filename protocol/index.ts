// The wire contract between bunty's server and any client (our browser page, scripts, tests).
// Owns: message types, limits, close codes, encode/decode. Imports nothing, runs anywhere
// (Bun, browsers). docs/protocol.md is the prose version of this file; keep them in step.

/** Bumped when a change would break an existing client. Sent in `hello`. */
export const PROTOCOL_VERSION = 1;

/** Query parameters of the WebSocket URL. */
export const Query = {
  /** Attach to this session instead of starting one. */
  session: "session",
  /** With `session`: the absolute output offset the client has already seen; resume after it. */
  offset: "offset",
  /** "view" joins read-only; "write" (default) may type and takes over typing from the current writer. */
  mode: "mode",
  cols: "cols",
  rows: "rows",
  /** The access token, for clients that cannot send an Authorization header (also accepted on HTTP routes). */
  token: "token",
  /** A view-only share link's grant for `session` (from POST /api/sessions/:id/share). */
  share: "share",
  /** With the server's -a/--url-arg: an argument appended to a new session's command (repeatable). */
  arg: "arg",
  /** With the sign-in cookie: the page's proof that it is the page that signed in (see `Credentials.proofHeader`), for requests that cannot carry a header (the WebSocket, a download link). */
  proof: "proof",
} as const;

/** Names of the authentication exchange between the page and the server (docs/security.md). */
export const Credentials = {
  /** The sign-in cookie: HttpOnly, SameSite=Strict, Path = the base path. */
  cookie: "bunty_sid",
  /** Header carrying the sign-in's proof on the page's requests; the cookie alone is never enough. */
  proofHeader: "x-bunty-proof",
} as const;
/** `POST /api/auth` answer: the proof the page must show with the cookie (kept in the page's own storage, which other origins, other ports included, cannot read). */
export interface SignIn {
  authenticated: true;
  proof: string;
  /** When the sign-in expires (ISO 8601). */
  expires: string;
}

/**
 * A URL query's (`?a=1&b=x%20y`) key-value pairs, in order, decoded as application/x-www-form-urlencoded
 * (the way URLSearchParams reads it; this module uses no platform API beyond the language).
 */
export function queryEntries(search: string): [string, string][] {
  const q = search.startsWith("?") ? search.slice(1) : search;
  if (q === "") return [];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s; // a malformed escape: kept as written, like URLSearchParams
    }
  };
  return q.split("&").filter((part) => part !== "").map((part) => {
    const eq = part.indexOf("=");
    return eq < 0 ? [decode(part), ""] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))];
  });
}

/** The query keys the server reads; each may appear at most once (except `arg`) and never empty. */
const SERVER_KEYS: ReadonlySet<string> = new Set(Object.values(Query));
const REPEATABLE: ReadonlySet<string> = new Set([Query.arg]);
export type ParsedQuery = { ok: true; get(key: string): string | undefined; all(key: string): string[] } | { ok: false; error: string };

/**
 * The one reader of a request's query (the server's keys only; others belong to the page and are
 * ignored). A key given twice, or given empty (`session=`), is an error rather than a guess: two
 * readers taking the first and the last value of a key once let a share grant for one session
 * open another. Takes the URL's `search` (never the fragment).
 */
export function parseQuery(search: string): ParsedQuery {
  const params = queryEntries(search);
  const seen = new Map<string, string[]>();
  for (const [k, v] of params) {
    if (k === "") return { ok: false, error: "query: an empty parameter name" };
    if (!SERVER_KEYS.has(k)) continue;
    const list = seen.get(k) ?? [];
    list.push(v);
    seen.set(k, list);
    if (v === "") return { ok: false, error: `query: ${k} is empty` };
    if (list.length > 1 && !REPEATABLE.has(k)) return { ok: false, error: `query: ${k} is given more than once` };
  }
  return { ok: true, get: (k) => seen.get(k)?.[0], all: (k) => seen.get(k) ?? [] };
}

/** URL paths, relative to the server's base. The server's routes, the page and the tests all use these. */
export const Paths = {
  page: "/",
  /** The page listing the server's sessions (attach, view, share, end). */
  sessionsPage: "/sessions",
  /** The page playing recordings (--record). */
  recordingsPage: "/recordings",
  health: "/api/health",
  /** GET: the live sessions (SessionInfo[]); POST: start one. One session: `${sessions}/ID`, and its sub-paths in SessionPaths. */
  sessions: "/api/sessions",
  /** POST with `Authorization: Bearer TOKEN`: sign in (cookie and proof). DELETE: sign out. GET: whether this client is authenticated. */
  auth: "/api/auth",
  /** GET: the recordings (--record); one: `${recordings}/NAME`. */
  recordings: "/api/recordings",
  /** Prometheus text format (docs/operations.md). */
  metrics: "/metrics",
  /** The OpenAPI description of the HTTP API. */
  openapi: "/openapi/json",
  socket: "/ws",
  /** POST: drain this instance (no new sessions; its sessions are told, then ended at the deadline; then it exits). docs/deploy.md. */
  drain: "/api/drain",
  /** Liveness probe: 200 while the process serves, draining included. Public; also at the server's root, whatever the base path. */
  live: "/livez",
  /** Readiness probe: 200 while the instance takes new sessions, 503 while it drains. Public; also at the server's root. */
  ready: "/readyz",
} as const;

/** The page's `<meta name=... content=NAME>` tag carrying the instance's name (--instance), for its title. */
export const INSTANCE_META = "bunty-instance";

/** Paths under one session, after `${Paths.sessions}/ID`. */
export const SessionPaths = {
  /** POST: a view-only share link (ShareLink). */
  share: "/share",
  /** PUT ?name=NAME[&overwrite=1]: an upload into the session's directory. */
  files: "/files",
  /** GET `${downloads}/ID`: a file offered by bunty-get. */
  downloads: "/downloads",
} as const;

/** A path of one session (`sub` from SessionPaths), relative to the base, with the id escaped. */
export const sessionPath = (id: string, sub = ""): string => `${Paths.sessions}/${encodeURIComponent(id)}${sub}`;

/** One live session, as GET /api/sessions lists it. */
export interface SessionInfo {
  id: string;
  pid: number;
  command: string[];
  /** ISO 8601. */
  created: string;
  cols: number;
  rows: number;
  /** Clients attached now (0: detached). */
  clients: number;
  /** Absolute offset of the newest output byte (total bytes of output). */
  offset: number;
  /** Last input or output, ISO 8601. */
  lastActivity: string;
}

/** POST /api/sessions/ID/share answer: the page path of a view-only link (base path included). */
export interface ShareLink {
  path: string;
}

/** Limits both sides agree on. Units are in the names. */
export const Limits = {
  /** Largest WebSocket frame the server accepts (Bun closes the socket with 1009 above it). */
  maxFrameBytes: 1 << 20,
  /** Largest text (control) frame the server will parse; bigger ones get an `error`. */
  maxControlBytes: 4096,
  minCols: 2,
  maxCols: 1000,
  minRows: 1,
  maxRows: 500,
  defaultCols: 80,
  defaultRows: 24,
  /** How long our clients wait for an HTTP answer before giving up (a hung server must not hang the page). */
  requestTimeoutMs: 10_000,
  /** With the server's -a/--url-arg: at most this many `arg` query parameters, each at most this many bytes. */
  maxUrlArgs: 16,
  maxUrlArgBytes: 256,
} as const;

/**
 * WebSocket close codes. 1000/1001/1009/1011 are the standard meanings; 4000-4999 are bunty's.
 * Every close carries a short human-readable reason too.
 */
export const CloseCode = {
  /** The program exited; an `exit` message was sent just before. */
  normal: 1000,
  /** The server is shutting down (SIGTERM/SIGINT). */
  goingAway: 1001,
  /** A frame was larger than `Limits.maxFrameBytes` (sent by the WebSocket layer itself). */
  messageTooBig: 1009,
  /** An unexpected server error; the session was ended. */
  internalError: 1011,
  /** The program could not be started (bad command, bad cwd, out of PTYs). */
  spawnFailed: 4000,
  /** The client did not read its output fast enough: more than the server's output bound was queued for it. */
  slowConsumer: 4001,
  /** The server already runs its maximum number of sessions. */
  tooManySessions: 4002,
  /** The session was ended by the server (DELETE /api/sessions/:id, grace or idle timeout) rather than by its program. */
  sessionEnded: 4003,
  /** `?session=ID` names no live session. */
  sessionNotFound: 4004,
  /** A share link that does not grant this session. */
  forbidden: 4005,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Error codes carried by `{"type":"error"}` messages. The socket stays open after these. */
export type ErrorCode =
  | "bad_json" // a text frame that is not a JSON object
  | "too_large" // a text frame over Limits.maxControlBytes
  | "unknown_type" // a JSON object whose `type` we do not know
  | "bad_message" // a known type with missing or invalid fields
  | "read_only"; // input or a writer request from a client that may only view

// ---- server -> client (text frames, JSON) ----

/** How the stream that follows `hello` relates to what the client had. */
export type Resumed =
  | "new" // a session started for this connection: output from offset 0
  | "log" // exactly the bytes after the client's `offset`, from the output log
  | "snapshot"; // a `snapshot` message follows: the client's offset was too old or absent, or it got a warm spare

export interface HelloMessage {
  type: "hello";
  protocol: number;
  /** Session id: opaque, URL-safe. Reattach with `/ws?session=ID`. */
  session: string;
  pid: number;
  command: string[];
  cols: number;
  rows: number;
  /** Absolute output offset of the next terminal byte this client receives (after a snapshot, if one follows). */
  offset: number;
  resumed: Resumed;
  /** What this client may do: "write" (may type, or take over typing) or "view" (read-only). */
  mode: "write" | "view";
  /** Whether this client is the session's writer right now (its input and size count). */
  writer: boolean;
}
/**
 * The client's screen is replaced: reset the terminal, write `data` (terminal bytes as text,
 * produced by a server-side screen model), and continue counting output from `offset`.
 */
export interface SnapshotMessage {
  type: "snapshot";
  offset: number;
  data: string;
  cols: number;
  rows: number;
}
/**
 * A `snapshot` follows (the server skips this client to the present: it typed during a flood).
 * Output received before this message and not parsed yet is moot: a client may drop it, and
 * everything else until the snapshot. Sent only to clients that ack.
 */
export interface SkipMessage {
  type: "skip";
}
/** The PTY's size changed (the writer resized). Viewers may adopt it to show the screen as the program draws it. */
export interface SizeMessage {
  type: "size";
  cols: number;
  rows: number;
}
/** This client's role changed (another client took over typing, or this one did). */
export interface RoleMessage {
  type: "role";
  writer: boolean;
  reason: string;
}
export interface ExitMessage {
  type: "exit";
  /** Exit status of the program, or null when it was killed by a signal. */
  code: number | null;
  /** Signal name (e.g. "SIGKILL") when the program was killed by a signal, else null. */
  signal: string | null;
}
export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
}
export interface PongMessage {
  type: "pong";
  /** Echo of the ping's `t`, if any. */
  t?: number;
}
/**
 * A program in the session ran `bunty-get FILE`: the server offers that file. Fetch it from
 * `GET {base}/api/sessions/SESSION/downloads/ID` (authenticated; valid for 10 minutes and while
 * the session lives). Any output can ask for this, so a page must let the user decide.
 */
export interface DownloadMessage {
  type: "download";
  id: string;
  /** The file's name (no directory). */
  name: string;
  /** Its size in bytes when it was offered. */
  size: number;
}
/**
 * The terminal's input modes, as the program set them (termios ECHO and ICANON), sent after
 * `hello` and whenever they change (checked as output arrives). What a page may predict depends
 * on them: `echo` and `canonical` both on, the kernel echoes typed text (a program reading lines,
 * like `cat`); both off, the program echoes by itself (readline, vim, ssh); `echo` off with
 * `canonical` on, nothing is echoed: a password is being typed (sudo, `read -s`): never predict.
 */
export interface TermModeMessage {
  type: "termmode";
  echo: boolean;
  canonical: boolean;
}
/** The server is draining (an upgrade, a scale-down): it takes no new sessions, and ends this one in `inMs`. */
export interface DrainingMessage {
  type: "draining";
  inMs: number;
  /** Why, for the page to show. */
  reason: string;
}
export type ServerMessage = HelloMessage | SnapshotMessage | SkipMessage | SizeMessage | RoleMessage | ExitMessage | ErrorMessage | PongMessage | DownloadMessage | TermModeMessage | DrainingMessage;

// ---- client -> server (text frames, JSON) ----

export interface ResizeMessage {
  type: "resize";
  cols: number;
  rows: number;
}
export interface PingMessage {
  type: "ping";
  t?: number;
}
/** The client has parsed (rendered) output up to this absolute offset: flow control from the browser. */
export interface AckMessage {
  type: "ack";
  offset: number;
}
/** A client with mode "write" asks to become the writer (typing hand-over). */
export interface TakeMessage {
  type: "take";
}
export type ClientMessage = ResizeMessage | PingMessage | AckMessage | TakeMessage;

export type Decoded<T> = { ok: true; message: T } | { ok: false; error: ErrorMessage };

const fail = (code: ErrorCode, message: string): { ok: false; error: ErrorMessage } => ({
  ok: false,
  error: { type: "error", code, message },
});

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Checks a resize size against the limits; returns a reason or null. */
export function checkSize(cols: unknown, rows: unknown): string | null {
  if (!isInt(cols) || cols < Limits.minCols || cols > Limits.maxCols)
    return `cols must be an integer from ${Limits.minCols} to ${Limits.maxCols}`;
  if (!isInt(rows) || rows < Limits.minRows || rows > Limits.maxRows)
    return `rows must be an integer from ${Limits.minRows} to ${Limits.maxRows}`;
  return null;
}

/**
 * Validates a control message from a client. Accepts the raw frame text, or a value that a
 * framework already parsed from it (Elysia parses JSON text frames before handlers see them).
 */
export function decodeClientMessage(input: unknown): Decoded<ClientMessage> {
  let value = input;
  if (typeof input === "string") {
    if (input.length > Limits.maxControlBytes) return fail("too_large", `control frames are limited to ${Limits.maxControlBytes} bytes`);
    try {
      value = JSON.parse(input);
    } catch {
      return fail("bad_json", "text frames must be JSON objects with a \"type\" field; terminal input goes in binary frames");
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("bad_json", "text frames must be JSON objects with a \"type\" field; terminal input goes in binary frames");
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case "resize": {
      const bad = checkSize(m.cols, m.rows);
      if (bad) return fail("bad_message", `resize: ${bad}`);
      return { ok: true, message: { type: "resize", cols: m.cols as number, rows: m.rows as number } };
    }
    case "ping": {
      if (m.t !== undefined && typeof m.t !== "number") return fail("bad_message", "ping: t must be a number when present");
      return { ok: true, message: m.t === undefined ? { type: "ping" } : { type: "ping", t: m.t as number } };
    }
    case "ack": {
      if (!isInt(m.offset) || m.offset < 0) return fail("bad_message", "ack: offset must be a non-negative integer");
      return { ok: true, message: { type: "ack", offset: m.offset } };
    }
    case "take":
      return { ok: true, message: { type: "take" } };
    default:
      return fail("unknown_type", `unknown message type ${JSON.stringify(String(m.type)).slice(0, 64)}; known: resize, ping, ack, take`);
  }
}

/** Parses a server control message (client side). Returns null for anything unrecognised. */
export function decodeServerMessage(text: string): ServerMessage | null {
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && typeof v.type === "string") return v as ServerMessage;
  } catch {}
  return null;
}

export const encodeMessage = (m: ServerMessage | ClientMessage): string => JSON.stringify(m);
