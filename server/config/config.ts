// Where settings come from and how they combine: built-in defaults < config file (--config,
// TOML or JSON) < BUNTY_* environment variables < flags. Also --print-config's output, and what
// a SIGHUP reload may change. Every rule is read off the option table (options.ts).

import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { Config } from "./types.ts";
import { defaults, envName, OPTIONS, SETTINGS, type OptionSpec } from "./options.ts";

/** Values from one source, already checked and converted; lists and maps as arrays and objects. */
export type Layer = Map<OptionSpec, unknown>;
export type Source = "file" | "env" | "flag";
const RANK: Record<Source, number> = { file: 1, env: 2, flag: 3 };

/** A problem in a config file or an environment variable: reported in one line, without the usage. */
export class SourceError extends Error {}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "a table" : `a ${typeof v}`);
const BOOLS: Record<string, boolean> = { true: true, "1": true, yes: true, on: true, false: false, "0": false, no: false, off: false };

export function parseBool(text: string, label: string): boolean {
  const b = BOOLS[text.toLowerCase()];
  if (b === undefined) throw new Error(`${label} must be true or false, got ${JSON.stringify(text)}`);
  return b;
}

/** One value given as text (a flag's argument, an environment variable), checked and converted. Lists from the environment are comma-separated. */
export function fromText(o: OptionSpec, text: string, label: string, commas = false): unknown {
  switch (o.type) {
    case "bool": return parseBool(text, label);
    case "list": return (commas ? text.split(",").map((s) => s.trim()).filter(Boolean) : [text]).map((t) => (o.parse ? o.parse(t, label) : t));
    case "map": return Object.fromEntries([o.parse!(text, label) as [string, unknown]]);
    default: return o.parse ? o.parse(text, label) : text;
  }
}

/** Adds a value to a layer: lists and maps add up, anything else is replaced. */
export function put(layer: Layer, o: OptionSpec, v: unknown): void {
  const had = layer.get(o);
  if (o.type === "list") layer.set(o, [...new Set([...((had as unknown[]) ?? []), ...(v as unknown[])])]);
  else if (o.type === "map") layer.set(o, { ...(had as object), ...(v as object) });
  else layer.set(o, v);
}

