// The page as a person meets it: dist/bunty's page (the bundled client, what a release serves) in
// headless chromium (playwright-core), beside ttyd 1.7.7's page when the peer is present.
//   1. load: page.goto() to the prompt `$ ` on the terminal's cursor line;
//   2. seq: `seq 1 2000000` typed, from the Enter keydown to `2000000` above a fresh prompt;
//   3. ctrl-c: `yes` for ~1 s, Ctrl-C, `echo MARK$((6*7))` and Enter at once (the line as one
//      input event), from the Ctrl-C keydown to a line `MARK42` on the screen.
// Baselines measured in the same rounds: seq on a raw PTY in the bench process (no server, no
// page: the program's own pace), and the same line entered at an idle prompt of the same page,
// from its Enter to its output (the round trip without a flood).
// Both pages expose their xterm as `window.term`. An init script (pageProbe) watches its buffer
// (every parse, and a 2 ms timer) and the page's WebSocket (frames, bytes, snapshots) and keeps
// its clock readings in `window.__bench`; the figures are in-page times, so the bench's own
// polling adds nothing. Samples alternate bunty, ttyd, bunty...; each is a fresh context (no
// cache, no cookie) and page, same viewport, same shell (bash --noprofile --norc -i, PS1='$ ',
// HOME = ctx.home). Where time goes is kept per sample in the detail (BENCH_JSON).

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright, type Browser, type Page } from "../../tests/browser/helpers.ts";
import type { Ctx } from "./context.ts";
import { startServer, type Server } from "./procs.ts";
import { deadline, errorText, max, median, pollUntil, round, sleep } from "./util.ts";

const SHELL = ["bash", "--noprofile", "--norc", "-i"];
const VIEWPORT = { width: 1000, height: 700 };
const SEQ_LAST = 2_000_000;
/** Page load to the prompt. */
const LOAD_TIMEOUT_MS = 15_000;
/** `seq 1 2000000` to the prompt after it (ttyd's page parses all ~17 MB). */
const SEQ_TIMEOUT_MS = 120_000;
/** `yes` to its first lines on the screen. */
const FLOOD_START_TIMEOUT_MS = 10_000;
/** How long `yes` floods before the Ctrl-C. */
const FLOOD_MS = 1_000;
/** Ctrl-C to MARK42. */
const MARK_TIMEOUT_MS = 30_000;
/** Closing a sample's context (its page may still be parsing a flood). */
const CLOSE_TIMEOUT_MS = 10_000;
/** How often the bench reads the page's record while it waits. */
const POLL_MS = 20;
const SAMPLES_QUICK = 3;
const SAMPLES_FULL = 8;
const TARGET_LOAD_P50_MS = 250;
const TARGET_SEQ_VS_TTYD = 0.5;
const TARGET_CTRLC_P50_MS = 100;

type Side = "bunty" | "ttyd";
type Watch = "prompt" | "seq" | "flood" | "line";
/** What pageProbe keeps in window.__bench (performance.now() readings of the page, ms). */
interface Record_ {
  frames: number; bytes: number; snapshots: number;
  wsCreated: number | null; wsOpen: number | null; firstFrame: number | null; lastFrame: number | null;
  watch: Watch | null;
  /** The line the "line" watch waits for (for "seq": the line above the prompt). */
  needle: string;
  hit: { kind: Watch; at: number; epochMs: number; painted: number | null } | null;
  /** Which key arms `after` (its keydown's timeStamp starts the clock). */
  armKey: string | null;
  after: { key: string; at: number; handled: number; backlogParsed: number | null; frames: number; bytes: number; snapshots: number; needleFrame: number | null } | null;
  keys: { enter: number | null; ctrlc: number | null };
}

