// Who may use this server: the token (header or query), HTTP basic credentials, a trusted
// proxy's user header, the page's sign-in (a cookie AND its proof), and per-session view-only
// share grants; plus the limit on guessing. Pure checks over a Request and the peer address, and
// small server-side tables (revoked sign-ins, share grants, failures); no framework types.
// Secrets are compared in constant time and never logged or sent back. docs/security.md.

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Credentials, parseQuery, Query } from "../../protocol/index.ts";

/** A sign-in lasts this long (the cookie's Max-Age); then the page needs the token again. */
export const SIGN_IN_MAX_AGE_S = 7 * 86400;
/** Revoked sign-ins remembered at most (until they expire anyway); the oldest are forgotten first. */
const MAX_REVOKED = 10_000;
/** Share grants per session at most; a new one retires the oldest. */
export const MAX_GRANTS_PER_SESSION = 16;
/** The header a reverse proxy adds with --proxy-secret-file's secret (it must overwrite any the client sent). */
export const PROXY_SECRET_HEADER = "x-bunty-proxy-secret";

// The guessing limit. A correct credential is always accepted. Wrong ones are free up to a budget
// per client address and for the whole server; past it, credentials from an address that has
// failed are checked one at a time, at most one per KEY_SLOT_MS for that address and one per
// GLOBAL_SLOT_MS for all such addresses together; a request that would wait longer than the
// queues hold is answered 429 unchecked. An address with no recent failure is never slowed.
/** Wrong attempts allowed per client address in FAILURE_WINDOW_MS before it is slowed... */
export const MAX_FAILURES = 10;
/** ...and for all addresses together. */
export const MAX_FAILURES_GLOBAL = 100;
export const FAILURE_WINDOW_MS = 60_000;
/** Past its budget, an address's credentials are checked at most once per this long... */
export const KEY_SLOT_MS = 1000;
/** ...and those of all addresses past theirs at most once per this long. */
export const GLOBAL_SLOT_MS = 100;
/** Waits longer than this many slots are refused at once (429, unchecked). */
const KEY_QUEUE_SLOTS = 16;
const GLOBAL_QUEUE_SLOTS = 256;
/** Addresses remembered for the limit at most; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

export interface AuthConfig {
  /** The shared token; null when token authentication is off. */
  token: string | null;
  /** user:pass for HTTP basic authentication, or null. */
  credential: string | null;
  /** Header a reverse proxy sets to the authenticated user's name, or null. Trusted only from the proxy. */
  authHeader: string | null;
  /** Peer addresses of the reverse proxy (never loopback: config.ts refuses it). */
  trustedProxies: string[];
  /** The secret the proxy sends in PROXY_SECRET_HEADER, or null. */
  proxySecret: string | null;
  /** Listening on a unix socket only the proxy may open: every peer is the proxy. */
  unixProxy: boolean;
  /** The cookie's Path. */
  basePath: string;
}

export type Identity =
  | {
    ok: true;
    via: "none" | "token" | "signin" | "basic" | "header";
    user?: string;
    /** The credential came in a header or the query (not a cookie). */
    explicit: boolean;
    /** The sign-in's id, for sign-out. */
    signIn?: string;
    /** Who the limit counts this request as: the peer, or behind the proxy its client. */
    client: string;
  }
  | { ok: false; status: 401 | 429; reason: string; client: string; retryAfterS?: number };

const sha = (s: string) => createHash("sha256").update(s).digest();
/** Equal in constant time, whatever the lengths (both sides are hashed first). */
export const sameSecret = (a: string, b: string) => timingSafeEqual(sha(a), sha(b));

export const isLoopback = (addr: string | null | undefined) =>
  !!addr && (addr === "::1" || addr.startsWith("127.") || addr.startsWith("::ffff:127.") || addr === "localhost");

function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

interface Failures {
  count: number;
  since: number;
  /** When the next check of this address may run (past its budget). */
  nextSlot: number;
}

export class Auth {
  private readonly cfg: AuthConfig;
  /** Signs sign-ins and their proofs. Derived from the token when there is one: sign-ins then survive a restart with the same token, and work on every instance that shares it. */
  private key: Buffer;
  /** Revoked sign-in ids -> when they would have expired (ms). */
  private readonly revoked = new Map<string, number>();
  /** sha256(grant) -> session id, and each session's grants (oldest first). */
  private readonly grants = new Map<string, string>();
  private readonly grantsOf = new Map<string, string[]>();
  private readonly failures = new Map<string, Failures>();
  private globalFailures = { count: 0, since: 0, nextSlot: 0 };
  failuresTotal = 0;

