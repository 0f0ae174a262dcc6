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
  /** Most sessions alive at once. */
  maxSessions: number;
  /** Minimum log level, or silent. */
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Program and arguments; default: $SHELL, else /bin/sh. */
  command: string[];
}

export const DEFAULTS = { port: 7681, host: "127.0.0.1", term: "xterm-256color", maxSessions: 64, logLevel: "info" } as const;

export const USAGE = `Usage: bunty [options] [--] [command [args...]]

Serves a terminal running COMMAND (default: $SHELL, else /bin/sh) to a browser tab.
Open the URL it prints. Each browser tab (each WebSocket on /ws) gets its own session.

Options:
  -p, --port N          TCP port to listen on (default ${DEFAULTS.port}; 0 picks a free port)
  -i, --host ADDR       interface to bind (default ${DEFAULTS.host}, loopback only)
  -w, --cwd DIR         working directory for the command (default: the current one)
  -T, --term NAME       TERM for the command (default ${DEFAULTS.term})
      --env KEY=VALUE   set an environment variable for the command (repeatable)
      --max-sessions N  most sessions alive at once (default ${DEFAULTS.maxSessions}); more are refused
      --log-level L     debug, info, warn, error or silent (default ${DEFAULTS.logLevel}); logs go to stderr
  -h, --help            print this help and exit
  -v, --version         print the version and exit

On start, bunty prints one line with the URL to open (http://HOST:PORT/).
Protocol, limits and close codes: docs/protocol.md. Exit status: 0 after SIGTERM/SIGINT,
2 for bad options, 1 when the server cannot start.`;

export type ParseResult = { kind: "run"; config: Config } | { kind: "help" } | { kind: "version" } | { kind: "error"; message: string };

const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

function intIn(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Parses argv (without the runtime and script). Options stop at `--` or the first non-option. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): ParseResult {
  const c: Config = { ...DEFAULTS, env: {}, command: [] };
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
        case "--log-level": {
          const l = value();
          if (!(LEVELS as readonly string[]).includes(l)) throw new Error(`--log-level must be one of ${LEVELS.join(", ")}`);
          c.logLevel = l as Config["logLevel"];
          break;
        }
        default: throw new Error(`unknown option ${name}`);
      }
    }
    c.command = argv.slice(i);
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  if (c.command.length === 0) c.command = [env.SHELL || "/bin/sh"];
  return { kind: "run", config: c };
}