/** Runs in the page before its own scripts (serialised by playwright: self-contained). */
function pageProbe(): void {
  const w = window as any;
  const b = { frames: 0, bytes: 0, snapshots: 0, wsCreated: null, wsOpen: null, firstFrame: null, lastFrame: null, watch: "prompt", needle: "", hit: null, armKey: null, after: null, keys: { enter: null, ctrlc: null } } as any;
  w.__bench = b;
  const decoder = new TextDecoder();
  class Watched extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      b.wsCreated ??= performance.now();
      this.addEventListener("open", () => (b.wsOpen ??= performance.now()));
      this.addEventListener("message", (e: MessageEvent) => {
        const now = performance.now(), d = e.data;
        const n = typeof d === "string" ? d.length : d instanceof ArrayBuffer ? d.byteLength : 0;
        const snapshot = typeof d === "string" && d.includes('"type":"snapshot"');
        b.frames++, b.bytes += n, b.snapshots += snapshot ? 1 : 0, b.firstFrame ??= now, b.lastFrame = now;
        const a = b.after;
        if (!a) return;
        a.frames++, a.bytes += n, a.snapshots += snapshot ? 1 : 0;
        if (b.watch === "line" && a.needleFrame === null && (typeof d === "string" ? d : decoder.decode(d)).includes(b.needle)) a.needleFrame = now;
      });
    }
  }
  window.WebSocket = Watched;
  const line = (t: any, y: number): string => t.buffer.active.getLine(y)?.translateToString(true) ?? "";
  const met: Record<string, (t: any, y: number) => boolean> = {
    prompt: (t, y) => /^\$ ?$/.test(line(t, y)),
    seq: (t, y) => /^\$ ?$/.test(line(t, y)) && line(t, y - 1) === b.needle,
    flood: (t, y) => line(t, y - 1) === "y",
    line: (t, y) => { for (let i = 0; i <= t.rows && y - i >= 0; i++) if (line(t, y - i) === b.needle) return true; return false; },
  };
  let hooked = false;
  const check = () => {
    const t = w.term;
    if (!t?.buffer) return;
    if (!hooked && typeof t.onWriteParsed === "function") (hooked = true), t.onWriteParsed(check);
    if (!b.watch || !met[b.watch]!(t, t.buffer.active.baseY + t.buffer.active.cursorY)) return;
    const hit = (b.hit = { kind: b.watch, at: performance.now(), epochMs: Date.now(), painted: null as number | null });
    b.watch = null;
    requestAnimationFrame(() => (hit.painted = performance.now()));
  };
  setInterval(check, 2);
  addEventListener("keydown", (e: KeyboardEvent) => {
    const key = e.ctrlKey && e.key.toLowerCase() === "c" ? "ctrl-c" : e.key;
    if (key === "Enter") b.keys.enter = e.timeStamp;
    if (key === "ctrl-c") b.keys.ctrlc = e.timeStamp;
    if (key !== b.armKey) return;
    b.armKey = null;
    const a = (b.after = { key, at: e.timeStamp, handled: performance.now(), backlogParsed: null as number | null, frames: 0, bytes: 0, snapshots: 0, needleFrame: null });
    w.term?.write("", () => (a.backlogParsed = performance.now())); // parsed: all that came before the key
  }, true);
}

const record = (p: Page) => p.evaluate(() => (window as any).__bench as Record_);
const setWatch = (p: Page, watch: Watch, armKey: string | null = null, needle = "") =>
  p.evaluate(([w, k, n]) => Object.assign((window as any).__bench, { watch: w, hit: null, armKey: k, needle: n, after: null }), [watch, armKey, needle] as const);
/** Waits for the page's watch to hit; throws with `what` after `ms`. */
async function hit(p: Page, ms: number, what: string): Promise<Record_> {
  const r = await pollUntil(async () => { const r = await record(p); return r.hit ? r : undefined; }, ms, POLL_MS);
  if (!r) throw new Error(`${what}: not within ${ms} ms`);
  return r;
}
const r1 = (n: number | null | undefined) => (n === null || n === undefined ? null : round(n, 1));

/** One sample: a fresh context and page at `url`, `body` measures, the context is closed. */
async function withPage<T>(browser: Browser, url: string, body: (p: Page, loadStartEpochMs: number) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    await page.addInitScript(pageProbe);
    const t0 = Date.now();
    await deadline(page.goto(url), LOAD_TIMEOUT_MS, `GET ${url}`);
    return await body(page, t0);
  } finally {
    await deadline(context.close(), CLOSE_TIMEOUT_MS, "closing the page").catch(() => {});
  }
}

