// Cost curves: how bunty's cost grows with load, not one point (issue #13).
//
// sessions: 1, 10, 50, 100 sessions each printing STEADY, about 100 KB/s (10,000 bytes every
//   0.1 s: a chatty build log, 1,250 lines a second). Why that rate: 100 sessions make 10 MB/s, a
//   fifth of what one flood gets through bunty here, so the curve shows what each session costs
//   rather than a saturated server; every 50 ms lag sample sees at most 10,000 bytes of a session,
//   under the shedding threshold below, so these sessions are never paused (their cost is
//   measured, not the fairness rule); and the loop is shell builtins (`read -t` sleeps), so the
//   programs fork nothing and the CPU goes to the server. Each session is read by its own socket in
//   a client process (scripts/bench/load.ts). At each step, on a fresh server: server CPU seconds
//   per MB delivered (/proc/PID/stat over a window; bytes counted by the clients over the same
//   window), server RSS per session (VmRSS with the sessions minus before them, / N; it grows as
//   each session's output log fills, up to its 8 MiB ring), and the echo p50/p99 of one more
//   session where somebody types (probe.ts echo: one byte, the next once it came back). The same
//   step with no server: the N programs on raw PTYs read by a bare Bun process (load.ts
//   raw-flood), its CPU per MB, and a raw PTY's echo beside them. Full runs make two passes (up,
//   then down); figures are medians over passes, percentiles over the pooled samples. Then the
//   RSS per session once a session's output log is full: 10 sessions printing 2 MB/s, 10 MiB each.
// fairness: FLOODS sessions of FLOOD read by clients beside the typing session, its echo through
//   bunty against the same typing on a raw PTY beside the same floods on raw PTYs read by a bare
//   process (no server anywhere), in alternating blocks. The rule bunty implements (load shedding,
//   server/core/pool.ts): while the event loop is more than 15 ms late (until it is back under
//   5 ms), a session that printed more than 16 KiB since the last 50 ms lag sample is paused
//   250 ms at a time (its program waits, nothing is lost) if there is someone to protect (a quiet
//   session with a client, or another flood) or the loop is 250 ms late: floods are held back and
//   keystrokes go through.
//   Target: p99 <= 100 ms, the delay under which a response still feels instant.
// viewers: a writer and 1, 10, 50 viewers (`?session=ID&mode=view&offset=0`) of one session whose
//   program turns echo off, prints one byte, waits for the writer's Enter, then prints VIEW_MB of
//   'a': every client is attached, and its count reset, before the flood's first byte. The slowest
//   viewer's MB/s (its first byte to the exit message); whether every client got every byte
//   (`snapshot` messages are skips); server CPU seconds per MB delivered to all clients. Clients
//   run at most 10 to a process, spread evenly (the writer in the first). Baseline: the raw PTY
//   read rate of the same flood, every round.
// The curves also go to OUT/costs.svg (svg.ts), rewritten after each section.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "./context.ts";
import { health, waitSessionsZero } from "./measures.ts";
import { type Client, Load, printingLoad } from "./load.ts";
import { cpuSeconds, probe, vmRssKiB, type Server } from "./procs.ts";
import { chart, type Panel } from "./svg.ts";
import { deadline, percentile, sleep } from "./util.ts";
// The server's shedding rule, as the lag polls report it (polls over SHED_LAG_MS are "overloaded").
import { SHED_HOLD_MS, SHED_LAG_MS, SHED_RELEASE_LAG_MS } from "../../server/core/pool.ts";

