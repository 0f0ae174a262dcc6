// Sections of one server's own costs: memory per idle session (bunty beside ttyd), what one
// warm spare costs (for the --pool-size default), a stalled viewer's catch-up, and start-up.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "./context.ts";
import { SHELL_CMD } from "./latency.ts";
import * as M from "./measures.ts";
import { childrenOf, cpuSeconds, vmRssKiB, type Server } from "./procs.ts";
import * as S from "./sessions.ts";
import { deadline, median, pollUntil, sleep } from "./util.ts";

/** Sessions open at once for the idle-memory figure (as in the table). */
const IDLE_SESSIONS = 50;
/** How long the spares' idle CPU is watched. */
const SPARE_IDLE_MS = 10_000;
/** Spares of the measured server: the cost of one is the difference to a server without, divided by this. */
const SPARES = 8;

/** Opens `n` ttyd connections (each its own shell), waits for every prompt, returns the sockets. */
async function openTtyd(s: Server, n: number): Promise<WebSocket[]> {
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(s.wsUrl, ["tty"]);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => ws.send(JSON.stringify({ AuthToken: "", columns: 80, rows: 24 }));
      ws.onmessage = (e) => {
        if (new Uint8Array(e.data as ArrayBuffer)[0] === 0x30) resolve(ws);
      };
      ws.onclose = () => reject(new Error("ttyd closed the socket before the prompt"));
    });
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += 10) out.push(...(await deadline(Promise.all(Array.from({ length: Math.min(10, n - i) }, open)), 15_000, "ttyd prompts")));
  return out;
}

export async function memory(ctx: Ctx): Promise<void> {
  const s = await ctx.bunty(SHELL_CMD, [...ctx.shellOptions, "--max-sessions", String(IDLE_SESSIONS + 10)]);
  await M.memoryCycle(s, 2); // warm-up: first sessions load code that stays
  await sleep(500);
  const cycles: M.MemoryCycle[] = [];
  for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
    const c = await M.memoryCycle(s, IDLE_SESSIONS);
    cycles.push(c);
    ctx.log(`cycle ${i + 1}: ${c.perSessionKiB.toFixed(0)} KiB/session, back to 0 sessions in ${c.zeroMs === null ? "NEVER" : c.zeroMs.toFixed(0) + " ms"}`);
    if (c.zeroMs === null) ctx.note(`cycle ${i + 1}: /api/health still reported ${c.sessionsLeft} sessions 10 s after all sockets closed`);
    if (c.shellsLeft > 0) ctx.note(`cycle ${i + 1}: ${c.shellsLeft} shells still alive after their sockets closed`);
  }
  let ttydKiB: number | null = null;
  if (ctx.ttyd) {
    const t = await ctx.ttyd(SHELL_CMD);
    const warm = await openTtyd(t, 2);
    for (const w of warm) w.close();
    await sleep(500);
    const before = vmRssKiB(t.pid)!;
    const socks = await openTtyd(t, IDLE_SESSIONS);
    await sleep(1000);
    ttydKiB = (vmRssKiB(t.pid)! - before) / IDLE_SESSIONS;
    for (const w of socks) w.close();
    await ctx.stop(t);
  }
  const bunty = median(cycles.map((c) => c.perSessionKiB));
  ctx.row({ metric: `server RSS per idle session (${IDLE_SESSIONS} sessions)`, unit: "KiB", bunty, ttyd: ttydKiB, better: "lower", target: "<= 128 KiB", met: bunty <= 128, digits: 0 });
  const last = cycles.at(-1)!;
  ctx.row({ metric: `  after all ${IDLE_SESSIONS} closed: RSS back to (MiB; before ${(cycles[0]!.rssBeforeKiB / 1024).toFixed(1)})`, unit: "MiB", bunty: last.rssAfterCloseKiB / 1024, better: "lower", digits: 1 });
  ctx.detail({ cycles, ttydPerSessionKiB: ttydKiB });
}

/**
 * What one warm spare costs, in one server (so heaps of two processes are not compared): warmed
 * up by one session and without spares, then with SPARES spares (its --config file rewritten and
 * SIGHUP); its RSS and the CPU it and its shells use while nobody connects, before and after,
 * divided by SPARES; and one spare shell's RSS.
 */
