// Latency sections: keystroke echo, and a new tab's first screen (without spares, with one warm
// spare), bunty beside ttyd and beside the same thing on a raw PTY (the floor no server beats),
// in interleaved blocks. The samples are taken by probe.ts in a process of its own.

import type { Ctx } from "./context.ts";
import { probe, python, startServer } from "./procs.ts";
import { rotated } from "./throughput.ts";
import { max, percentile } from "./util.ts";

export const ECHO_CMD = ["bash", "--noprofile", "--norc", "-c", "stty raw -echo; exec cat"];
export const SHELL_CMD = ["bash", "--noprofile", "--norc", "-i"];
/** Blocks per side; every block is one probe process, so load drift hits all sides alike. */
const BLOCKS = 4;
/** Round trips before each block's samples (the probe's JIT, the server's paths). */
const ECHO_WARM = 50;

export interface Stats {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
export const stats = (xs: number[]): Stats => ({ samples: xs.length, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99), max: max(xs) });

/** The same round trips on a raw PTY from python3 (plain write/poll/read): the floor without Bun's PTY read. */
const sysEcho = async (n: number, warm: number) => ({ ...(await python<{ times: number[] }>("pty-echo.py", [String(n), String(warm)], 60_000))!, mismatches: 0 });

/** `stty raw -echo; cat` one byte at a time, the next only after the previous came back. */
export async function echo(ctx: Ctx): Promise<void> {
  const n = ctx.quick ? 1000 : 4000;
  const bunty = await ctx.bunty(ECHO_CMD);
  const ttyd = ctx.ttyd ? await ctx.ttyd(ECHO_CMD) : null;
  // What any Bun server gets: the minimal forwarder of `floor` (Bun.serve, Bun.spawn's terminal, input written as it comes), same client.
  const fwd = await startServer({ bin: [process.execPath, `${ctx.root}/scripts/bench/forwarder.ts`], options: [], command: ECHO_CMD, env: ctx.env, cwd: ctx.root });
  try {
    await echoBlocks(ctx, n, bunty.wsUrl, ttyd?.wsUrl ?? null, fwd.wsUrl);
  } finally {
    await fwd.stop();
  }
}

async function echoBlocks(ctx: Ctx, n: number, buntyUrl: string, ttydUrl: string | null, fwdUrl: string): Promise<void> {
  type Echo = { times: number[]; mismatches: number };
  const block = (args: string[]) => () => probe<Echo>(["echo", ...args, String(Math.ceil(n / BLOCKS)), String(ECHO_WARM)]);
  const runs: Record<string, () => Promise<Echo>> = { bunty: block(["bunty", buntyUrl]), raw: block(["raw", JSON.stringify(ECHO_CMD)]), forwarder: block(["bunty", fwdUrl]) };
  if (ttydUrl) runs.ttyd = block(["ttyd", ttydUrl]);
  if (Bun.which("python3")) runs.sys = () => sysEcho(Math.ceil(n / BLOCKS), ECHO_WARM);
  const times: Record<string, number[]> = {};
  let mismatches = 0;
  for (let b = 0; b < BLOCKS; b++)
    for (const [k, r] of Object.entries(await rotated(b, runs))) {
      (times[k] ??= []).push(...r.times);
      mismatches += r.mismatches;
    }
  if (mismatches) ctx.note(`${mismatches} echoes came back with another byte than the one sent`);
  const st = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
  for (const p of ["p50", "p99"] as const)
    ctx.row({
      metric: `keystroke echo ${p} (n=${st.bunty!.samples})`, unit: "ms", bunty: st.bunty![p], ttyd: st.ttyd?.[p] ?? null, baseline: st.raw![p], baselineLabel: "raw PTY",
      better: "lower", target: "<= ttyd", met: st.ttyd ? st.bunty![p] <= st.ttyd[p] : null, digits: 3,
    });
  // Where Bun's own PTY read stands: the raw baseline above reads with Bun.spawn's terminal; this
  // one with plain system calls from python3, in the same blocks.
  if (st.sys)
    ctx.row({
      metric: `  raw PTY echo p50 / p99 without Bun (python3: write, poll, read; n=${st.sys.samples}), against Bun's raw read`, unit: "ms", bunty: st.sys.p50, ttyd: null,
      baseline: st.raw!.p50, baselineLabel: `Bun's raw p50; p99 ${st.sys.p99.toFixed(3)} against Bun's ${st.raw!.p99.toFixed(3)}`, better: "lower", digits: 3,
    });
  ctx.row({
    metric: `  the same through the minimal Bun forwarder (floor's: Bun.serve and Bun.spawn's terminal, nothing else; n=${st.forwarder!.samples}), p50`, unit: "ms",
    bunty: st.forwarder!.p50, ttyd: null, baseline: st.bunty!.p50, baselineLabel: `bunty's p50; p99 ${st.forwarder!.p99.toFixed(3)} against bunty's ${st.bunty!.p99.toFixed(3)}`,
    better: "lower", digits: 3,
  });
  ctx.detail(st);
}