const MB = 1e6;
/** Sessions are started with -a (url args): each socket's `arg` says what its session runs. */
const DISPATCH = ["bash", "--noprofile", "--norc", "-c", 'eval "$1"', "bunty-load"];
const STEADY = `s=$(head -c 10000 /dev/zero | tr '\\0' x); while :; do printf %s "$s"; read -t 0.1; done`;
const STEADY_BYTES_PER_S = 100_000;
/** For the RSS of a session whose output log is full: 20 times STEADY's rate, until FILL_BYTES each (the log holds 8 MiB) or the deadline. */
const FILL = STEADY.replace("head -c 10000", "head -c 200000");
const FILL_SESSIONS = 10, FILL_BYTES = 10 * 2 ** 20, FILL_TIMEOUT_MS = 15_000;
const ECHO = "stty raw -echo; exec cat";
const ECHO_ARGV = ["bash", "--noprofile", "--norc", "-c", ECHO];
const FLOOD = "cat /dev/zero | tr '\\0' a";
const FLOODS = 10;
/** The viewers' program: echo off, one byte to say so, then (after the writer's Enter) $1 bytes of 'a'. */
const VIEW_PROGRAM = ["bash", "--noprofile", "--norc", "-c", `stty -echo; printf R; read -r _; head -c "$1" /dev/zero | tr '\\0' a`, "bunty-view"];
const SESSION_STEPS = [1, 10, 50, 100];
const VIEWER_STEPS = [1, 10, 50];
/** Most clients per load process: 50 viewers and the writer are 6 processes of 8-9 clients, as separate machines would be. */
const CLIENTS_PER_LOAD = 10;
const MAX_SESSIONS = 120;
/** Deadlines: every socket's hello, one viewer run, the lag poller's end. */
const READY_MS = 30_000, VIEW_RUN_MS = 120_000, POLL_END_MS = 5_000;
/** Round trips before each echo block's samples (the probe's JIT, the server's paths). */
const ECHO_WARM = 30;
/** Once a load is up, time before measuring (loop and scheduler settle). */
const SETTLE_MS = 800;
/** VmRSS readings per RSS figure (their median), and the time between them: RSS moves ~1 MiB by itself. */
const RSS_READINGS = 5, RSS_GAP_MS = 100;
/** How often the server's latest lag sample is polled while measuring (each poll is a request it serves). */
const LAG_POLL_MS = 200;
const FLOOD_TARGET_MS = 100;

const plan = (quick: boolean) =>
  quick
    ? { passes: 1, windowMs: 2500, echo: 300, floodBlocks: 2, floodEcho: 200, viewMB: 20, viewRounds: 2 }
    : { passes: 2, windowMs: 4000, echo: 600, floodBlocks: 4, floodEcho: 300, viewMB: 50, viewRounds: 3 };
type Plan = ReturnType<typeof plan>;

const argUrl = (s: Server, arg: string) => `${s.wsUrl}?arg=${encodeURIComponent(arg)}`;
const median = (xs: number[]) => percentile(xs, 50);
const pct = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) });
type Pct = ReturnType<typeof pct>;
const f = (x: number, d = 2) => x.toFixed(d);

async function echoTimes(ctx: Ctx, target: Server | "raw", n: number): Promise<number[]> {
  const args = target === "raw" ? ["raw", JSON.stringify(ECHO_ARGV)] : ["bunty", argUrl(target, ECHO)];
  const r = await probe<{ times: number[]; mismatches: number }>(["echo", ...args, String(n), String(ECHO_WARM)], { env: ctx.shellEnv });
  if (r.mismatches) ctx.note(`${r.mismatches} echoes came back with another byte than the one sent (${args[0]})`);
  return r.times;
}

/** While `fn` runs, polls the server's latest 50 ms lag sample: the largest, and the share of polls over SHED_LAG_MS. */
async function withLag<T>(srv: Server, fn: () => Promise<T>): Promise<[T, { maxMs: number; overloadedPct: number }]> {
  const lags: number[] = [];
  let done = false;
  const poll = (async () => {
    for (; !done; await sleep(LAG_POLL_MS)) {
      const h = await health(srv).catch(() => null);
      if (h) lags.push(h.eventLoopLagMs);
    }
  })();
  try {
    const r = await fn();
    return [r, { maxMs: Math.max(0, ...lags), overloadedPct: (100 * lags.filter((l) => l > SHED_LAG_MS).length) / Math.max(1, lags.length) }];
  } finally {
    done = true;
    await deadline(poll, POLL_END_MS, "lag polling").catch(() => {});
  }
}