/** Reads a config file, TOML or JSON by its extension. */
export function readConfigFile(path: string): Record<string, unknown> {
  const ext = extname(path).toLowerCase();
  if (ext !== ".toml" && ext !== ".json") throw new SourceError(`--config ${path}: the file name must end in .toml or .json`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SourceError(`--config ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
  let data: unknown;
  try {
    data = ext === ".toml" ? Bun.TOML.parse(text) : JSON.parse(text);
  } catch (e) {
    // The parser's message may quote a piece of the file (a secret, say): such quotes are blanked.
    throw new SourceError(`${path}: not valid ${ext === ".toml" ? "TOML" : "JSON"}: ${oneLine((e as Error).message).replace(/"[^"]*"/g, '"..."')}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new SourceError(`${path}: must hold a table of options, not ${typeName(data)}`);
  return data as Record<string, unknown>;
}

const BY_NAME = new Map(OPTIONS.map((o) => [o.name, o]));
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replaceAll("_", "-");

/** A config file's options, checked: keys are long option names (kebab-case); null (JSON) means not set here. */
export function fileLayer(path: string, data: Record<string, unknown>): Layer {
  const layer: Layer = new Map();
  for (const [k, v] of Object.entries(data)) {
    const o = BY_NAME.get(k);
    if (!o || o.noFile) {
      const hint = o ? ` (${k} cannot be set in a config file)` : BY_NAME.get(kebab(k)) ? ` (options are spelled like their flags: ${kebab(k)})` : "";
      throw new SourceError(`${path}: unknown option ${JSON.stringify(k)}${hint}`);
    }
    if (v === null) continue;
    const label = `${path}: ${k}`;
    const want = (ok: boolean, what: string) => {
      if (!ok) throw new SourceError(`${label} must be ${what}, not ${typeName(v)}`);
    };
    try {
      switch (o.type) {
        case "int": want(typeof v === "number", "an integer"); put(layer, o, o.parse!(String(v), label)); break;
        case "string": want(typeof v === "string", "a string"); put(layer, o, o.parse ? o.parse(v as string, label) : v); break;
        case "bool": want(typeof v === "boolean", "true or false"); put(layer, o, v); break;
        case "list":
          want(Array.isArray(v) && v.every((x) => typeof x === "string"), "an array of strings");
          put(layer, o, (v as string[]).map((x) => (o.parse ? o.parse(x, label) : x)));
          break;
        case "map":
          want(typeof v === "object" && !Array.isArray(v), "a table");
          put(layer, o, Object.fromEntries(Object.entries(v as object).map(([ek, ev]) => o.entry!(ek, ev, label))));
          break;
        case "argv": want(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"), "a non-empty array of strings"); put(layer, o, v); break;
      }
    } catch (e) {
      throw new SourceError((e as Error).message);
    }
  }
  return layer;
}

/** The BUNTY_* variables that name options (empty ones count as unset; others are ignored). */
export function envLayer(env: Record<string, string | undefined>): Layer {
  const layer: Layer = new Map();
  for (const o of OPTIONS) {
    const name = envName(o);
    const v = name ? env[name] : undefined;
    if (!name || !v) continue;
    try {
      put(layer, o, fromText(o, v, name, true));
    } catch (e) {
      throw new SourceError((e as Error).message);
    }
  }
  return layer;
}

/**
 * Combines defaults and the layers (lowest first) into a Config and checks it as a whole.
 * Throws SourceError (a file or variable) or Error (a combination of options).
 */
export function resolve(layers: [Source, Layer][], env: Record<string, string | undefined>): Config {
  const c = defaults() as unknown as Record<string, unknown>;
  const seen = new Map<string, Source>();
  const merged: Layer = new Map();
  for (const [source, layer] of layers) {
    for (const [o, v] of layer) {
      put(merged, o, v);
      seen.set(o.key, source);
    }
  }
  for (const [o, v] of merged) c[o.key] = v;
  const config = c as unknown as Config;
  const loginShell = config.command.length === 0;
  if (loginShell) config.command = [env.SHELL || "/bin/sh"];
  // One warm spare of the login shell by default (a new tab's prompt at once; 24 KiB of server
  // memory and a shell, docs/benchmarks.md); none of a COMMAND, which must not run before a tab asks.
  if ((config.poolSize as number | null) === null) config.poolSize = loginShell && config.maxSessions > 1 ? 1 : 0;
  if ((config.tlsCert === null) !== (config.tlsKey === null)) throw new Error("--tls-cert and --tls-key go together");
  if (config.tlsCa && !config.tlsCert) throw new Error("--tls-ca needs --tls-cert and --tls-key");
  if (config.noToken && config.token !== null) {
    // The higher source wins (--no-token over BUNTY_TOKEN); the same source saying both is a mistake.
    const [t, n] = [RANK[seen.get("token")!], RANK[seen.get("noToken")!]];
    if (t === n) throw new Error("--token and --no-token contradict each other");
    if (n > t) config.token = null;
    else config.noToken = false;
  }
  if (config.recordMaxBytes !== defaults().recordMaxBytes && config.record === null) throw new Error("--record-max-bytes needs --record DIR");
  if (config.tokenFile !== null && (config.token !== null || config.noToken)) throw new Error("--token-file cannot go with --token, BUNTY_TOKEN or --no-token");
  const unix = config.host.startsWith("/") || config.host.startsWith("unix:");
  // Mode bits for others on the socket file: anybody on the machine may connect.
  const unixPrivate = unix && ((config.socketMode ?? 0o600) & 0o007) === 0;
  if (config.authHeader !== null && config.proxySecretFile === null && config.trustedProxies.length === 0 && !unixPrivate)
    throw new Error(
      `--auth-header ${config.authHeader} needs a way to tell the proxy from everyone else who can connect: --proxy-secret-file FILE (the proxy sends the secret in X-Bunty-Proxy-Secret), ` +
        `a unix socket only the proxy may open (-i /run/bunty/bunty.sock --socket-mode 0660), or --trusted-proxy ADDR (the proxy's address, not loopback). docs/security.md`,
    );
  if (config.poolSize >= config.maxSessions) throw new Error(`--pool-size (${config.poolSize}) must be less than --max-sessions (${config.maxSessions})`);
  return config;
}

/** --print-config: the effective settings as JSON, keyed like a config file (so the output is one), secrets as "***". */
export function printable(config: Config): string {
  const out: Record<string, unknown> = {};
  for (const o of SETTINGS) {
    if (o.noFile) continue;
    const v = config[o.key] ?? null;
    out[o.name] = o.secret && v !== null ? "***" : o.key === "socketMode" && typeof v === "number" ? `0${v.toString(8)}` : v;
  }
  return JSON.stringify(out, null, 2);
}

/** What differs between two configs, by option name: what SIGHUP applies, and what needs a restart. Names only, never values. */
export function changes(from: Config, to: Config): { applied: string[]; ignored: string[] } {
  const applied: string[] = [], ignored: string[] = [];
  for (const o of SETTINGS) {
    if (JSON.stringify(from[o.key]) === JSON.stringify(to[o.key])) continue;
    (o.reload ? applied : ignored).push(o.name);
  }
  return { applied, ignored };
}

/** `to`'s values of the options SIGHUP applies, over `from`. */
export function reloaded(from: Config, to: Config): Config {
  const c = { ...from } as Record<string, unknown>;
  for (const o of SETTINGS) if (o.reload) c[o.key] = to[o.key];
  return c as unknown as Config;
}
