// Throughput sections: a flood through bunty and through ttyd against Bun's raw PTY read, in the
// same interleaved rounds; three clients on one session; the floor any Bun forwarder pays; and
// `agreement`, which measures why the bench of before under-reported (docs/benchmarks.md).
// Every timed client runs in a process of its own (probe.ts), like an outside client.

import type { Ctx } from "./context.ts";
import * as M from "./measures.ts";
import { cpuSeconds, probe, python, startServer, stopProc, track, type Server } from "./procs.ts";
import { deadline, median } from "./util.ts";

export const A_CMD = "head -c 100000000 /dev/zero | tr '\\0' a";
const SEQ_CMD = "seq 1 3000000";
/** For clients that attach to one session: the sleep lets viewers attach before output starts (not timed). */
const A_SLEEP_CMD = `sleep 0.5; ${A_CMD}`;
/** Viewers next to the writer in `viewers3`. */
const VIEWERS = 2;
/** Pace of the floor benchmark's unrelated stream: about what a forwarder delivers here (docs: why not full speed). */
const STREAM_MBPS = 65;
const MB = 1e6;

/** What a probe `raw` or `read` prints. */
export interface ProbeRun {
  bytes: number;
  chunks: number;
  seconds: number;
  mbps: number;
  fromFirstS: number;
  mbpsFromFirst: number;
  clientCpu: number;
  snapshots?: number;
}
/** A run plus the server's CPU seconds (its own, and its reaped children's: the program). */
export interface ServerRun extends ProbeRun {
  serverCpu: number;
  programCpu: number;
}

export const rawRun = (cmd: string) => probe<ProbeRun>(["raw", cmd]);

/** What pty-read.py prints: the same flood read from python3 with plain poll and read. */
interface PyRun {
  bytes: number;
  reads: number;
  seconds: number;
  mbps: number;
  cpu: number;
  sys: number;
}
/** The flood read without Bun (scripts/bench/pty-read.py): what reading a PTY costs any program here. */
const pyRead = async (cmd: string) => (await python<PyRun>("pty-read.py", [cmd], 120_000))!;

/** One session through a server, its CPU counted around the probe. bunty's session must be gone before the next run. */
export async function serverRun(wire: "bunty" | "ttyd", s: Server): Promise<ServerRun> {
  const c0 = cpuSeconds(s.pid)!;
  const r = await probe<ProbeRun>(["read", wire, s.wsUrl]);
  const c1 = cpuSeconds(s.pid)!;
  if (wire === "bunty") await M.waitSessionsZero(s, 5000); // after the clock stopped: polls /api/health
  return { ...r, serverCpu: c1.self - c0.self, programCpu: c1.children - c0.children };
}

/** Runs the named runs of one round in an order that rotates with the round, so drift in the machine's load favours none. */
export async function rotated<R extends Record<string, () => Promise<unknown>>>(round: number, runs: R): Promise<{ [K in keyof R]: Awaited<ReturnType<R[K]>> }> {
  const keys = Object.keys(runs);
  // A rotation by the round: every run takes every place equally often (with two, they alternate).
  // (Rotating and then reversing in odd rounds, as before, gave two runs the same order every round.)
  const order = keys.map((_, i) => keys[(i + round) % keys.length]!);
  const out: Record<string, unknown> = {};
  for (const k of order) out[k] = await runs[k]!();
  return out as { [K in keyof R]: Awaited<ReturnType<R[K]>> };
}

const WORKLOADS = [
  { key: "a100MB", label: "100 MB of 'a'", cmd: A_CMD },
  { key: "seq3M", label: "seq 1 3000000", cmd: SEQ_CMD },
] as const;