/** Share of the whole machine's CPU time that was busy since `machineTicks()` (/proc/stat; other agents' work included). */
function machineTicks(): () => number {
  const read = () => {
    const v = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3]! - (v[4] ?? 0), total }; // idle and iowait are not busy
  };
  const from = read();
  return () => {
    const to = read();
    return (100 * (to.busy - from.busy)) / Math.max(1, to.total - from.total);
  };
}

async function rssKiB(pid: number): Promise<number> {
  const xs = [vmRssKiB(pid)!];
  while (xs.length < RSS_READINGS) xs.push(await sleep(RSS_GAP_MS).then(() => vmRssKiB(pid)!));
  return median(xs);
}

// ---- the chart ----

const BUNTY = "#1f77b4", BUNTY_2 = "#7fb2d9", RAW = "#d62728";
/** What the chart shows; each section fills its part. */
const curves: { sessions?: SessionStep[]; flood?: { bunty: Pct; raw: Pct }; viewers?: ViewerStep[]; rawMBps?: number } = {};

function writeChart(ctx: Ctx): void {
  const s = curves.sessions ?? [], v = curves.viewers ?? [];
  const pts = <T extends { n: number }>(xs: T[], y: (t: T) => number) => xs.map((t) => [t.n, y(t)] as [number, number]);
  const sessionsAxis = { label: "sessions printing ~100 KB/s each", log: true }, viewersAxis = { label: "viewers (+ the writer)", log: true };
  const panels: Panel[] = [
    {
      title: "Server CPU per MB delivered", x: sessionsAxis, y: { label: "CPU s / MB", log: true },
      series: [
        { name: "bunty server", points: pts(s, (t) => t.cpuPerMB), color: BUNTY },
        { name: "bare Bun reader of the same PTYs (no server)", points: pts(s, (t) => t.rawCpuPerMB), dashed: true, color: RAW },
      ],
    },
    {
      title: "Typing echo beside the sessions", x: sessionsAxis, y: { label: "ms", log: true },
      series: [
        { name: "bunty p99", points: pts(s, (t) => t.echo.p99), color: BUNTY },
        { name: "bunty p50", points: pts(s, (t) => t.echo.p50), color: BUNTY_2 },
        { name: "raw PTY p99 beside the same on raw PTYs (no server)", points: pts(s, (t) => t.rawEcho.p99), dashed: true, color: RAW },
      ],
      refs: curves.flood ? [{ name: `p99 beside ${FLOODS} floods, bunty`, y: curves.flood.bunty.p99 }, { name: `p99 beside ${FLOODS} floods, raw PTYs`, y: curves.flood.raw.p99 }] : [],
    },
    {
      title: "Slowest viewer of one flooding session", x: viewersAxis, y: { label: "MB/s" },
      series: [{ name: "slowest viewer", points: pts(v, (t) => t.slowestMBps), color: BUNTY }],
      refs: curves.rawMBps ? [{ name: "raw PTY read of the same flood", y: curves.rawMBps }] : [],
    },
    {
      title: "Server CPU per MB, one session's output to all", x: viewersAxis, y: { label: "CPU s / MB delivered", log: true },
      series: [{ name: "bunty server", points: pts(v, (t) => t.cpuPerMB), color: BUNTY }],
    },
  ];
  mkdirSync(ctx.outDir, { recursive: true });
  const file = join(ctx.outDir, "costs.svg");
  writeFileSync(file, chart(panels, `bunty cost curves, ${ctx.quick ? "quick" : "full"} run, ${new Date().toISOString().slice(0, 16)}Z; dashed: no server`));
  ctx.log(`chart: ${file}`);
}