async function load(p: Page, t0: number) {
  const r = await hit(p, LOAD_TIMEOUT_MS, "prompt after load");
  const nav = await p.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
    const mark = (m: string) => performance.getEntriesByName(m)[0]?.startTime ?? null;
    const scripts = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter((e) => e.initiatorType === "script");
    return { origin: performance.timeOrigin, response: n?.responseEnd ?? null, scriptsLoaded: scripts.length ? Math.max(...scripts.map((e) => e.responseEnd)) : null, dcl: n?.domContentLoadedEventEnd ?? null, script: mark("bunty:script"), hello: mark("bunty:hello"), cols: window.term.cols, rows: window.term.rows, renderer: (window as any).bunty?.renderer ?? null };
  });
  // ms from navigation start (the page's clock), and goto -> navigation start (two clocks, about 1 ms).
  return {
    ms: r.hit!.epochMs - t0,
    navStart: r1(nav.origin - t0), responseEnd: r1(nav.response), scriptsLoaded: r1(nav.scriptsLoaded), domContentLoaded: r1(nav.dcl), buntyScript: r1(nav.script),
    wsCreated: r1(r.wsCreated), wsOpen: r1(r.wsOpen), buntyHello: r1(nav.hello), firstFrame: r1(r.firstFrame), prompt: r1(r.hit!.at), painted: r1(r.hit!.painted),
    size: `${nav.cols}x${nav.rows}`, renderer: nav.renderer,
  };
}

async function ready(p: Page, t0: number): Promise<void> {
  await load(p, t0);
  await p.evaluate(() => window.term.focus());
}

async function seq(p: Page, t0: number) {
  await ready(p, t0);
  await p.keyboard.type(`seq 1 ${SEQ_LAST}`);
  await setWatch(p, "seq", "Enter", String(SEQ_LAST));
  await p.keyboard.press("Enter");
  const r = await hit(p, SEQ_TIMEOUT_MS, "prompt after seq");
  const a = r.after!;
  return {
    ms: r.hit!.at - a.at,
    keyHandled: r1(a.handled - a.at), lastFrame: r1(r.lastFrame! - a.at), prompt: r1(r.hit!.at - a.at),
    frames: a.frames, bytes: a.bytes, snapshots: a.snapshots,
  };
}

const ECHO = "echo MARK$((6*7))";
/**
 * The line as one input event (playwright's insertText, as an IME or a fast typist's burst gives
 * it), then Enter: keyboard.type() costs a CDP round trip per key (4-15 ms each here, 17 keys),
 * which would be most of what the Ctrl-C figure measures.
 */
async function typeFast(p: Page, line: string): Promise<void> {
  await (p.keyboard as unknown as { insertText(t: string): Promise<void> }).insertText(line);
  await p.keyboard.press("Enter");
}
const NEEDLE = "MARK42";

async function ctrlC(p: Page, t0: number) {
  await ready(p, t0);
  // The floor: the same line at the idle prompt (another needle), from its Enter.
  await setWatch(p, "line", "Enter", "IDLE42");
  await typeFast(p, ECHO.replace("MARK", "IDLE"));
  const idle = await hit(p, MARK_TIMEOUT_MS, "IDLE42 at the idle prompt");
  await setWatch(p, "flood");
  await p.keyboard.type("yes");
  await p.keyboard.press("Enter");
  await hit(p, FLOOD_START_TIMEOUT_MS, "yes on the screen");
  await sleep(FLOOD_MS);
  const before = await record(p);
  await setWatch(p, "line", "ctrl-c", NEEDLE);
  await p.keyboard.press("Control+c");
  await typeFast(p, ECHO);
  const r = await hit(p, MARK_TIMEOUT_MS, `${NEEDLE} after Ctrl-C`);
  const a = r.after!, since = (t: number | null | undefined) => r1(t === null || t === undefined ? null : t - a.at);
  // All from the Ctrl-C keydown: its handler ran, what had come before it was parsed, the Enter
  // after the echo was typed, the frame with MARK42 arrived, MARK42 was on the screen.
  return {
    ms: r.hit!.at - a.at, idleMs: idle.hit!.at - idle.after!.at,
    keyHandled: since(a.handled), backlogParsed: since(a.backlogParsed), enterTyped: since(r.keys.enter), needleFrame: since(a.needleFrame), onScreen: since(r.hit!.at),
    floodBytes: before.bytes, afterFrames: a.frames, afterBytes: a.bytes, snapshots: a.snapshots,
  };
}