/**
 * A new tab: `new WebSocket` to the first screen, sequentially (each session ended before the
 * next). bunty without spares against ttyd (which has none), and bunty with one warm spare
 * (its first screen is a snapshot with the prompt). The raw PTY: spawn to first output.
 */
export async function open(ctx: Ctx): Promise<void> {
  const n = ctx.quick ? 15 : 40;
  const plain = await ctx.bunty(SHELL_CMD, ctx.shellOptions);
  const spare = await ctx.bunty(SHELL_CMD, [...ctx.shellOptions, "--pool-size", "1"]);
  const ttyd = ctx.ttyd ? await ctx.ttyd(SHELL_CMD) : null;
  type Open = { times: number[]; firstFrame: string };
  const per = String(Math.ceil(n / BLOCKS));
  const runs: Record<string, () => Promise<Open>> = {
    bunty: () => probe<Open>(["open", "bunty", plain.wsUrl, per, "0"]),
    spare: () => probe<Open>(["open", "bunty", spare.wsUrl, per, "1"]),
    raw: () => probe<Open>(["prompt-raw", JSON.stringify(SHELL_CMD), per], { env: ctx.shellEnv }),
  };
  if (ttyd) runs.ttyd = () => probe<Open>(["open", "ttyd", ttyd.wsUrl, per]);
  await rotated(0, runs); // warm-up: the servers' first sessions pay JIT and lazy imports
  const times: Record<string, number[]> = {};
  const first: Record<string, string> = {};
  for (let b = 0; b < BLOCKS; b++)
    for (const [k, r] of Object.entries(await rotated(b, runs))) {
      (times[k] ??= []).push(...r.times);
      first[k] ||= r.firstFrame;
    }
  const st = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
  ctx.row({
    metric: `new tab -> first prompt byte, no spares, p50 (n=${st.bunty!.samples})`, unit: "ms", bunty: st.bunty!.p50, ttyd: st.ttyd?.p50 ?? null,
    baseline: st.raw!.p50, baselineLabel: "raw PTY spawn", better: "lower", target: "<= ttyd", met: st.ttyd ? st.bunty!.p50 <= st.ttyd.p50 : null, digits: 2,
  });
  ctx.row({ metric: "  same, p90", unit: "ms", bunty: st.bunty!.p90, ttyd: st.ttyd?.p90 ?? null, baseline: st.raw!.p90, better: "lower", digits: 2 });
  ctx.row({
    metric: `new tab -> first screen, one warm spare (--pool-size 1), p50`, unit: "ms", bunty: st.spare!.p50, ttyd: st.ttyd?.p50 ?? null, better: "lower",
    target: "< 1 ms", met: st.spare!.p50 < 1, digits: 2,
  });
  ctx.row({ metric: "  same, p90", unit: "ms", bunty: st.spare!.p90, ttyd: st.ttyd?.p90 ?? null, better: "lower", digits: 2 });
  ctx.detail({ stats: st, firstFrames: first });
}