// ---- sessions ----

/** A server whose sessions run what their socket's `arg` says, after one warm-up session (the first-use costs, the echo paths). */
async function freshServer(ctx: Ctx): Promise<Server> {
  const srv = await ctx.bunty(DISPATCH, [...ctx.shellOptions, "-a", "--max-sessions", String(MAX_SESSIONS)]);
  await echoTimes(ctx, srv, 20);
  await waitSessionsZero(srv);
  return srv;
}

/**
 * N steady sessions on a fresh server: CPU per MB over a window, RSS per session, then the typing
 * session's echo. With `idle`, first the server's CPU over the same window with no session at all.
 */
async function buntySteady(ctx: Ctx, n: number, p: Plan, idle: boolean) {
  const srv = await freshServer(ctx);
  let load: Load | null = null;
  try {
    let idleCpuPerS: number | null = null;
    if (idle) {
      const c0 = cpuSeconds(srv.pid)!.self, t0 = performance.now();
      await sleep(p.windowMs);
      idleCpuPerS = (cpuSeconds(srv.pid)!.self - c0) / ((performance.now() - t0) / 1000);
    }
    const rss0 = await rssKiB(srv.pid);
    load = await printingLoad(["read", argUrl(srv, STEADY), String(n)], ctx.env);
    await sleep(SETTLE_MS);
    const rssA = await rssKiB(srv.pid), busy = machineTicks(), tA = performance.now();
    const [w, lag] = await withLag(srv, () => load!.window(p.windowMs, () => cpuSeconds(srv.pid)!.self));
    const machineBusyPct = busy(), rss1 = await rssKiB(srv.pid);
    const rssGrowthKiBps = (rss1 - rssA) / n / ((performance.now() - tA) / 1000);
    const times = await echoTimes(ctx, srv, p.echo);
    const t = await load.stop();
    load = null;
    if (t?.snapshots) ctx.note(`${n} sessions: the clients got ${t.snapshots} snapshot messages (skips)`);
    return { ...w, rssPerSessionKiB: (rss1 - rss0) / n, rssGrowthKiBps, machineBusyPct, lag, echo: pct(times), times, idleCpuPerS };
  } finally {
    await load?.stop();
    await ctx.stop(srv);
  }
}

/** The same N programs on raw PTYs read by a bare Bun process, and a raw PTY's echo beside them. */
async function rawSteady(ctx: Ctx, n: number, p: Plan) {
  const load = await printingLoad(["raw-flood", String(n), STEADY, "60"], ctx.shellEnv);
  try {
    await sleep(SETTLE_MS);
    const w = await load.window(p.windowMs);
    const times = await echoTimes(ctx, "raw", p.echo);
    return { ...w, echo: pct(times), times };
  } finally {
    await load.stop();
  }
}

/** FLOODS floods beside the typing session, through bunty or on raw PTYs: echo times, the floods' MB/s. */
async function floodBlock(ctx: Ctx, side: "bunty" | "raw", srv: Server, n: number) {
  const load = await printingLoad(side === "raw" ? ["raw-flood", String(FLOODS), FLOOD, "60"] : ["read", argUrl(srv, FLOOD), String(FLOODS)], side === "raw" ? ctx.shellEnv : ctx.env);
  try {
    await sleep(SETTLE_MS);
    const a = await load.count(), busy = machineTicks();
    const [times, lag] = side === "raw" ? [await echoTimes(ctx, "raw", n), null] : await withLag(srv, () => echoTimes(ctx, srv, n));
    const b = await load.count();
    return { times, floodMBps: (b.bytes - a.bytes) / MB / ((b.at - a.at) / 1000), lag, machineBusyPct: busy() };
  } finally {
    await load.stop();
    if (side === "bunty") await waitSessionsZero(srv);
  }
}