export async function spareCost(ctx: Ctx): Promise<void> {
  const config = join(ctx.home, "spares.toml");
  writeFileSync(config, "pool-size = 0\n");
  const s = await ctx.bunty(SHELL_CMD, [...ctx.shellOptions, "--config", config]);
  await M.memoryCycle(s, 1); // first-session costs (code, the first output log) are not the spares'
  const cpu = () => cpuSeconds(s.pid)!.self + childrenOf(s.pid).reduce((a, p) => a + (cpuSeconds(p)?.self ?? 0), 0);
  const idle = async () => {
    await sleep(2000);
    const rss = vmRssKiB(s.pid)!, c0 = cpu();
    await sleep(SPARE_IDLE_MS);
    return { rss, msPerMin: ((cpu() - c0) * 60_000 * 1000) / SPARE_IDLE_MS };
  };
  const without = await idle();
  writeFileSync(config, `pool-size = ${SPARES}\n`);
  process.kill(s.pid, "SIGHUP");
  await deadline(pollUntil(async () => ((await M.health(s)).spares === SPARES ? true : undefined), 10_000, 20), 11_000, `${SPARES} spares after SIGHUP`);
  const withSpares = await idle();
  const shells = childrenOf(s.pid);
  const shellKiB = shells.reduce((a, p) => a + (vmRssKiB(p) ?? 0), 0) / Math.max(1, shells.length);
  const serverKiB = (withSpares.rss - without.rss) / SPARES;
  ctx.row({ metric: `one warm spare: server RSS (${SPARES} spares, less none, / ${SPARES})`, unit: "KiB", bunty: serverKiB, better: "lower", digits: 0 });
  ctx.row({ metric: "  its shell (bash --norc), RSS", unit: "KiB", bunty: shellKiB, better: "lower", digits: 0 });
  ctx.row({
    metric: "  CPU while nobody connects, ms per minute per spare (server and shells)", unit: "ms", bunty: (withSpares.msPerMin - without.msPerMin) / SPARES,
    baseline: without.msPerMin, baselineLabel: "the server without spares", better: "lower", digits: 1,
  });
  ctx.detail({ spares: SPARES, serverKiBPerSpare: serverKiB, shellKiB, shells: shells.length, without, withSpares });
}

/** A viewer that stops reading during a `yes` flood and then reads again (server with the default grace). */
export async function catchup(ctx: Ctx): Promise<void> {
  const s = await ctx.bunty(SHELL_CMD, ctx.shellOptions, { defaultGrace: true });
  const samples: S.CatchupSample[] = [];
  for (let i = 0; i < (ctx.quick ? 3 : 5); i++) {
    const c = await S.catchupOnce(s);
    samples.push(c);
    ctx.log(`sample ${i + 1}: ${c.ms.toFixed(0)} ms to ${c.markIn === "snapshot" ? "a snapshot showing" : "bytes with"} MARK-42; viewer read ${(c.viewerWireAfterResume / 2 ** 20).toFixed(2)} MiB after resume of the ${(c.sessionBytes / 2 ** 20).toFixed(0)} MiB written`);
    if (c.markIn === "bytes-no-snapshot") ctx.note(`sample ${i + 1}: the viewer saw MARK-42 without any snapshot (the log still held its position)`);
    if (c.snapshotsAfterResume > 1) ctx.note(`sample ${i + 1}: the viewer got ${c.snapshotsAfterResume} snapshots after resuming`);
  }
  const r = S.catchupSummary(samples);
  ctx.row({ metric: `stalled viewer reads again -> screen with the present (n=${samples.length}), p50`, unit: "ms", bunty: r.ms.p50, better: "lower", digits: 0 });
  ctx.row({ metric: "  bytes the viewer read after resuming / bytes written while it slept", unit: "%", bunty: median(samples.map((x) => (100 * x.viewerWireAfterResume) / x.sessionBytes)), better: "lower", digits: 2 });
  ctx.detail(r);
}

/** Spawn to URL line, and --version, of dist/bunty (and of the source for context). */
export async function startup(ctx: Ctx): Promise<void> {
  const dist = `${ctx.root}/dist/bunty`;
  if (!M.binaryExists(dist)) {
    ctx.note("dist/bunty is missing: run npm run build first");
    return;
  }
  const n = ctx.quick ? 5 : 10;
  const b = await M.startup([dist], n, ctx.env, ctx.home);
  const src = await M.startup([process.execPath, `${ctx.root}/server/main.ts`], Math.min(5, n), ctx.env, ctx.root);
  ctx.row({ metric: `start-up: spawn -> URL line, dist/bunty, p50 (n=${n})`, unit: "ms", bunty: b.urlP50, baseline: src.urlP50, baselineLabel: "from source", better: "lower", digits: 1 });
  ctx.row({ metric: "  --version, p50", unit: "ms", bunty: b.versionP50, baseline: src.versionP50, better: "lower", digits: 1 });
  ctx.detail({ dist: b, source: src });
}