export async function throughput(ctx: Ctx): Promise<void> {
  for (const w of WORKLOADS) {
    const bunty = await ctx.bunty(["sh", "-c", w.cmd]);
    const ttyd = ctx.ttyd ? await ctx.ttyd(["sh", "-c", w.cmd]) : null;
    const runs: Record<string, () => Promise<ProbeRun | ServerRun | PyRun>> = { raw: () => rawRun(w.cmd), bunty: () => serverRun("bunty", bunty) };
    if (ttyd) runs.ttyd = () => serverRun("ttyd", ttyd);
    const isA = w.key === "a100MB";
    if (isA && Bun.which("python3")) runs.py = () => pyRead(w.cmd); // the 100 MB flood: the CPU floor, measured a second way
    ctx.log(`${w.label}: warm-up (not counted)`);
    await rotated(0, runs);
    const rounds: Record<string, ProbeRun | ServerRun | PyRun>[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const got = await rotated(r, runs);
      rounds.push(got);
      const b = got.bunty as ServerRun, t = got.ttyd as ServerRun | undefined, raw = got.raw as ProbeRun;
      if (b.bytes !== raw.bytes) ctx.note(`${w.label}, round ${r + 1}: bunty delivered ${b.bytes} bytes, raw PTY ${raw.bytes}`);
      if (b.snapshots) ctx.note(`${w.label}, round ${r + 1}: bunty skipped the client ahead ${b.snapshots} time(s) instead of sending every byte`);
      if (t && t.bytes !== raw.bytes) ctx.note(`${w.label}, round ${r + 1}: ttyd delivered ${t.bytes} bytes, raw PTY ${raw.bytes} (ttyd drops the connection when the program exits)`);
      const py = got.py as PyRun | undefined;
      ctx.log(`${w.label} round ${r + 1}/${ctx.rounds}: raw ${raw.mbps.toFixed(1)}, bunty ${b.mbps.toFixed(1)}${t ? `, ttyd ${t.mbps.toFixed(1)}` : ""}${py ? `, python3 ${py.mbps.toFixed(1)}` : ""} MB/s`);
    }
    await ctx.stop(bunty);
    if (ttyd) await ctx.stop(ttyd);
    const med = (k: string, f: (x: ServerRun) => number) => (rounds[0]![k] ? median(rounds.map((x) => f(x[k] as ServerRun))) : null);
    const raw = med("raw", (x) => x.mbps)!;
    const b = med("bunty", (x) => x.mbps)!, t = med("ttyd", (x) => x.mbps);
    const ratio = median(rounds.map((x) => x.bunty!.mbps / x.raw!.mbps));
    const vsTtyd = t === null ? null : median(rounds.map((x) => x.bunty!.mbps / x.ttyd!.mbps));
    ctx.row({
      metric: `${w.label}, MB/s (median of ${ctx.rounds})`, unit: "MB/s", bunty: b, ttyd: t, baseline: raw, baselineLabel: "raw PTY read", better: "higher",
      target: isA ? ">= 0.95 x raw and >= 1.3 x ttyd" : undefined,
      met: isA ? ratio >= 0.95 && (vsTtyd === null ? null : vsTtyd >= 1.3) : undefined, digits: 1,
    });
    ctx.row({
      metric: `  ${w.label}: / raw PTY read (per-round ratio, median)`, unit: "x raw", bunty: ratio, ttyd: t === null ? null : median(rounds.map((x) => x.ttyd!.mbps / x.raw!.mbps)),
      better: "higher", digits: 3,
    });
    const per100 = (x: ServerRun) => (x.serverCpu / x.bytes) * 100 * MB;
    ctx.row({
      metric: `  ${w.label}: server CPU s per 100 MB`, unit: "s", bunty: med("bunty", per100), ttyd: med("ttyd", per100), better: "lower",
      baseline: med("raw", (x) => (x.clientCpu / x.bytes) * 100 * MB), baselineLabel: "Bun's raw PTY reader's own CPU",
      target: isA ? "<= 0.5 x ttyd" : undefined,
      met: isA ? (med("ttyd", per100) === null ? null : med("bunty", per100)! <= 0.5 * med("ttyd", per100)!) : undefined, digits: 2,
    });
    if (rounds[0]!.py) {
      // The floor a second way: no Bun at all. Half of ttyd's CPU below this is below what reading the PTY costs.
      const pyMed = (f: (x: PyRun) => number) => median(rounds.map((x) => f(x.py as PyRun)));
      ctx.row({
        metric: `  ${w.label}: a PTY reader's own CPU s per 100 MB without Bun (python3: poll, read; system part ${pyMed((x) => (x.sys / x.bytes) * 100 * MB).toFixed(2)} s), ${pyMed((x) => x.mbps).toFixed(1)} MB/s`,
        unit: "s", bunty: pyMed((x) => (x.cpu / x.bytes) * 100 * MB), ttyd: null, better: "lower", digits: 2,
      });
    }
    const frames = (x: ServerRun) => (x.chunks / x.bytes) * 100 * MB;
    ctx.row({ metric: `  ${w.label}: frames per 100 MB (raw: PTY reads)`, unit: "", bunty: med("bunty", frames), ttyd: med("ttyd", frames), baseline: med("raw", frames), baselineLabel: "raw reads", better: "lower", digits: 0 });
    ctx.detail({ workload: w.key, label: w.label, rounds });
  }
}