/** FILL_SESSIONS sessions printing FILL (2 MB/s) until each printed FILL_BYTES: server RSS per session once its output log is full. */
async function filledRss(ctx: Ctx) {
  const srv = await freshServer(ctx);
  let load: Load | null = null;
  try {
    const rss0 = await rssKiB(srv.pid), t0 = performance.now();
    load = await printingLoad(["read", argUrl(srv, FILL), String(FILL_SESSIONS)], ctx.env);
    let printed = 0;
    while ((printed = (await load.count()).bytes / FILL_SESSIONS) < FILL_BYTES && performance.now() - t0 < FILL_TIMEOUT_MS) await sleep(500);
    return { sessions: FILL_SESSIONS, printedMiB: printed / 2 ** 20, seconds: (performance.now() - t0) / 1000, rssPerSessionMiB: ((await rssKiB(srv.pid)) - rss0) / FILL_SESSIONS / 1024 };
  } finally {
    await load?.stop();
    await ctx.stop(srv);
  }
}

type Run = { n: number; bunty: Awaited<ReturnType<typeof buntySteady>>; raw: Awaited<ReturnType<typeof rawSteady>> };
/** One step of the curve from its runs (one per pass): medians, and percentiles of the pooled echo samples. */
function summary(of: Run[], idleCpuPerS: number) {
  const m = (g: (r: Run) => number) => median(of.map(g));
  return {
    n: of[0]!.n, mbps: m((r) => r.bunty.mbps), cpuPerMB: m((r) => r.bunty.cpuPerMB), rawCpuPerMB: m((r) => r.raw.cpuPerMB),
    /** Server CPU per MB above what the idle server spends in the same time. */
    marginalCpuPerMB: m((r) => (r.bunty.cpuS - idleCpuPerS * r.bunty.seconds) / (r.bunty.mbps * r.bunty.seconds)),
    rssPerSessionKiB: m((r) => r.bunty.rssPerSessionKiB), rssGrowthKiBps: m((r) => r.bunty.rssGrowthKiBps),
    echo: pct(of.flatMap((r) => r.bunty.times)), rawEcho: pct(of.flatMap((r) => r.raw.times)),
  };
}
type SessionStep = ReturnType<typeof summary>;

