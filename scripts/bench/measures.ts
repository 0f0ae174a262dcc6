// The measurements themselves. Each takes a running server (or none) and returns plain numbers;
// orchestration, rounds and printing live in scripts/bench.ts.

import { existsSync } from "node:fs";
import { connect, type Conn } from "./client.ts";
import { childrenOf, cpuSeconds, isAlive, startServer, stopProc, timeRun, track, vmRssKiB, type Server, type ServerSpec } from "./procs.ts";
import { deadline, max, median, pollUntil, sleep } from "./util.ts";

/** Longest a single throughput run may take (100 MB at a pathological 2 MB/s would be 50 s). */
const THROUGHPUT_TIMEOUT_MS = 90_000;
/** How long a session gets to print its first output. */
export const FIRST_OUTPUT_TIMEOUT_MS = 10_000;
/** How long ended sessions get to disappear from /api/health. */
const SESSIONS_ZERO_TIMEOUT_MS = 10_000;

const MB = 1e6;

// ---- health ----

export interface Health {
  sessions: number;
  /** Warm spares ready (servers with --pool-size). */
  spares?: number;
  clients: number;
  rssBytes: number;
  eventLoopLagMs: number;
  eventLoopLagMaxMs?: number;
}

export async function health(server: Server): Promise<Health> {
  const res = await fetch(server.url + "api/health", { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET /api/health: HTTP ${res.status}`);
  return (await res.json()) as Health;
}

/** Waits until the server reports 0 sessions, none of them still being ended (reaped); returns the milliseconds it took, or null on timeout. */
export async function waitSessionsZero(server: Server, ms = SESSIONS_ZERO_TIMEOUT_MS): Promise<number | null> {
  const t0 = performance.now();
  const idle = (h: Health | null) => h !== null && h.sessions === 0 && ((h as { ending?: number }).ending ?? 0) === 0;
  const ok = await pollUntil(async () => (idle(await health(server).catch(() => null)) ? true : undefined), ms, 10);
  return ok ? performance.now() - t0 : null;
}

/**
 * Watches the server's event-loop lag (its latest 50 ms sample) by polling /api/health, and
 * keeps the largest value per phase. A blocked loop delays the poll too, but the late sample
 * it then returns shows the stall.
 */
export function watchLag(server: Server, everyMs = 25) {
  const maxes: Record<string, number> = {};
  let phase = "start";
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const h = await health(server).catch(() => null);
      if (h) maxes[phase] = Math.max(maxes[phase] ?? 0, h.eventLoopLagMs);
      await sleep(everyMs);
    }
  })();
  return {
    phase(name: string) {
      phase = name;
    },
    async stop(): Promise<Record<string, number>> {
      stopped = true;
      await deadline(loop, 5000, "lag watcher").catch(() => {});
      return maxes;
    },
  };
}

// ---- 1 + 2: throughput ----

export interface Run {
  bytes: number;
  /** PTY reads (raw) or binary frames (bunty): bytes / chunks is the average chunk size. */
  chunks: number;
  seconds: number;
  mbps: number;
  /** CPU seconds of the reader (bench process for raw, server for bunty). */
  readerCpu: number;
  /** CPU seconds of the program (sh and its pipeline). */
  programCpu: number;
  /** bunty only: CPU seconds of the bench's WebSocket client. */
  clientCpu?: number;
  /** bunty only: `snapshot` messages received, i.e. times the server skipped this client ahead instead of sending every byte. */
  snapshots?: number;
  /** Largest event-loop lag of the reader during the run, ms: the bench process's own (50 ms timer) for raw, the server's (its /api/health samples, polled) for bunty. */
  lagMaxMs: number;
}

/**
 * Baseline: the bench process reads the program's PTY itself with Bun.spawn({ terminal }).
 * The clock starts at the spawn, or with `fromFirstByte` at the first output byte (for commands
 * that sleep before they write).
 */
export async function rawPty(cmd: string, opts: { fromFirstByte?: boolean } = {}): Promise<Run> {
  let bytes = 0, chunks = 0, firstAt = 0;
  const cpu0 = process.cpuUsage();
  const kids0 = cpuSeconds(process.pid)!.children;
  const lag = selfLag();
  const t0 = performance.now();
  const proc = track(
    Bun.spawn(["sh", "-c", cmd], {
      terminal: {
        cols: 80,
        rows: 24,
        data(_t, b) {
          if (chunks === 0) firstAt = performance.now();
          bytes += b.length;
          chunks++;
        },
      },
    }),
  );
  try {
    await deadline(proc.exited, THROUGHPUT_TIMEOUT_MS, "raw PTY run");
  } catch (e) {
    await stopProc(proc, 500);
    throw e;
  } finally {
    lag.stop();
    try {
      proc.terminal?.close();
    } catch {}
  }
  const seconds = (performance.now() - (opts.fromFirstByte && chunks > 0 ? firstAt : t0)) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    bytes, chunks, seconds, mbps: bytes / MB / seconds,
    readerCpu: (cpu.user + cpu.system) / 1e6,
    programCpu: cpuSeconds(process.pid)!.children - kids0,
    lagMaxMs: lag.max(),
  };
}

/**
 * How late a 50 ms timer fires in this process: the largest delay seen until stop(). Same period
 * as the server's own lag monitor, so both readers carry the same timer (a 10 ms timer changed
 * the raw reader's read sizes noticeably).
 */
function selfLag() {
  const PERIOD_MS = 50;
  let maxLag = 0, last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - PERIOD_MS);
    last = now;
  }, PERIOD_MS);
  return { stop: () => clearInterval(timer), max: () => maxLag };
}

/**
 * The bench's client of before, kept for the `agreement` section: one session read by a Bun
 * WebSocket in the bench's own process, binary bytes counted from open to the exit message,
 * with /api/health polled every 50 ms for the event-loop lag unless `poll: false`.
 */
export async function buntyRun(server: Server, o: { poll?: boolean } = {}): Promise<Run> {
  const c0 = cpuSeconds(server.pid)!;
  const cpu0 = process.cpuUsage();
  const lag = o.poll === false ? { stop: async () => ({}) as Record<string, number> } : watchLag(server, 50);
  const conn = connect(server.wsUrl);
  let bytes = 0, chunks = 0;
  conn.onBytes = (b) => {
    bytes += b.byteLength;
    chunks++;
  };
  try {
    const opened = await deadline(conn.opened, FIRST_OUTPUT_TIMEOUT_MS, "socket open");
    const exit = await deadline(conn.exit, THROUGHPUT_TIMEOUT_MS, "exit message").catch((e) => {
      throw new Error(`${(e as Error).message} after ${bytes} bytes`);
    });
    if (exit.message.code !== 0) throw new Error(`program exited with ${JSON.stringify(exit.message)}`);
    const seconds = (exit.at - opened) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const c1 = cpuSeconds(server.pid)!;
    const lags = await lag.stop();
    const snapshots = conn.others.filter((m) => (m.type as string) === "snapshot").length;
    return {
      bytes, chunks, seconds, mbps: bytes / MB / seconds,
      readerCpu: c1.self - c0.self, programCpu: c1.children - c0.children, clientCpu: (cpu.user + cpu.system) / 1e6,
      lagMaxMs: Math.max(0, ...Object.values(lags)),
      snapshots,
    };
  } finally {
    await lag.stop();
    await conn.close();
    await waitSessionsZero(server, 5000);
  }
}

// ---- 5: memory per idle session ----

export interface MemoryCycle {
  sessions: number;
  /** Server VmRSS before opening and with all sessions open, KiB. */
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perSessionKiB: number;
  /** Same from /api/health rssBytes, KiB. */
  healthPerSessionKiB: number;
  /** Direct children of the server (the shells) with all sessions open: count and summed VmRSS. */
  shells: number;
  shellsRssKiB: number;
  /** Milliseconds from closing every socket to /api/health reporting 0 sessions; null if it did not. */
  zeroMs: number | null;
  sessionsLeft: number;
  /** Shell pids (from hello) still alive after sessions reached 0 (or the deadline). */
  shellsLeft: number;
  /** Server VmRSS 1 s after every session ended, KiB. */
  rssAfterCloseKiB: number;
  /** Largest event-loop lag seen while opening, while idle, and while closing all, ms. */
  lagOpenMs: number;
  lagIdleMs: number;
  lagCloseMs: number;
}

async function openIdle(server: Server): Promise<{ conn: Conn; pid: number }> {
  const conn = connect(server.wsUrl);
  try {
    await deadline(conn.firstOutput, FIRST_OUTPUT_TIMEOUT_MS, "first output");
    const h = await deadline(conn.hello, 1000, "hello");
    return { conn, pid: h.message.pid };
  } catch (e) {
    await conn.close();
    throw e;
  }
}

export async function memoryCycle(server: Server, n: number, batch = 10): Promise<MemoryCycle> {
  const rssBeforeKiB = vmRssKiB(server.pid)!;
  const hBefore = await health(server);
  const open: { conn: Conn; pid: number }[] = [];
  const lag = watchLag(server);
  try {
    lag.phase("open");
    for (let i = 0; i < n; i += batch) {
      const got = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => openIdle(server)));
      for (const g of got) if (g.status === "fulfilled") open.push(g.value);
      const bad = got.find((g) => g.status === "rejected") as PromiseRejectedResult | undefined;
      if (bad) throw new Error(`session ${open.length + 1} of ${n}: ${(bad.reason as Error).message}`);
    }
    lag.phase("idle");
    await sleep(1000);
    const rssAfterKiB = vmRssKiB(server.pid)!;
    const hAfter = await health(server);
    const kids = childrenOf(server.pid);
    const shellsRssKiB = kids.reduce((a, p) => a + (vmRssKiB(p) ?? 0), 0);
    if (hAfter.sessions !== n) throw new Error(`expected ${n} sessions open, /api/health says ${hAfter.sessions}`);
    lag.phase("close");
    const t0 = performance.now();
    await Promise.all(open.map((o) => o.conn.close()));
    const zero = await waitSessionsZero(server);
    const zeroMs = zero === null ? null : performance.now() - t0;
    const sessionsLeft = (await health(server)).sessions;
    const shellsLeft = open.filter((o) => isAlive(o.pid)).length;
    open.length = 0;
    await sleep(1000);
    const lags = await lag.stop();
    return {
      sessions: n, rssBeforeKiB, rssAfterKiB, perSessionKiB: (rssAfterKiB - rssBeforeKiB) / n,
      healthPerSessionKiB: (hAfter.rssBytes - hBefore.rssBytes) / 1024 / n,
      shells: kids.length, shellsRssKiB, zeroMs, sessionsLeft, shellsLeft, rssAfterCloseKiB: vmRssKiB(server.pid)!,
      lagOpenMs: lags.open ?? NaN, lagIdleMs: lags.idle ?? NaN, lagCloseMs: lags.close ?? NaN,
    };
  } finally {
    await lag.stop();
    await Promise.all(open.map((o) => o.conn.close()));
  }
}

// ---- 6: start-up of the binary ----

export interface StartupResult {
  samples: number;
  /** spawn -> URL line, ms. */
  urlP50: number;
  urlMax: number;
  versionP50: number;
  versionMax: number;
  version: string;
}

export async function startup(bin: string[], samples: number, env: Record<string, string>, cwd: string): Promise<StartupResult> {
  const url: number[] = [];
  const ver: number[] = [];
  let version = "";
  for (let i = 0; i < samples; i++) {
    const spec: ServerSpec = { bin, options: ["--port", "0", "--log-level", "warn"], command: ["/bin/true"], env, cwd };
    const s = await startServer(spec);
    url.push(s.startMs);
    await s.stop();
    const v = await timeRun([...bin, "--version"], 10_000);
    if (v.code !== 0) throw new Error(`${bin.join(" ")} --version exited with ${v.code}`);
    ver.push(v.wallMs);
    version = v.stdout.trim();
  }
  return { samples, urlP50: median(url), urlMax: max(url), versionP50: median(ver), versionMax: max(ver), version };
}

export const binaryExists = (path: string) => existsSync(path);
