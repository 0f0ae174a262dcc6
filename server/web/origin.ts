// The Origin check: a browser page of another origin may not open a terminal or change
// anything (cross-site WebSocket hijacking, CSRF). Used by the WebSocket endpoint and the
// mutating routes. Pure.

/**
 * Cross-site WebSocket hijacking guard: a browser always sends Origin, and it must name this
 * very host. Clients that send no Origin (scripts, curl) are not browsers and are let through.
 * Returns a reason to refuse, or null.
 */
export function checkOrigin(origin: string | null, host: string | null, allowed: string[] = []): string | null {
  if (origin === null) return null;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return "malformed Origin header";
  }
  if (allowed.includes(o.origin)) return null;
  return host !== null && o.host === host ? null : `Origin ${origin.slice(0, 100)} does not match this server`;
}