export async function sessionCurve(ctx: Ctx): Promise<void> {
  const p = plan(ctx.quick);
  const runs: Run[] = [];
  let k = 0;
  for (let pass = 0; pass < p.passes; pass++)
    for (const n of pass % 2 ? [...SESSION_STEPS].reverse() : SESSION_STEPS) {
      // The raw side first every other time, so drift in the machine's load favours neither.
      const rawFirst = k++ % 2 === 1;
      const raw0 = rawFirst ? await rawSteady(ctx, n, p) : null;
      const bunty = await buntySteady(ctx, n, p, runs.length === 0);
      const r: Run = { n, bunty, raw: raw0 ?? (await rawSteady(ctx, n, p)) };
      runs.push(r);
      const b = r.bunty;
      ctx.log(
        `pass ${pass + 1}, ${n} sessions: ${f(b.mbps)} MB/s delivered, server ${f(b.cpuPerMB, 4)} CPU s/MB (bare reader ${f(r.raw.cpuPerMB, 4)}), ${f(b.rssPerSessionKiB, 0)} KiB/session ` +
          `(+${f(b.rssGrowthKiBps, 0)} KiB/s each), echo p50/p99 ${f(b.echo.p50)}/${f(b.echo.p99)} ms (raw ${f(r.raw.echo.p50)}/${f(r.raw.echo.p99)}), ` +
          `lag max ${f(b.lag.maxMs, 0)} ms (over ${SHED_LAG_MS} ms in ${f(b.lag.overloadedPct, 0)}% of polls), machine ${f(b.machineBusyPct, 0)}% busy`,
      );
      const expect = (n * STEADY_BYTES_PER_S) / MB;
      if (b.mbps < 0.8 * expect) ctx.note(`${n} sessions: the clients got ${f(b.mbps)} MB/s, under 80% of the ${f(expect, 1)} MB/s the programs print`);
    }
  const idle = runs[0]!.bunty.idleCpuPerS ?? 0;
  const steps = SESSION_STEPS.map((n) => summary(runs.filter((r) => r.n === n), idle));
  const of = p.passes > 1 ? ` (median of ${p.passes})` : "";
  ctx.row({ metric: "server CPU at rest (no session, after one)", unit: "% of a core", bunty: idle * 100, better: "lower", digits: 2 });
  for (const s of steps) {
    ctx.row({ metric: `${s.n} sessions x 100 KB/s: server CPU per MB delivered${of}; ${f(s.marginalCpuPerMB, 4)} above the idle server`, unit: "CPU s/MB", bunty: s.cpuPerMB, baseline: s.rawCpuPerMB, baselineLabel: "bare Bun reader of the same PTYs", better: "lower", digits: 4 });
    const noise = s.n < 10 ? "; the process's RSS moves ~1 MiB by itself" : "";
    ctx.row({ metric: `${s.n} sessions x 100 KB/s: server RSS per session after ${f((SETTLE_MS + p.windowMs) / 1000, 1)} s (+${f(s.rssGrowthKiBps, 0)} KiB/s each: output logs fill, to 8 MiB${noise})`, unit: "KiB", bunty: s.rssPerSessionKiB, better: "lower", digits: 0 });
    ctx.row({
      metric: `${s.n} sessions x 100 KB/s: typing echo p99 (n=${s.echo.n}; p50 ${f(s.echo.p50, 3)} ms, raw ${f(s.rawEcho.p50, 3)})`, unit: "ms", bunty: s.echo.p99, baseline: s.rawEcho.p99,
      baselineLabel: "raw PTY beside the same programs on raw PTYs", better: "lower", digits: 3,
    });
  }
  curves.sessions = steps;
  const filled = await filledRss(ctx);
  ctx.log(`${filled.sessions} sessions printing 2 MB/s: ${f(filled.rssPerSessionMiB)} MiB of server RSS per session after ${f(filled.printedMiB, 1)} MiB printed each (${f(filled.seconds, 1)} s)`);
  ctx.row({ metric: `server RSS per session once its 8 MiB output log is full (${filled.sessions} sessions, ${f(filled.printedMiB, 1)} MiB printed each)`, unit: "MiB", bunty: filled.rssPerSessionMiB, better: "lower", digits: 2 });

  // The fairness figure: floods beside the typist, through bunty and with no server at all, in alternating blocks.
  const srv = await freshServer(ctx);
  const blocks: Record<"bunty" | "raw", Awaited<ReturnType<typeof floodBlock>>[]> = { bunty: [], raw: [] };
  try {
    for (let b = 0; b < p.floodBlocks; b++)
      for (const side of b % 2 ? (["raw", "bunty"] as const) : (["bunty", "raw"] as const)) {
        const r = await floodBlock(ctx, side, srv, p.floodEcho);
        blocks[side].push(r);
        ctx.log(
          `${FLOODS} floods, block ${b + 1} ${side}: echo p50/p99 ${f(percentile(r.times, 50))}/${f(percentile(r.times, 99))} ms, floods ${f(r.floodMBps, 1)} MB/s, machine ${f(r.machineBusyPct, 0)}% busy` +
            (r.lag ? `, server lag max ${f(r.lag.maxMs, 0)} ms, over ${SHED_LAG_MS} ms in ${f(r.lag.overloadedPct, 0)}% of polls` : ""),
        );
      }
  } finally {
    await ctx.stop(srv);
  }
  const flood = { bunty: pct(blocks.bunty.flatMap((r) => r.times)), raw: pct(blocks.raw.flatMap((r) => r.times)) };
  curves.flood = flood;
  ctx.row({
    metric: `typing echo p99 beside ${FLOODS} floods, n=${flood.bunty.n} (per block ${blocks.bunty.map((r) => f(percentile(r.times, 99), 1)).join("/")}; p50 ${f(flood.bunty.p50)} ms, raw ${f(flood.raw.p50)}); fairness: loop > ${SHED_LAG_MS} ms late (until < ${SHED_RELEASE_LAG_MS}) -> a session printing > 320 KiB/s is paused ${SHED_HOLD_MS} ms at a time while a quiet session or another flood needs the loop (or the loop is 250 ms late)`,
    unit: "ms", bunty: flood.bunty.p99, baseline: flood.raw.p99, baselineLabel: `raw PTY beside ${FLOODS} floods on raw PTYs (no server)`, better: "lower",
    target: `<= ${FLOOD_TARGET_MS} ms`, met: flood.bunty.p99 <= FLOOD_TARGET_MS, digits: 2,
  });
  ctx.row({
    metric: `${FLOODS} floods beside the typist: their output delivered (median of ${p.floodBlocks} blocks)`, unit: "MB/s", bunty: median(blocks.bunty.map((r) => r.floodMBps)), baseline: median(blocks.raw.map((r) => r.floodMBps)),
    baselineLabel: "read by a bare Bun process", better: "higher", digits: 1,
  });
  const strip = <T extends { times: number[] }>({ times, ...rest }: T) => ({ ...rest, echo: pct(times) });
  ctx.detail({
    steady: { command: STEADY, windowMs: p.windowMs, idleCpuPerS: idle, steps, filled: { command: FILL, ...filled }, runs: runs.map((r) => ({ n: r.n, bunty: strip(r.bunty), raw: strip(r.raw) })) },
    flood: { command: FLOOD, sessions: FLOODS, echo: flood, blocks: { bunty: blocks.bunty.map(strip), raw: blocks.raw.map(strip) } },
  });
  writeChart(ctx);
}