/** The flood read by a writer and VIEWERS viewers of one session, each in its own process; the slowest against the raw PTY. */
export async function viewers3(ctx: Ctx): Promise<void> {
  const s = await ctx.bunty(["sh", "-c", A_SLEEP_CMD]);
  const once = async () => {
    const c0 = cpuSeconds(s.pid)!;
    const viewers: Promise<ProbeRun>[] = [];
    const writer = probe<ProbeRun>(["read", "bunty", s.wsUrl], {
      onLine: (line) => {
        const m = JSON.parse(line) as { event?: string; session?: string };
        if (m.event !== "hello" || viewers.length) return;
        for (let i = 0; i < VIEWERS; i++) viewers.push(probe<ProbeRun>(["read", "bunty", `${s.wsUrl}?session=${encodeURIComponent(m.session!)}&mode=view&offset=0`]));
      },
    });
    const w = await writer;
    if (viewers.length !== VIEWERS) throw new Error("the writer's hello never came");
    const clients = [w, ...(await Promise.all(viewers))];
    const c1 = cpuSeconds(s.pid)!;
    await M.waitSessionsZero(s, 5000);
    return { clients, serverCpu: c1.self - c0.self, slowest: Math.min(...clients.map((c) => c.mbpsFromFirst)) };
  };
  const runs = { raw: () => rawRun(A_SLEEP_CMD), bunty: once };
  ctx.log("warm-up (not counted)");
  await rotated(0, runs);
  const rounds: { raw: ProbeRun; bunty: Awaited<ReturnType<typeof once>> }[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const got = await rotated(r, runs);
    rounds.push(got);
    for (const [i, c] of got.bunty.clients.entries()) {
      const who = i === 0 ? "writer" : `viewer ${i}`;
      if (c.bytes !== got.raw.bytes) ctx.note(`round ${r + 1}: the ${who} received ${c.bytes} bytes, raw PTY ${got.raw.bytes}`);
      if (c.snapshots) ctx.note(`round ${r + 1}: the ${who} was skipped ahead ${c.snapshots} time(s)`);
    }
    ctx.log(`round ${r + 1}/${ctx.rounds}: raw ${got.raw.mbpsFromFirst.toFixed(1)} MB/s, clients ${got.bunty.clients.map((c) => c.mbpsFromFirst.toFixed(1)).join(" / ")}`);
  }
  const ratio = median(rounds.map((x) => x.bunty.slowest / x.raw.mbpsFromFirst));
  ctx.row({
    metric: `writer + ${VIEWERS} viewers, 100 MB: slowest client, MB/s`, unit: "MB/s", bunty: median(rounds.map((x) => x.bunty.slowest)),
    baseline: median(rounds.map((x) => x.raw.mbpsFromFirst)), baselineLabel: "raw PTY read", better: "higher", digits: 1,
  });
  ctx.row({ metric: "  slowest client / raw PTY read", unit: "x raw", bunty: ratio, better: "higher", target: ">= 0.85", met: ratio >= 0.85, digits: 3 });
  ctx.row({ metric: "  server CPU s per 100 MB delivered (all clients)", unit: "s", bunty: median(rounds.map((x) => x.bunty.serverCpu / (VIEWERS + 1))), better: "lower", digits: 2 });
  ctx.detail({ rounds });
}