/** The program's own pace: seq on a raw PTY in the bench process (read and dropped), spawn to exit. */
async function rawSeq(): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(["bash", "--noprofile", "--norc", "-c", `seq 1 ${SEQ_LAST}`], { terminal: { cols: 80, rows: 24, data() {} } });
  try {
    await deadline(proc.exited, SEQ_TIMEOUT_MS, "seq on a raw PTY");
  } finally {
    proc.kill("SIGKILL");
  }
  return performance.now() - t0;
}

type Measure = (p: Page, t0: number) => Promise<{ ms: number; idleMs?: number } & Record<string, unknown>>;
/**
 * After each sample: closing a context tears down its renderer process and the server ends its
 * shell, work that otherwise lands on the next sample (the other side's) on two cores. Measured:
 * without the pause, bunty's page load was 270-310 ms p50 beside ttyd and 239 ms alone.
 */
const SETTLE_MS = 500;

interface Series { samples: number[]; p50: number | null; max: number | null; failed: number; detail: unknown[] }
const summary = (xs: number[]): Series => ({ samples: xs.map((x) => r1(x)!), p50: xs.length ? r1(median(xs)) : null, max: xs.length ? r1(max(xs)) : null, failed: 0, detail: [] });

/**
 * Runs `measure` n times per side, interleaved (bunty, ttyd, then ttyd, bunty...: who goes first
 * alternates), with SETTLE_MS after each sample, and `round` (a baseline outside the page) once after each pair; bunty's `idleMs` is the baseline otherwise. A failed sample is a note.
 */
async function series(ctx: Ctx, browser: Browser, urls: Partial<Record<Side, string>>, name: string, measure: Measure, n: number, round?: () => Promise<number>) {
  const sides = Object.keys(urls) as Side[];
  const ms: Record<Side, number[]> = { bunty: [], ttyd: [] }, baseline: number[] = [];
  const detail: Record<Side, unknown[]> = { bunty: [], ttyd: [] }, failed: Record<Side, number> = { bunty: 0, ttyd: 0 };
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 ? [...sides].reverse() : sides) {
      try {
        const d = await withPage(browser, urls[side]!, measure);
        await Bun.sleep(SETTLE_MS);
        ms[side].push(d.ms);
        if (side === "bunty" && d.idleMs !== undefined) baseline.push(d.idleMs);
        detail[side].push({ ...d, ms: r1(d.ms), ...(d.idleMs === undefined ? {} : { idleMs: r1(d.idleMs) }) });
      } catch (e) {
        failed[side]++;
        ctx.note(`${name}, ${side}, sample ${i + 1}: ${errorText(e).slice(0, 300)}`);
      }
    }
    if (round) await round().then((x) => baseline.push(x), (e) => ctx.note(`${name}, baseline ${i + 1}: ${errorText(e)}`));
  }
  const out = { bunty: null as Series | null, ttyd: null as Series | null, baseline: baseline.length ? summary(baseline) : null };
  for (const side of sides) out[side] = { ...summary(ms[side]), failed: failed[side], detail: detail[side] };
  const show = (s: Series | null) => (s ? `p50 ${s.p50 ?? "-"} max ${s.max ?? "-"} ms` : "skipped");
  ctx.log(`browser ${name}: bunty ${show(out.bunty)}; ttyd ${show(out.ttyd)}${out.baseline ? `; baseline ${show(out.baseline)}` : ""}`);
  return out;
}

const METRICS = [
  { key: "load", label: "page load -> prompt", measure: load, target: `p50 <= ${TARGET_LOAD_P50_MS} ms`, met: (b: number, _t: number | null) => b <= TARGET_LOAD_P50_MS },
  {
    key: "seq", label: `seq 1 ${SEQ_LAST} -> prompt`, measure: seq, round: rawSeq, baselineLabel: "raw PTY, no page",
    target: `<= ${TARGET_SEQ_VS_TTYD} x ttyd`, met: (b: number, t: number | null) => (t === null ? null : b <= TARGET_SEQ_VS_TTYD * t),
  },
  {
    key: "ctrlc", label: `Ctrl-C during yes -> ${NEEDLE}`, measure: ctrlC, baselineLabel: "same line, idle prompt",
    target: `p50 <= ${TARGET_CTRLC_P50_MS} ms`, met: (b: number, _t: number | null) => b <= TARGET_CTRLC_P50_MS,
  },
] as const;

