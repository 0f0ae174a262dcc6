// Processes the benchmark starts: a registry so every one is killed (also on error or Ctrl-C),
// starting a bunty server and reading its URL line, stopping with SIGTERM then SIGKILL, and
// /proc readers (RSS, CPU time, children).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { deadline, errorText } from "./util.ts";

/** How long a server gets to print its URL line. */
const URL_LINE_TIMEOUT_MS = 15_000;
/** After SIGTERM, how long before SIGKILL. The server's own shutdown bound is about 5.3 s with busy sessions. */
const TERM_GRACE_MS = 6_000;
/** After SIGKILL, how long we wait for the exit status before giving up. */
const KILL_WAIT_MS = 2_000;
/** How much of a server's stderr we keep for error reports. */
const STDERR_TAIL_BYTES = 4096;
/** Linux clock ticks per second (CLK_TCK) for /proc/PID/stat times. */
const CLK_TCK = 100;

type Proc = ReturnType<typeof Bun.spawn>;
const live = new Set<Proc>();

/** Registers a process so `killAllSync` and `stopProc` know it. */
export function track<P extends Proc>(p: P): P {
  live.add(p);
  p.exited.finally(() => live.delete(p));
  return p;
}

/** Last-resort cleanup (process exit, signals): SIGKILL everything still running. */
export function killAllSync(): void {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {}
  }
}

/** SIGTERM, wait, SIGKILL, wait. Never throws; returns how it ended. */
export async function stopProc(p: Proc, graceMs = TERM_GRACE_MS): Promise<"exited" | "terminated" | "killed" | "stuck"> {
  if (p.exitCode !== null || p.signalCode !== null) return "exited";
  try {
    p.kill("SIGTERM");
  } catch {}
  try {
    await deadline(p.exited, graceMs, "exit after SIGTERM");
    return "terminated";
  } catch {}
  try {
    p.kill("SIGKILL");
  } catch {}
  try {
    await deadline(p.exited, KILL_WAIT_MS, "exit after SIGKILL");
    return "killed";
  } catch {
    return "stuck";
  }
}

/** Reads a stream to its end in the background, keeping only the last `keep` bytes of text. */
function drain(stream: ReadableStream<Uint8Array>, keep: number, onText?: (all: string) => void): { tail(): string } {
  let tail = "";
  const dec = new TextDecoder();
  (async () => {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        tail += dec.decode(value, { stream: true });
        onText?.(tail);
        if (tail.length > keep) tail = tail.slice(-keep);
      }
    } catch {} // the process went away
  })();
  return { tail: () => tail };
}

export interface Server {
  proc: Proc;
  pid: number;
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** ws://127.0.0.1:PORT/ws */
  wsUrl: string;
  /** Milliseconds from spawn to the URL line. */
  startMs: number;
  stderr(): string;
  stop(): ReturnType<typeof stopProc>;
}

export interface ServerSpec {
  /** How to run bunty: e.g. [bun, "server/main.ts"] or ["dist/bunty"]. */
  bin: string[];
  /** bunty options before `--`. */
  options?: string[];
  /** Program for each session; omitted means no `--` at all. */
  command?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Where the server says where it listens, for servers other than bunty (ttyd logs
   * "Listening on port: N" on stderr): returns the base URL once the text so far has it.
   */
  listening?: { stream: "stdout" | "stderr"; parse(text: string): string | null };
  /** Start it in a session of its own (`setsid`, as a service runs); default true. */
  ownSession?: boolean;
}

