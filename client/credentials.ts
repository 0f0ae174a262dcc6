// Owner: client (browser page). The page's sign-in: the one-time token in the address is traded
// for a cookie (HttpOnly, the server's) and a proof (ours); every request shows the proof with the
// cookie. The proof lives in this origin's localStorage, which other origins cannot read, other
// ports of the same host included (browsers send cookies to every port, so the cookie alone
// would let any local web service replay it). docs/security.md.

import { Credentials, Limits, Paths, Query, type SignIn } from "../protocol/index.ts";

/** One proof per bunty under this origin: several can share one behind a proxy, each under its own base path. */
const KEY = `bunty.proof ${new URL(".", location.href).pathname}`;

function store(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null; // storage refused (privacy settings): the page then signs in for this load only
  }
}
let held: string | null = store()?.getItem(KEY) ?? null;

/** The proof to send with the cookie, if this page has signed in. */
export const proof = (): string | null => held;

/** Headers for the page's own requests: the proof beside the cookie the browser adds. */
export const proofHeaders = (): Record<string, string> => (held ? { [Credentials.proofHeader]: held } : {});

/** `url` with the proof in its query, for what cannot carry a header (the WebSocket, a download link). */
export function withProof(url: URL): URL {
  if (held) url.searchParams.set(Query.proof, held);
  return url;
}

/** fetch() relative to the page, with the proof and a deadline (a hung server must not hang the page). */
export function apiFetch(path: string, init: RequestInit = {}, timeoutMs: number = Limits.requestTimeoutMs): Promise<Response> {
  return fetch(new URL(path, location.href), { ...init, headers: { ...proofHeaders(), ...(init.headers as Record<string, string> | undefined) }, signal: AbortSignal.timeout(timeoutMs) });
}

/** The address bunty prints carries the token once: trade it for a sign-in and drop it from the address bar. */
export async function signIn(): Promise<void> {
  const url = new URL(location.href);
  const token = url.searchParams.get(Query.token);
  if (token === null) return;
  url.searchParams.delete(Query.token);
  history.replaceState(history.state, "", url);
  const r = await apiFetch(Paths.auth.slice(1), { method: "POST", headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  if (!r?.ok) return;
  const body = (await r.json().catch(() => null)) as SignIn | null;
  if (!body?.proof) return;
  held = body.proof;
  store()?.setItem(KEY, held);
}

/** Signs this page (and every tab of this origin and base path) out. */
export async function signOut(): Promise<void> {
  await apiFetch(Paths.auth.slice(1), { method: "DELETE" }).catch(() => null);
  held = null;
  store()?.removeItem(KEY);
}