/**
 * What any Bun PTY-to-WebSocket forwarder pays here: a minimal forwarder (forwarder.ts) against
 * the raw PTY, and the raw PTY beside an unrelated loopback WebSocket stream (stream.ts).
 */
export async function floor(ctx: Ctx): Promise<void> {
  const own: Server[] = [];
  const helper = async (script: string, options: string[], command?: string[]) => {
    const s = await startServer({ bin: [process.execPath, `${ctx.root}/scripts/bench/${script}`], options, command, env: ctx.env, cwd: ctx.root });
    own.push(s);
    return s;
  };
  try {
    const fwd = await helper("forwarder.ts", [], ["sh", "-c", A_CMD]);
    const sender = await helper("stream.ts", ["send", "--rate", String(STREAM_MBPS)]);
    const receiver = await helper("stream.ts", ["recv", sender.wsUrl]);
    const beside = async () => {
      const get = async (path: string) => {
        const res = await fetch(receiver.url + path, { signal: AbortSignal.timeout(10_000) });
        if (!res.ok) throw new Error(`stream receiver /${path}: HTTP ${res.status}`);
        return (await res.json()) as { bytes: number; at: number };
      };
      const a = await get("start");
      const raw = await rawRun(A_CMD).catch(async (e) => {
        await get("stop").catch(() => {});
        throw e;
      });
      const b = await get("stop");
      return { ...raw, streamMBps: (b.bytes - a.bytes) / MB / ((b.at - a.at) / 1000) };
    };
    const runs = { raw: () => rawRun(A_CMD), forwarder: () => serverRun("bunty", fwd), beside };
    ctx.log("warm-up (not counted)");
    await rotated(0, runs);
    const rounds: { raw: ProbeRun; forwarder: ServerRun; beside: ProbeRun & { streamMBps: number } }[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const got = await rotated(r, runs);
      rounds.push(got);
      ctx.log(`round ${r + 1}/${ctx.rounds}: raw ${got.raw.mbps.toFixed(1)}, forwarder ${got.forwarder.mbps.toFixed(1)}, raw beside a ${got.beside.streamMBps.toFixed(0)} MB/s stream ${got.beside.mbps.toFixed(1)} MB/s`);
    }
    const raw = median(rounds.map((x) => x.raw.mbps));
    ctx.row({ metric: "minimal Bun forwarder (floor), 100 MB: / raw PTY read", unit: "x raw", bunty: median(rounds.map((x) => x.forwarder.mbps / x.raw.mbps)), baseline: raw, baselineLabel: "raw MB/s", better: "higher", digits: 3 });
    ctx.row({
      metric: "  minimal Bun forwarder: its own CPU s per 100 MB (a PTY read and a WebSocket send, nothing else)", unit: "s",
      bunty: median(rounds.map((x) => (x.forwarder.serverCpu / x.forwarder.bytes) * 100 * MB)),
      baseline: median(rounds.map((x) => (x.raw.clientCpu / x.raw.bytes) * 100 * MB)), baselineLabel: "Bun's raw PTY reader's own CPU", better: "lower", digits: 2,
    });
    ctx.row({ metric: `  raw PTY beside an unrelated ${STREAM_MBPS} MB/s loopback WebSocket stream / alone`, unit: "x raw", bunty: median(rounds.map((x) => x.beside.mbps / x.raw.mbps)), better: "higher", digits: 3 });
    ctx.detail({ streamTargetMBps: STREAM_MBPS, rounds });
  } finally {
    for (const s of own.reverse()) await s.stop();
  }
}

/**
 * Why the bench of before reported 0.70 of the raw read for what an outside client measured at
 * 0.92: the same bunty, the same flood, read by the old in-process client (with and without its
 * health polling, with the server in the bench's session or its own), by probe.ts in its own
 * process, and by a client we did not write (Node's WebSocket, when node is installed), each
 * against the raw baseline measured the same way, interleaved.
 */
