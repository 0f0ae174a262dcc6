// Who may use this server: the token (header, query or cookie), HTTP basic credentials, a trusted
// proxy's user header, and per-session view-only share links; plus the per-address limit on
// failed attempts. Pure checks over a Request and the peer address; no framework types.
// Secrets are compared in constant time and never logged or sent back.

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Name of the cookie the page gets in exchange for the token. */
export const COOKIE_NAME = "bunty_auth";
/** Failed attempts allowed per client address in FAILURE_WINDOW_MS... */
export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 60_000;
/** ...then every unauthenticated request from that address is refused (429) for this long. */
export const BLOCK_MS = 60_000;
/** Addresses remembered for the limit at most; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

export interface AuthConfig {
  /** The shared token; null when token authentication is off. */
  token: string | null;
  /** user:pass for HTTP basic authentication, or null. */
  credential: string | null;
  /** Header a reverse proxy sets to the authenticated user's name, or null. Trusted only from `trustedProxies`. */
  authHeader: string | null;
  /** Peer addresses allowed to set `authHeader` (default: loopback only). */
  trustedProxies: string[];
}

export type Identity =
  | { ok: true; via: "none" | "token" | "cookie" | "basic" | "header"; user?: string; /** the credential came in a header or the query, not a cookie */ explicit: boolean }
  | { ok: false; status: 401 | 429; reason: string };

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

export class Auth {
  private readonly cfg: AuthConfig;
  /** Signs cookies and share links. Derived from the token when there is one, so a restart with the same --token keeps them valid. */
  private readonly key: Buffer;
  private readonly failures = new Map<string, { count: number; since: number; blockedUntil: number }>();
  failuresTotal = 0;

  constructor(cfg: AuthConfig) {
    this.cfg = cfg;
    this.key = cfg.token ? createHmac("sha256", "bunty").update(cfg.token).digest() : randomBytes(32);
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

  /** The Set-Cookie value given to a page that showed the token. */
  cookie(secure: boolean): string {
    return `${COOKIE_NAME}=${this.sign("cookie")}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
  }

  /** A view-only grant for one session, for share links. */
  shareToken(sessionId: string): string {
    return this.sign(`view:${sessionId}`);
  }
  checkShare(sessionId: string, token: string): boolean {
    return sameSecret(this.shareToken(sessionId), token);
  }

  /** Who is asking. `peer` is the TCP peer address. */
  check(req: Request, peer: string | null): Identity {
    const addr = peer ?? "unknown";
    const blocked = this.blockedFor(addr);
    if (!this.required) return { ok: true, via: "none", explicit: false };
    const h = req.headers;
    const url = new URL(req.url);
    const authz = h.get("authorization") ?? "";
    if (this.cfg.authHeader) {
      const user = h.get(this.cfg.authHeader);
      if (user && this.trustedProxy(peer)) return { ok: true, via: "header", user: user.slice(0, 256), explicit: true };
    }
    const cookie = cookieValue(h.get("cookie"), COOKIE_NAME);
    if (this.cfg.token && cookie && sameSecret(cookie, this.sign("cookie"))) return { ok: true, via: "cookie", explicit: false };
    if (blocked) return { ok: false, status: 429, reason: `too many failed attempts; try again in ${Math.ceil(blocked / 1000)} s` };
    const offered = authz.startsWith("Bearer ") ? authz.slice(7) : url.searchParams.get("token");
    if (this.cfg.token && offered !== null) {
      if (sameSecret(offered, this.cfg.token)) return { ok: true, via: "token", explicit: true };
      return this.fail(addr, "wrong token");
    }
    if (this.cfg.credential && authz.startsWith("Basic ")) {
      const given = Buffer.from(authz.slice(6), "base64").toString();
      if (sameSecret(given, this.cfg.credential)) return { ok: true, via: "basic", user: given.slice(0, given.indexOf(":")), explicit: true };
      return this.fail(addr, "wrong credentials");
    }
    return this.fail(addr, "authentication required");
  }

  private trustedProxy(peer: string | null): boolean {
    return this.cfg.trustedProxies.length === 0 ? isLoopback(peer) : !!peer && this.cfg.trustedProxies.includes(peer);
  }

  /** Milliseconds this address stays blocked, or 0. */
  private blockedFor(addr: string): number {
    const f = this.failures.get(addr);
    return f && f.blockedUntil > Date.now() ? f.blockedUntil - Date.now() : 0;
  }

  private fail(addr: string, reason: string): Identity {
    this.failuresTotal++;
    const now = Date.now();
    let f = this.failures.get(addr);
    if (!f || now - f.since > FAILURE_WINDOW_MS) f = { count: 0, since: now, blockedUntil: 0 };
    f.count++;
    if (f.count >= MAX_FAILURES) f.blockedUntil = now + BLOCK_MS;
    this.failures.delete(addr); // re-insert: the map's order is the age order
    this.failures.set(addr, f);
    if (this.failures.size > MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    return { ok: false, status: 401, reason };
  }
}

/** A fresh random token: 24 bytes, URL-safe. */
export const newToken = () => randomBytes(24).toString("base64url");