  constructor(cfg: AuthConfig) {
    this.cfg = cfg;
    this.key = Auth.keyFor(cfg.token);
  }

  private static keyFor(token: string | null): Buffer {
    return token ? createHmac("sha256", "bunty sign-in").update(token).digest() : randomBytes(32);
  }

  /** A new token (SIGHUP): every sign-in made with the old one is void. Share grants stay (they belong to their sessions). */
  rotate(token: string | null): void {
    this.cfg.token = token;
    this.key = Auth.keyFor(token);
    this.revoked.clear();
  }

  /** Whether any authentication method is on. */
  get required(): boolean {
    return this.cfg.token !== null || this.cfg.credential !== null || this.cfg.authHeader !== null;
  }
  get basic(): boolean {
    return this.cfg.credential !== null;
  }

  private sign(what: string): string {
    return createHmac("sha256", this.key).update(what).digest("base64url");
  }

  // ---- sign-in: the page trades the token for a cookie and a proof ----

  /** A new sign-in: the Set-Cookie value, and the proof the page must show with it. */
  signIn(secure: boolean): { setCookie: string; proof: string; expires: Date } {
    const id = randomBytes(16).toString("base64url");
    const exp = Math.floor(Date.now() / 1000) + SIGN_IN_MAX_AGE_S;
    const value = `${id}.${exp}.${this.sign(`signin:${id}.${exp}`)}`;
    const path = this.cfg.basePath || "/";
    return {
      setCookie: `${Credentials.cookie}=${value}; Path=${path}; Max-Age=${SIGN_IN_MAX_AGE_S}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`,
      proof: this.sign(`proof:${id}`),
      expires: new Date(exp * 1000),
    };
  }