// ---- viewers ----

type ViewerStep = { n: number; slowestMBps: number; cpuPerMB: number };

/** One flood of `bytes` to a writer and n viewers, all attached before it starts. */
async function viewerRun(ctx: Ctx, srv: Server, n: number, bytes: number) {
  const loads: Load[] = [];
  try {
    // n + 1 clients spread evenly over processes of at most CLIENTS_PER_LOAD; the writer is one of the first process's.
    const procs = Math.ceil((n + 1) / CLIENTS_PER_LOAD), size = (i: number) => Math.floor((n + 1 + i) / procs);
    const writer = new Load(["view", argUrl(srv, String(bytes)), "new", String(size(0) - 1)], ctx.env);
    loads.push(writer);
    const session = String((await writer.wait("hello", READY_MS)).session);
    for (let i = 1; i < procs; i++) loads.push(new Load(["view", srv.wsUrl, session, String(size(i))], ctx.env));
    // Every client has the program's first byte (its echo is off), then counts start from 0 and the flood.
    await Promise.all(loads.map((l) => l.wait("printing", READY_MS)));
    await Promise.all(loads.map((l) => l.reset()));
    const c0 = cpuSeconds(srv.pid)!.self, t0 = performance.now(), busy = machineTicks();
    writer.type(0, "\r");
    const totals = await deadline(Promise.all(loads.map((l) => l.done(VIEW_RUN_MS))), VIEW_RUN_MS, `${n} viewers`);
    const serverCpuS = cpuSeconds(srv.pid)!.self - c0, seconds = (performance.now() - t0) / 1000;
    const clients = totals.flatMap((t) => t.per); // [0] is the writer
    const rate = (c: Client) => c.bytes / MB / c.seconds;
    const delivered = clients.reduce((s, c) => s + c.bytes, 0);
    return {
      n, machineBusyPct: busy(), slowestMBps: Math.min(...clients.slice(1).map(rate)), writerMBps: rate(clients[0]!),
      /** Clients (writer included) that got every byte and no snapshot, of n + 1. */
      lossless: clients.filter((c) => c.bytes === bytes && c.snapshots === 0).length, snapshots: clients.reduce((s, c) => s + c.snapshots, 0),
      serverCpuS, cpuPerMB: serverCpuS / (delivered / MB), clientCpuS: totals.reduce((s, t) => s + t.cpu, 0), seconds,
    };
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await waitSessionsZero(srv);
  }
}

