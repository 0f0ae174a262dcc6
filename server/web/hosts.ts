// The Host names this server answers for: the guard against DNS rebinding. A page on
// evil.test can make its own name resolve to 127.0.0.1 and then talk to a loopback server as
// "same origin" (its Origin and Host agree: evil.test). Such a request names the attacker's host,
// so requests for names we do not know are refused (421) on every route, token or not.
// Pure; knows nothing of requests beyond the header's text.

import { hostname } from "node:os";

/** IPv4 dotted quad, or anything in brackets (an IPv6 literal). */
const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

/** The name part of a Host header value, lowercased, without the port. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

export class HostAllowList {
  private names = new Set<string>();

  /** `bound`: the --host value (a name is allowed as given); `origins`: --allow-origin; `extra`: --allow-host. */
  constructor(bound: string, origins: string[], extra: string[]) {
    this.update(bound, origins, extra);
  }

  /** SIGHUP: --allow-origin and --allow-host may change. */
  update(bound: string, origins: string[], extra: string[]): void {
    const names = new Set<string>(["localhost", hostname().toLowerCase(), ...extra.map((n) => n.toLowerCase())]);
    if (!bound.startsWith("/") && !bound.startsWith("unix:")) names.add(hostName(bound.includes(":") && !bound.startsWith("[") ? `[${bound}]` : bound));
    for (const o of origins) {
      try {
        names.add(new URL(o).hostname.toLowerCase());
      } catch {}
    }
    this.names = names;
  }

  /**
   * Whether a request naming `host` is ours: an IP address (a rebinding attack needs a name),
   * localhost and its subdomains, this machine's name, the bound name, the allowed names. A
   * request without Host (HTTP/1.0, a hand-made client) is not a browser's and is let through.
   */
  allows(host: string | null): boolean {
    if (host === null || host === "") return true;
    const name = hostName(host);
    return IP_LITERAL.test(name) || name === "localhost" || name.endsWith(".localhost") || this.names.has(name);
  }

  /** For the refusal's message. */
  get list(): string[] {
    return [...this.names];
  }
}