  /** Set-Cookie that removes the cookie (sign-out). */
  signOutCookie(secure: boolean): string {
    return `${Credentials.cookie}=; Path=${this.cfg.basePath || "/"}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
  }

  /** Sign-out: that sign-in is refused from now on, wherever its cookie turns up. */
  revoke(id: string): void {
    const now = Date.now();
    for (const [k, exp] of this.revoked) if (exp < now) this.revoked.delete(k);
    this.revoked.set(id, now + SIGN_IN_MAX_AGE_S * 1000);
    if (this.revoked.size > MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value!);
  }

  /** The sign-in id of a cookie value that is ours, unexpired and not revoked; else null. */
  private signInOf(value: string): string | null {
    const [id, exp, mac, extra] = value.split(".");
    if (!id || !exp || !mac || extra !== undefined || !/^\d{1,12}$/.test(exp)) return null;
    if (!sameSecret(mac, this.sign(`signin:${id}.${exp}`))) return null;
    if (Number(exp) * 1000 < Date.now() || this.revoked.has(id)) return null;
    return id;
  }

  // ---- share grants: view-only, one live session each ----

  /** A new view-only grant for a live session (the oldest of its grants is retired past MAX_GRANTS_PER_SESSION). */
  grant(sessionId: string): string {
    const g = randomBytes(18).toString("base64url");
    const list = this.grantsOf.get(sessionId) ?? [];
    list.push(g);
    while (list.length > MAX_GRANTS_PER_SESSION) this.grants.delete(sha(list.shift()!).toString("base64"));
    this.grantsOf.set(sessionId, list);
    this.grants.set(sha(g).toString("base64"), sessionId);
    return g;
  }
  /** The session a grant was made for, or null (unknown, retired, or its session ended). */
  grantedSession(grant: string): string | null {
    return this.grants.get(sha(grant).toString("base64")) ?? null;
  }
  /** A session ended: its grants die with it. */
  endGrants(sessionId: string): void {
    for (const g of this.grantsOf.get(sessionId) ?? []) this.grants.delete(sha(g).toString("base64"));
    this.grantsOf.delete(sessionId);
  }

  // ---- who is asking ----

  /** Whether this request came through the reverse proxy (and so its user header and client address count). */
  fromProxy(req: Request, peer: string | null): boolean {
    if (this.cfg.unixProxy) return true;
    if (this.cfg.proxySecret !== null) {
      const given = req.headers.get(PROXY_SECRET_HEADER);
      if (given !== null && sameSecret(given, this.cfg.proxySecret)) return true;
    }
    return !!peer && this.cfg.trustedProxies.includes(peer);
  }

  /** The address the limit counts: the TCP peer, or, from the proxy, the client it names (the last X-Forwarded-For entry, the one the proxy added). */
  clientOf(req: Request, peer: string | null, proxied: boolean): string {
    if (proxied) {
      const xff = req.headers.get("x-forwarded-for");
      const last = xff?.split(",").at(-1)?.trim();
      if (last) return last.slice(0, 64);
    }
    return peer ?? "unknown";
  }

  /**
   * Who is asking. `peer` is the TCP peer address (null on a unix socket). Waits (bounded) when
   * the guessing limit slows this client down; never throws.
   */
  async check(req: Request, peer: string | null): Promise<Identity> {
    const proxied = this.fromProxy(req, peer);
    const client = this.clientOf(req, peer, proxied);
    if (!this.required) return { ok: true, via: "none", explicit: false, client };
    const h = req.headers;
    if (this.cfg.authHeader && proxied) {
      const user = h.get(this.cfg.authHeader);
      if (user) return { ok: true, via: "header", user: user.slice(0, 256), explicit: true, client };
    }
    const url = new URL(req.url);
    const q = parseQuery(url.search);
    const fromQuery = (k: string) => (q.ok ? q.get(k) ?? null : null);
    // The page's sign-in: the cookie and its proof, together. The cookie alone is never enough:
    // browsers send it to every port of the host, so another local service could replay it.
    const cookie = this.cfg.token ? cookieValue(h.get("cookie"), Credentials.cookie) : null;
    if (cookie) {
      const id = this.signInOf(cookie);
      const proof = h.get(Credentials.proofHeader) ?? fromQuery(Query.proof);
      if (id && proof !== null && sameSecret(proof, this.sign(`proof:${id}`))) return { ok: true, via: "signin", explicit: false, signIn: id, client };
    }
    const authz = h.get("authorization") ?? "";
    const token = authz.startsWith("Bearer ") ? authz.slice(7) : fromQuery(Query.token);
    const basic = this.cfg.credential && authz.startsWith("Basic ") ? Buffer.from(authz.slice(6), "base64").toString() : null;
    if ((token === null || !this.cfg.token) && basic === null) return { ok: false, status: 401, reason: cookie ? "signed out or expired: sign in again with the token" : "authentication required", client };
    const wait = this.slot(client);
    if (wait === null) return { ok: false, status: 429, reason: "too many failed attempts from this address; slow down", client, retryAfterS: Math.ceil((KEY_QUEUE_SLOTS * KEY_SLOT_MS) / 1000) };
    if (wait > 0) await Bun.sleep(wait);
    if (this.cfg.token && token !== null) {
      if (sameSecret(token, this.cfg.token)) return { ok: true, via: "token", explicit: true, client };
      return this.fail(client, "wrong token");
    }
    if (sameSecret(basic!, this.cfg.credential!)) return { ok: true, via: "basic", user: basic!.slice(0, basic!.indexOf(":")), explicit: true, client };
    return this.fail(client, "wrong credentials");
  }

  /**
   * How long this client's credential must wait before it is checked: 0 while the address and
   * the server are within their failure budgets, else its turn in the slowed queues; null when
   * the wait would be longer than the queues hold.
   */
  private slot(client: string): number | null {
    const now = Date.now();
    const f = this.failures.get(client);
    const own = f && now - f.since <= FAILURE_WINDOW_MS ? f : null;
    if (!own) return 0; // no recent failure here: never slowed, whatever others do
    const g = this.globalFailures;
    const globalOver = now - g.since <= FAILURE_WINDOW_MS && g.count >= MAX_FAILURES_GLOBAL;
    if (own.count < MAX_FAILURES && !globalOver) return 0;
    let at = Math.max(now, own.nextSlot);
    if (globalOver) at = Math.max(at, g.nextSlot);
    if (at - now > KEY_QUEUE_SLOTS * KEY_SLOT_MS || (globalOver && at - now > GLOBAL_QUEUE_SLOTS * GLOBAL_SLOT_MS)) return null;
    own.nextSlot = at + KEY_SLOT_MS;
    if (globalOver) g.nextSlot = at + GLOBAL_SLOT_MS;
    return at - now;
  }

  private fail(client: string, reason: string): Identity {
    this.failuresTotal++;
    const now = Date.now();
    let f = this.failures.get(client);
    if (!f || now - f.since > FAILURE_WINDOW_MS) f = { count: 0, since: now, nextSlot: 0 };
    f.count++;
    this.failures.delete(client); // re-insert: the map's order is the age order
    this.failures.set(client, f);
    if (this.failures.size > MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    const g = this.globalFailures;
    if (now - g.since > FAILURE_WINDOW_MS) Object.assign(g, { count: 0, since: now });
    g.count++;
    return { ok: false, status: 401, reason, client };
  }
}

/** A fresh random token: 24 bytes, URL-safe. */
export const newToken = () => randomBytes(24).toString("base64url");