export async function viewerCurve(ctx: Ctx): Promise<void> {
  const p = plan(ctx.quick);
  const bytes = p.viewMB * MB;
  const srv = await ctx.bunty(VIEW_PROGRAM, [...ctx.shellOptions, "-a"]);
  const runs: Awaited<ReturnType<typeof viewerRun>>[] = [];
  const raws: number[] = [];
  try {
    await viewerRun(ctx, srv, 1, bytes / 10); // warm-up (not counted)
    for (let r = 0; r < p.viewRounds; r++) {
      const raw = await probe<{ mbpsFromFirst: number }>(["raw", `head -c ${bytes} /dev/zero | tr '\\0' a`], { env: ctx.shellEnv });
      raws.push(raw.mbpsFromFirst);
      // Up in even rounds, down in odd ones, so drift in the machine's load favours no step.
      for (const n of r % 2 ? [...VIEWER_STEPS].reverse() : VIEWER_STEPS) {
        const s = await viewerRun(ctx, srv, n, bytes);
        runs.push(s);
        ctx.log(
          `round ${r + 1}, ${n} viewers: slowest ${f(s.slowestMBps, 1)} MB/s (writer ${f(s.writerMBps, 1)}; raw PTY ${f(raw.mbpsFromFirst, 1)}), ${s.lossless}/${n + 1} clients got every byte, ${s.snapshots} snapshots, ` +
            `server ${f(s.cpuPerMB, 4)} CPU s/MB (${f(s.serverCpuS)} s in ${f(s.seconds, 1)} s), clients ${f(s.clientCpuS)} CPU s, machine ${f(s.machineBusyPct, 0)}% busy`,
        );
        if (s.lossless < n + 1) ctx.note(`${n} viewers, round ${r + 1}: ${n + 1 - s.lossless} of ${n + 1} clients did not get all ${bytes} bytes without a skip (${s.snapshots} snapshots)`);
      }
    }
  } finally {
    await ctx.stop(srv);
  }
  const rawMBps = median(raws);
  const steps: ViewerStep[] = VIEWER_STEPS.map((n) => {
    const of = runs.filter((r) => r.n === n);
    return { n, slowestMBps: median(of.map((r) => r.slowestMBps)), cpuPerMB: median(of.map((r) => r.cpuPerMB)) };
  });
  for (const s of steps) {
    ctx.row({ metric: `${s.n} viewers + writer, ${p.viewMB} MB flood: slowest viewer (median of ${p.viewRounds})`, unit: "MB/s", bunty: s.slowestMBps, baseline: rawMBps, baselineLabel: "raw PTY read of the same flood", better: "higher", digits: 1 });
    ctx.row({ metric: `${s.n} viewers + writer: server CPU per MB delivered (all clients)`, unit: "CPU s/MB", bunty: s.cpuPerMB, better: "lower", digits: 4 });
  }
  const all = runs.reduce((a, s) => a + s.n + 1, 0), ok = runs.reduce((a, s) => a + s.lossless, 0);
  ctx.row({ metric: `viewer runs: clients given every byte, no snapshot (of ${all})`, unit: "clients", bunty: ok, better: "higher", target: `${all} (lossless)`, met: ok === all, digits: 0 });
  ctx.detail({ command: VIEW_PROGRAM, bytes, clientsPerLoadProcess: CLIENTS_PER_LOAD, rawMBps: raws, steps, runs });
  curves.viewers = steps;
  curves.rawMBps = rawMBps;
  writeChart(ctx);
}