/** Starts a bunty server and waits for its URL line. Kills it if the line does not come. */
export async function startServer(spec: ServerSpec): Promise<Server> {
  const argv = [...spec.bin, ...(spec.options ?? []), ...(spec.command ? (spec.listening ? spec.command : ["--", ...spec.command]) : [])];
  const t0 = performance.now();
  // setsid execs in place (a Bun child is not a process-group leader), so the pid is the server's;
  // in its own session the server has its own scheduling group (docs/benchmarks.md: the clients).
  const proc = track(Bun.spawn(spec.ownSession === false ? argv : ["setsid", ...argv], { cwd: spec.cwd, env: spec.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const { promise: urlSeen, resolve } = Promise.withResolvers<string>();
  // The base URL only: a server may append a query (e.g. ?token=...) to the URL it prints.
  const bunty = (text: string) => /(https?:\/\/[^\s/?#]+\/)/.exec(text)?.[1] ?? null;
  const parse = spec.listening?.parse ?? bunty;
  const onText = (text: string) => {
    const url = parse(text);
    if (url) resolve(url);
  };
  const listenOn = spec.listening?.stream ?? "stdout";
  drain(proc.stdout, STDERR_TAIL_BYTES, listenOn === "stdout" ? onText : undefined);
  const err = drain(proc.stderr, STDERR_TAIL_BYTES, listenOn === "stderr" ? onText : undefined);
  let url: string;
  try {
    url = await deadline(
      Promise.race([urlSeen, proc.exited.then((c) => Promise.reject(new Error(`server exited (${c}) before printing its URL`)))]),
      URL_LINE_TIMEOUT_MS,
      "server URL line",
    );
  } catch (e) {
    await stopProc(proc, 1000);
    throw new Error(`${errorText(e)}; argv ${JSON.stringify(argv)}; stderr: ${err.tail().trim().slice(-800) || "(empty)"}`);
  }
  const startMs = performance.now() - t0;
  const wsUrl = url.replace(/^http/, "ws") + "ws";
  return { proc, pid: proc.pid, url, wsUrl, startMs, stderr: err.tail, stop: () => stopProc(proc) };
}

/** Runs a command to completion with a deadline; returns wall milliseconds and stdout. */
export async function timeRun(argv: string[], ms: number): Promise<{ wallMs: number; code: number | null; stdout: string }> {
  const t0 = performance.now();
  const proc = track(Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "ignore" }));
  const out = new Response(proc.stdout).text();
  try {
    const code = await deadline(proc.exited, ms, `${argv.join(" ")}`);
    const wallMs = performance.now() - t0;
    return { wallMs, code, stdout: await deadline(out, 1000, "stdout") };
  } catch (e) {
    await stopProc(proc, 500);
    throw e;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return null;
  }
}

/** VmRSS of a process in KiB, or null when it is gone. */
export function vmRssKiB(pid: number): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readText(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) : null;
}

/** Fields after "pid (comm) " of /proc/PID/stat: [state, ppid, pgrp, session, ...]. */
function statFields(pid: number): string[] | null {
  const t = readText(`/proc/${pid}/stat`);
  if (!t) return null;
  return t.slice(t.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds a process has used: its own (user+system) and its waited-for children's. */
export function cpuSeconds(pid: number): { self: number; children: number } | null {
  const f = statFields(pid);
  if (!f) return null;
  // state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== "Z" && f[0] !== "X";
}

/** Live pids whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!(pid > 0)) continue;
    const f = statFields(pid);
    if (f && Number(f[1]) === ppid && f[0] !== "Z") out.push(pid);
  }
  return out;
}

const PROBE = new URL("./probe.ts", import.meta.url).pathname;
/** Longest a probe (scripts/bench/probe.ts) may run. */
const PROBE_TIMEOUT_MS = 120_000;

/**
 * Runs one measurement in a client process of its own (scripts/bench/probe.ts) and returns its
 * JSON result (its last line). `onLine` sees every line as it comes (e.g. a session id before the result).
 */
/**
 * Runs one of the bench's python3 helpers (scripts/bench/SCRIPT, the floors without Bun) to its
 * end and parses the one JSON line it prints; killed at `timeoutMs`. Null without python3.
 */
export async function python<T>(script: string, args: string[], timeoutMs: number): Promise<T | null> {
  const py = Bun.which("python3");
  if (!py) return null;
  const p = track(Bun.spawn([py, join(import.meta.dir, script), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", signal: AbortSignal.timeout(timeoutMs) }));
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${err.trim().slice(0, 300)}`);
  return JSON.parse(out) as T;
}

export async function probe<T>(args: string[], o: { env?: Record<string, string>; onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<T> {
  const p = track(Bun.spawn([process.execPath, PROBE, ...args], { env: o.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  let last = "";
  const out = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of p.stdout) {
      buf += dec.decode(chunk, { stream: true });
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        last = line;
        o.onLine?.(line);
      }
    }
  })();
  const err = new Response(p.stderr).text();
  try {
    const code = await deadline(p.exited, o.timeoutMs ?? PROBE_TIMEOUT_MS, `probe ${args[0]}`);
    await deadline(out, 1000, "probe output");
    if (code !== 0) throw new Error(((await deadline(err, 1000, "probe stderr").catch(() => "")).trim() || `probe ${args[0]} exited with ${code}`).slice(0, 600));
    return JSON.parse(last) as T;
  } catch (e) {
    await stopProc(p, 500);
    throw e;
  }
}