export async function agreement(ctx: Ctx): Promise<void> {
  const options = ["--port", "0", "--log-level", "warn", "--grace", "0", "--no-token"];
  const shared = await startServer({ bin: ctx.bin, options, command: ["sh", "-c", A_CMD], env: ctx.env, cwd: ctx.root, ownSession: false });
  const own = await ctx.bunty(["sh", "-c", A_CMD]);
  const nodeClient = await nodeReader();
  try {
    const runs: Record<string, () => Promise<number>> = {
      "raw, in the bench's process (before)": async () => (await M.rawPty(A_CMD)).mbps,
      "raw, own process (now)": async () => (await rawRun(A_CMD)).mbps,
      "in-process client + health polling, server in the bench's session (before)": async () => (await M.buntyRun(shared)).mbps,
      "in-process client + health polling, server in its own session": async () => (await M.buntyRun(own)).mbps,
      "in-process client, no polling, own session": async () => (await M.buntyRun(own, { poll: false })).mbps,
      "probe.ts in its own process (now)": async () => (await serverRun("bunty", own)).mbps,
    };
    if (nodeClient) runs[`Node ${nodeClient.version} WebSocket, own process (outside)`] = async () => {
      const r = await probeNode(nodeClient, own.wsUrl);
      await M.waitSessionsZero(own, 5000);
      return r;
    };
    else ctx.note("node with a WebSocket client not found: the outside client is skipped");
    await rotated(0, runs);
    const got: Record<string, number[]> = {};
    for (let r = 0; r < ctx.rounds; r++) for (const [k, v] of Object.entries(await rotated(r, runs))) (got[k] ??= []).push(v);
    const rawBefore = median(got["raw, in the bench's process (before)"]!), rawNow = median(got["raw, own process (now)"]!);
    for (const [k, xs] of Object.entries(got)) {
      if (k.startsWith("raw")) continue;
      const base = k.includes("(before)") ? rawBefore : rawNow;
      ctx.row({ metric: `bunty read by: ${k}`, unit: "x raw", bunty: median(xs) / base, baseline: base,  baselineLabel: k.includes("(before)") ? "raw MB/s in-process" : "raw MB/s own process", better: "higher", digits: 3 });
    }
    ctx.row({ metric: "raw PTY read: in the bench's process / own process", unit: "x", bunty: rawBefore / rawNow, better: "higher", digits: 3 });
    ctx.detail(got);
  } finally {
    await shared.stop();
  }
}

/** Node's own WebSocket client (Node 22+, or 20-21 with --experimental-websocket), or null. */
async function nodeReader(): Promise<{ argv: string[]; version: string } | null> {
  const node = Bun.which("node");
  if (!node) return null;
  for (const flags of [[], ["--experimental-websocket", "--no-warnings"]]) {
    const p = Bun.spawn([node, ...flags, "-e", "if (typeof WebSocket !== 'function') process.exit(3); console.log(process.version)"], { stdout: "pipe", stderr: "ignore" });
    const out = (await new Response(p.stdout).text()).trim();
    if ((await p.exited) === 0) return { argv: [node, ...flags], version: out };
  }
  return null;
}

const NODE_READER = `
const ws = new WebSocket(process.argv[1]); ws.binaryType = "arraybuffer";
let bytes = 0, t0 = 0;
ws.onopen = () => { t0 = performance.now(); };
ws.onmessage = (e) => {
  if (typeof e.data !== "string") { bytes += e.data.byteLength; return; }
  if (JSON.parse(e.data).type === "exit") { console.log(JSON.stringify({ bytes, seconds: (performance.now() - t0) / 1000 })); ws.close(); process.exit(0); }
};
ws.onclose = () => process.exit(1);`;

async function probeNode(node: { argv: string[] }, url: string): Promise<number> {
  const p = track(Bun.spawn([...node.argv, "-e", NODE_READER, url], { stdout: "pipe", stderr: "pipe" }));
  const out = new Response(p.stdout).text();
  const code = await deadline(p.exited, 90_000, "node reader").catch(async (e) => {
    await stopProc(p, 500);
    throw e;
  });
  if (code !== 0) throw new Error(`node reader: ${(await new Response(p.stderr).text()).slice(0, 300)}`);
  const r = JSON.parse(await out) as { bytes: number; seconds: number };
  return r.bytes / MB / r.seconds;
}
