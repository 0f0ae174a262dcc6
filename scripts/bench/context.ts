// What every bench section gets: how to start bunty and the peer (ttyd) for one command, the
// environment the shells run in, and where its figures go. A section measures, pushes rows (the
// table a person reads) and keeps its detail under its own key (the BENCH_JSON line).

import { startTtyd } from "./peers.ts";
import { startServer, stopProc, type Server } from "./procs.ts";

/** One line of the report: bunty beside the peer and/or a baseline, and the target it is held to. */
export interface Row {
  section: string;
  metric: string;
  /** Unit of bunty, ttyd and baseline (e.g. "MB/s", "ms", "KiB"). */
  unit: string;
  bunty: number | null;
  /** ttyd's figure from the same interleaved rounds; undefined when the row has no peer counterpart, null when ttyd was skipped or failed. */
  ttyd?: number | null;
  /** A reference measured in the same run (the raw PTY read, a raw PTY beside the same floods...). */
  baseline?: number | null;
  baselineLabel?: string;
  /** "lower" or "higher" is better: how bunty/ttyd is read. */
  better: "lower" | "higher";
  /** The target in words, e.g. "<= ttyd", ">= 0.95 x raw", "<= 100 ms". */
  target?: string;
  /** Whether the target is met (null: could not be judged, e.g. the peer was skipped). */
  met?: boolean | null;
  digits?: number;
}

/** What the run's setup and every section's context share. */
interface Common {
  quick: boolean;
  /** Interleaved rounds for the throughput-like sections. */
  rounds: number;
  root: string;
  /** Where files the bench writes go (charts, e.g. costs.svg); default bench-out/ (not committed). */
  outDir: string;
  /** The shells' HOME (empty, no rc files). */
  home: string;
  /** Environment for servers and their programs. */
  env: Record<string, string>;
  /** How bunty is run (argv prefix), and a label for the report. */
  bin: string[];
  binLabel: string;
  /** Why the peer is skipped, or null when it runs. */
  ttydSkipped: string | null;
  log(line: string): void;
  /** An oddity worth reading (a byte count that differs, a sample that timed out...). */
  note(line: string): void;
}

export interface Ctx extends Common {
  /** What bunty gives a shell (env + TERM + PS1), for raw-PTY baselines. */
  shellEnv: Record<string, string>;
  /** bunty options that make an interactive shell's prompt plain (`$ `) and HOME the bench's. */
  shellOptions: string[];
  /**
   * Starts bunty for `command` with `extra` options (plus --port 0, --log-level warn, --no-token,
   * and --grace 0 unless `defaultGrace`), in a session of its own. Stopped at the end of the section.
   */
  bunty(command: string[], extra?: string[], o?: { defaultGrace?: boolean }): Promise<Server>;
  /** Starts ttyd for `command` (loopback, writable, free port; env + PS1 `$ `), or null when the peer is skipped. */
  ttyd: ((command: string[]) => Promise<Server>) | null;
  /** Stops a server started by `bunty` or `ttyd` before the section ends. */
  stop(s: Server): Promise<void>;
  row(r: Omit<Row, "section">): void;
  /** This section's detail for BENCH_JSON. */
  detail(value: unknown): void;
}

/** bunty / ttyd, oriented so that > 1 means bunty is better. */
export function advantage(r: Pick<Row, "bunty" | "ttyd" | "better">): number | null {
  if (r.bunty === null || r.ttyd === null || r.ttyd === undefined || !Number.isFinite(r.bunty) || !Number.isFinite(r.ttyd) || r.bunty === 0 || r.ttyd === 0) return null;
  return r.better === "higher" ? r.bunty / r.ttyd : r.ttyd / r.bunty;
}

export interface Section {
  name: string;
  ctx: Ctx;
  rows: Row[];
  details: unknown[];
  /** Servers started and not yet stopped. */
  servers: Set<Server>;
  /** Stops what the section left running; returns notes on servers that did not stop cleanly. */
  close(): Promise<void>;
}

export interface Setup extends Common {
  /** Options every bunty gets (from probing its --help): e.g. ["--grace", "0", "--no-token"]. */
  buntyOptions: string[];
  /** ttyd's binary, or null with the reason it is skipped. */
  ttydPath: string | null;
}

/** A section's context; `section.close()` stops whatever it started. */
export function openSection(name: string, s: Setup): Section {
  const servers = new Set<Server>();
  const rows: Row[] = [];
  const details: unknown[] = [];
  const shellEnv = { ...s.env, TERM: "xterm-256color", COLORTERM: "truecolor", PS1: "$ " };
  const stop = async (srv: Server) => {
    if (!servers.delete(srv)) return;
    const how = await stopProc(srv.proc);
    if (how !== "terminated" && how !== "exited") s.note(`${name}: server ${srv.pid} (${srv.url}) ${how === "killed" ? "needed SIGKILL to stop" : how}`);
  };
  const ctx: Ctx = {
    quick: s.quick, rounds: s.rounds, root: s.root, outDir: s.outDir, home: s.home, env: s.env, shellEnv,
    shellOptions: ["--env", `HOME=${s.home}`, "--env", "PS1=$ "],
    bin: s.bin, binLabel: s.binLabel,
    async bunty(command, extra = [], o = {}) {
      const common = o.defaultGrace ? s.buntyOptions.filter((x, i, a) => x !== "--grace" && a[i - 1] !== "--grace") : s.buntyOptions;
      const srv = await startServer({ bin: s.bin, options: ["--port", "0", "--log-level", "warn", ...common, ...extra], command, env: s.env, cwd: s.root });
      servers.add(srv);
      return srv;
    },
    ttyd: s.ttydPath
      ? async (command) => {
          const srv = await startTtyd(s.ttydPath!, command, { ...s.env, PS1: "$ " }, s.root);
          servers.add(srv);
          return srv;
        }
      : null,
    ttydSkipped: s.ttydSkipped,
    stop,
    log: (l) => s.log(`  ${l}`),
    note: (l) => s.note(`${name}: ${l}`),
    row: (r) => rows.push({ section: name, ...r }),
    detail: (v) => details.push(v),
  };
  return {
    name, ctx, rows, details, servers,
    async close() {
      await Promise.all([...servers].map(stop));
    },
  };
}