function skip(ctx: Ctx, why: string): void {
  ctx.note(`skipped: ${why}`);
  for (const m of METRICS) ctx.row({ metric: `${m.label}, p50`, unit: "ms", bunty: null, ttyd: null, better: "lower", target: m.target, met: null });
  ctx.detail({ skipped: why });
}

/** The newest file under client/, server/ and protocol/ when it is newer than `bin` (the build is stale). */
function newerSource(root: string, bin: string): string | null {
  const built = statSync(bin).mtimeMs;
  let newest: { path: string; ms: number } | null = null;
  for (const dir of ["client", "server", "protocol"]) {
    if (!existsSync(join(root, dir))) continue;
    for (const rel of readdirSync(join(root, dir), { recursive: true }) as string[]) {
      const path = join(dir, rel), ms = statSync(join(root, path), { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (ms > built && (!newest || ms > newest.ms)) newest = { path, ms };
    }
  }
  return newest?.path ?? null;
}

export async function browser(ctx: Ctx): Promise<void> {
  const bin = join(ctx.root, "dist/bunty");
  if (!existsSync(bin)) return skip(ctx, `no ${bin}: run \`npm run build\` first`);
  if (!existsSync(CHROMIUM)) return skip(ctx, `no chromium at ${CHROMIUM} (CHROMIUM=PATH, or apt-get install -y chromium)`);
  const stale = newerSource(ctx.root, bin);
  if (stale) ctx.note(`dist/bunty is older than ${stale}: this measures the page as last built (npm run build)`);
  const n = ctx.quick ? SAMPLES_QUICK : SAMPLES_FULL;
  let bunty: Server | null = null, ttyd: Server | null = null, b: Browser | null = null, done = 0;
  try {
    b = await (await loadPlaywright()).launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    bunty = await startServer({ bin: [bin], options: ["--port", "0", "--log-level", "warn", "--no-token", "--grace", "0", ...ctx.shellOptions], command: SHELL, env: ctx.env, cwd: ctx.root });
    // ttyd hands the shell its own environment, which has no PS1: `env` sets it and execs the same bash.
    if (ctx.ttyd) ttyd = await ctx.ttyd(["env", "PS1=$ ", ...SHELL]).catch((e) => (ctx.note(`ttyd did not start: ${errorText(e)}`), null));
    else ctx.note(`ttyd skipped: ${ctx.ttydSkipped}`);
    const urls: Partial<Record<Side, string>> = { bunty: bunty.url, ...(ttyd ? { ttyd: ttyd.url } : {}) };
    await series(ctx, b, urls, "warm-up (discarded)", load, 1); // first gzip of the page's files, chromium's first start-up
    const detail: Record<string, unknown> = { bin, viewport: VIEWPORT, samplesPerSide: n };
    for (const m of METRICS) {
      const s = await series(ctx, b, urls, m.label, m.measure, n, "round" in m ? m.round : undefined);
      detail[m.key] = s;
      done++;
      const bp = s.bunty?.p50 ?? null, tp = s.ttyd?.p50 ?? null, base = "baselineLabel" in m ? { baselineLabel: m.baselineLabel } : {};
      ctx.row({ metric: `${m.label}, p50 (n=${s.bunty?.samples.length ?? 0})`, unit: "ms", bunty: bp, ttyd: ttyd ? tp : null, ...base, baseline: s.baseline?.p50, better: "lower", target: m.target, met: bp === null ? null : m.met(bp, tp), digits: 0 });
      ctx.row({ metric: "  same, max", unit: "ms", bunty: s.bunty?.max ?? null, ttyd: ttyd ? (s.ttyd?.max ?? null) : null, baseline: s.baseline?.max, better: "lower", digits: 0 });
    }
    ctx.detail(detail);
  } catch (e) {
    ctx.note(`could not run: ${errorText(e).slice(0, 500)}`);
    for (const m of METRICS.slice(done)) ctx.row({ metric: `${m.label}, p50`, unit: "ms", bunty: null, ttyd: null, better: "lower", target: m.target, met: null });
  } finally {
    await b?.close().catch(() => {});
    const how = await bunty?.stop();
    if (how === "killed" || how === "stuck") ctx.note(`dist/bunty (pid ${bunty!.pid}) ${how === "killed" ? "needed SIGKILL to stop" : "did not stop"}`);
    if (ttyd) await ctx.stop(ttyd);
  }
}
