// The benchmark's report: the table a person reads and the summary behind the BENCH_JSON line.
// Formatting only; every number was measured elsewhere.

import type * as L from "./latency.ts";
import type * as M from "./measures.ts";
import type * as S from "./sessions.ts";
import { fmt, max, median, min, round } from "./util.ts";

/** Targets (docs/benchmarks.md): ratio to raw PTY; ttyd's echo and open-to-prompt on this machine kind. */
export const TARGET = { ratio: 0.95, echoP50Ms: 0.23, echoP99Ms: 1, openP50Ms: 6 } as const;

export interface ReportInput {
  /** Keyed by benchmark: throughput_<workload>, throughput3, floor, echo, openToPrompt, attach, memory, catchup, startup, startupSource. */
  results: Results;
  /** Benchmark name -> error text, for those that failed. */
  errors: Record<string, string>;
  /** Oddities seen on the way (byte-count mismatches, servers that needed SIGKILL, ...). */
  notes: string[];
  workloads: { key: string; label: string }[];
  quick: boolean;
}
type Results = Record<string, unknown>;

function throughputSummary(results: Results, key: string) {
  const t = results[`throughput_${key}`] as { label: string; rounds: { raw: M.Run; bunty: M.Run; ratio: number }[] } | undefined;
  if (!t || t.rounds.length === 0) return null;
  const pick = (f: (x: { raw: M.Run; bunty: M.Run; ratio: number }) => number) => median(t.rounds.map(f));
  return {
    label: t.label,
    rounds: t.rounds.length,
    rawMBps: pick((x) => x.raw.mbps),
    buntyMBps: pick((x) => x.bunty.mbps),
    ratio: pick((x) => x.ratio),
    ratios: t.rounds.map((x) => x.ratio),
    rawCpuPerRun: pick((x) => x.raw.readerCpu),
    serverCpuPerRun: pick((x) => x.bunty.readerCpu),
    clientCpuPerRun: pick((x) => x.bunty.clientCpu ?? NaN),
    programCpuRaw: pick((x) => x.raw.programCpu),
    programCpuBunty: pick((x) => x.bunty.programCpu),
    rawChunkBytes: pick((x) => x.raw.bytes / x.raw.chunks),
    buntyFrameBytes: pick((x) => x.bunty.bytes / x.bunty.chunks),
    lagMaxMs: pick((x) => x.bunty.lagMaxMs),
    lagWorstMs: Math.max(...t.rounds.map((x) => x.bunty.lagMaxMs)),
    rawLagMaxMs: pick((x) => x.raw.lagMaxMs),
    rawLagWorstMs: Math.max(...t.rounds.map((x) => x.raw.lagMaxMs)),
  };
}

type Multi = { label: string; rounds: { raw: M.Run; bunty: S.MultiRun; ratio: number }[] };

function multiSummary(results: Results) {
  const t = results.throughput3 as Multi | undefined;
  if (!t || t.rounds.length === 0) return null;
  const pick = (f: (x: Multi["rounds"][number]) => number) => median(t.rounds.map(f));
  const nClients = t.rounds[0]!.bunty.clients.length;
  const perClient = Array.from({ length: nClients }, (_, i) => ({
    role: i === 0 ? "writer" : `viewer ${i}`,
    mbpsP50: median(t.rounds.map((x) => x.bunty.clients[i]!.mbps)),
    bytesMin: min(t.rounds.map((x) => x.bunty.clients[i]!.bytes)),
    bytesMax: max(t.rounds.map((x) => x.bunty.clients[i]!.bytes)),
    snapshots: t.rounds.reduce((a, x) => a + x.bunty.clients[i]!.snapshots, 0),
    resumed: [...new Set(t.rounds.map((x) => x.bunty.clients[i]!.resumed))].join(","),
  }));
  return {
    label: t.label,
    rounds: t.rounds.length,
    rawMBps: pick((x) => x.raw.mbps),
    slowestMBps: pick((x) => x.bunty.mbps),
    ratio: pick((x) => x.ratio),
    ratios: t.rounds.map((x) => x.ratio),
    rawBytes: t.rounds[0]!.raw.bytes,
    perClient,
    serverCpuPerRun: pick((x) => x.bunty.serverCpu),
    clientCpuPerRun: pick((x) => x.bunty.clientCpu),
    programCpuRaw: pick((x) => x.raw.programCpu),
    programCpuBunty: pick((x) => x.bunty.programCpu),
    rawCpuPerRun: pick((x) => x.raw.readerCpu),
    lagMaxMs: pick((x) => x.bunty.lagMaxMs),
    lagWorstMs: Math.max(...t.rounds.map((x) => x.bunty.lagMaxMs)),
  };
}

type Floor = {
  label: string;
  streamTargetMBps: number;
  rounds: { raw: M.Run; forwarder: M.Run; stream: M.StreamRun; forwarderRatio: number; streamRatio: number }[];
};

function floorSummary(results: Results) {
  const t = results.floor as Floor | undefined;
  if (!t || t.rounds.length === 0) return null;
  const pick = (f: (x: Floor["rounds"][number]) => number) => median(t.rounds.map(f));
  return {
    label: t.label,
    rounds: t.rounds.length,
    rawMBps: pick((x) => x.raw.mbps),
    forwarderMBps: pick((x) => x.forwarder.mbps),
    forwarderRatio: pick((x) => x.forwarderRatio),
    forwarderRatios: t.rounds.map((x) => x.forwarderRatio),
    rawBesideStreamMBps: pick((x) => x.stream.mbps),
    streamRatio: pick((x) => x.streamRatio),
    streamRatios: t.rounds.map((x) => x.streamRatio),
    streamTargetMBps: t.streamTargetMBps,
    streamMBps: pick((x) => x.stream.streamMBps),
    rawCpuPerRun: pick((x) => x.raw.readerCpu),
    rawBesideStreamCpuPerRun: pick((x) => x.stream.readerCpu),
    forwarderCpuPerRun: pick((x) => x.forwarder.readerCpu),
    clientCpuPerRun: pick((x) => x.forwarder.clientCpu ?? NaN),
    forwarderFrameBytes: pick((x) => x.forwarder.bytes / x.forwarder.chunks),
  };
}

const mib = (n: number) => `${fmt(n / 2 ** 20, n < 10 * 2 ** 20 ? 2 : 0)} MiB`;

/** A failure in a table cell: the first part only; the whole text follows the table. */
const failed = (e: string | undefined) => `FAILED: ${(e ?? "").split(" | ")[0]!.slice(0, 100)}`;

/** Prints the table and returns the summary for the BENCH_JSON line. */
export function report(input: ReportInput, meta: Record<string, unknown>): Record<string, unknown> {
  const { results, errors, notes, workloads: WORKLOADS, quick } = input;
  const rows: [string, string, string][] = [];
  const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
  for (const w of WORKLOADS) {
    const s = throughputSummary(results, w.key);
    if (errors.throughput && !s) rows.push([`Throughput, ${w.label}`, failed(errors.throughput), ""]);
    if (!s) continue;
    rows.push([
      `Throughput, ${w.label}`,
      `ratio ${fmt(s.ratio, 3)} (raw PTY ${fmt(s.rawMBps, 1)} MB/s, bunty ${fmt(s.buntyMBps, 1)} MB/s)`,
      `>= ${TARGET.ratio}: ${mark(s.ratio >= TARGET.ratio)}`,
    ]);
    rows.push(["  per-round ratios", s.ratios.map((r) => r.toFixed(3)).join(" "), ""]);
    rows.push(["  average chunk", `raw PTY read ${fmt(s.rawChunkBytes, 0)} B, bunty frame ${fmt(s.buntyFrameBytes, 0)} B`, ""]);
    rows.push([
      "  event-loop lag during a run, max",
      `bunty server ${fmt(s.lagMaxMs, 0)} ms (worst ${fmt(s.lagWorstMs, 0)}); raw reader ${fmt(s.rawLagMaxMs, 0)} ms (worst ${fmt(s.rawLagWorstMs, 0)})`,
      "",
    ]);
    rows.push([
      "  CPU s per run",
      `raw reader ${fmt(s.rawCpuPerRun)}, server ${fmt(s.serverCpuPerRun)} + client ${fmt(s.clientCpuPerRun)}; program ${fmt(s.programCpuRaw)} raw vs ${fmt(s.programCpuBunty)} under bunty`,
      "",
    ]);
  }
  const m3 = multiSummary(results);
  if (m3) {
    rows.push([
      `Throughput, ${m3.label}`,
      `slowest client / raw ${fmt(m3.ratio, 3)} (raw PTY ${fmt(m3.rawMBps, 1)} MB/s, slowest client ${fmt(m3.slowestMBps, 1)} MB/s)`,
      `>= ${TARGET.ratio}: ${mark(m3.ratio >= TARGET.ratio)}`,
    ]);
    rows.push(["  per-round ratios", m3.ratios.map((r) => r.toFixed(3)).join(" "), ""]);
    for (const c of m3.perClient) {
      const all = c.bytesMin === m3.rawBytes && c.bytesMax === m3.rawBytes;
      rows.push([
        `  ${c.role}`,
        `${fmt(c.mbpsP50, 1)} MB/s p50; bytes ${c.bytesMin === c.bytesMax ? c.bytesMin : `${c.bytesMin}-${c.bytesMax}`} every round; ${c.snapshots} snapshots; resumed ${c.resumed}`,
        all ? "all bytes: ok" : "MISSED bytes",
      ]);
    }
    rows.push([
      "  CPU s per run",
      `raw reader ${fmt(m3.rawCpuPerRun)}; server ${fmt(m3.serverCpuPerRun)} + 3 clients ${fmt(m3.clientCpuPerRun)}; program ${fmt(m3.programCpuRaw)} raw vs ${fmt(m3.programCpuBunty)} under bunty`,
      "",
    ]);
    rows.push(["  server event-loop lag during a run, max", `${fmt(m3.lagMaxMs, 0)} ms p50 (worst ${fmt(m3.lagWorstMs, 0)})`, ""]);
  } else if (errors.throughput3) rows.push(["Throughput, 3 clients on one session", failed(errors.throughput3), ""]);
  const fl = floorSummary(results);
  if (fl) {
    rows.push([
      `Floor: minimal Bun forwarder, ${fl.label}`,
      `ratio ${fmt(fl.forwarderRatio, 3)} (raw PTY ${fmt(fl.rawMBps, 1)} MB/s, forwarder ${fmt(fl.forwarderMBps, 1)} MB/s)`,
      "",
    ]);
    rows.push(["  per-round ratios", fl.forwarderRatios.map((r) => r.toFixed(3)).join(" "), ""]);
    rows.push([
      "  CPU s per run",
      `raw reader ${fmt(fl.rawCpuPerRun)}, forwarder ${fmt(fl.forwarderCpuPerRun)} + client ${fmt(fl.clientCpuPerRun)}; average frame ${fmt(fl.forwarderFrameBytes, 0)} B`,
      "",
    ]);
    rows.push([
      `Floor: raw PTY beside an unrelated stream`,
      `ratio ${fmt(fl.streamRatio, 3)} (raw PTY ${fmt(fl.rawMBps, 1)} MB/s alone, ${fmt(fl.rawBesideStreamMBps, 1)} MB/s beside the stream)`,
      "",
    ]);
    rows.push(["  per-round ratios", fl.streamRatios.map((r) => r.toFixed(3)).join(" "), ""]);
    rows.push([
      "  the stream",
      `${fmt(fl.streamMBps, 1)} MB/s (paced at ${fl.streamTargetMBps}) over loopback WebSocket, 2 processes, no PTY; raw reader CPU s ${fmt(fl.rawBesideStreamCpuPerRun)} beside it`,
      "",
    ]);
  } else if (errors.floor) rows.push(["Floor: minimal forwarder, raw PTY beside a stream", failed(errors.floor), ""]);
  const e = results.echo as L.EchoResult | undefined;
  if (e) {
    rows.push([
      `Keystroke echo (n=${e.bunty.samples})`,
      `p50 ${fmt(e.bunty.p50, 3)} ms, p99 ${fmt(e.bunty.p99, 3)} ms, max ${fmt(e.bunty.max, 2)} ms${e.bunty.mismatches ? `, ${e.bunty.mismatches} MISMATCHED echoes` : ""}`,
      `ttyd p50 ${TARGET.echoP50Ms}, p99 < ${TARGET.echoP99Ms}: ${mark(e.bunty.p50 <= TARGET.echoP50Ms && e.bunty.p99 < TARGET.echoP99Ms)}`,
    ]);
    rows.push(["  raw PTY, same program (floor)", `p50 ${fmt(e.raw.p50, 3)} ms, p99 ${fmt(e.raw.p99, 3)} ms, max ${fmt(e.raw.max, 2)} ms`, ""]);
  } else if (errors.echo) rows.push(["Keystroke echo", failed(errors.echo), ""]);
  const o = results.openToPrompt as L.OpenResult | undefined;
  if (o) {
    rows.push([
      `Open to first prompt byte (n=${o.bunty.samples})`,
      `p50 ${fmt(o.bunty.p50)} ms, p95 ${fmt(o.bunty.p95)} ms, max ${fmt(o.bunty.max)} ms (hello p50 ${fmt(o.hello.p50)} ms)`,
      `ttyd 4-6 ms: ${mark(o.bunty.p50 <= TARGET.openP50Ms)}${o.raw.p50 > TARGET.openP50Ms ? " (the shell alone is slower here)" : ""}`,
    ]);
    rows.push(["  raw PTY spawn -> prompt (floor)", `p50 ${fmt(o.raw.p50)} ms, p95 ${fmt(o.raw.p95)} ms; bunty adds ${fmt(o.bunty.p50 - o.raw.p50)} ms at p50`, ""]);
    if (o.lingering) notes.push(`open-to-prompt: after ${o.lingering} samples the session was still listed 5 s after its socket closed`);
  } else if (errors.open) rows.push(["Open to first prompt byte", failed(errors.open), ""]);
  const at = results.attach as S.AttachResult | undefined;
  if (at) {
    rows.push([
      `Attach, new session, no spares (n=${at.plain.screen.samples})`,
      `p50 ${fmt(at.plain.screen.p50)} ms, p95 ${fmt(at.plain.screen.p95)} ms, max ${fmt(at.plain.screen.max)} ms (hello p50 ${fmt(at.plain.hello.p50)} ms); first screen: ${at.plain.kinds.bytes} frames, ${at.plain.kinds.snapshot} snapshots`,
      "",
    ]);
    rows.push([
      `Attach, new session, --pool-size ${at.pooled.poolSize} (n=${at.pooled.screen.samples})`,
      `p50 ${fmt(at.pooled.screen.p50)} ms, p95 ${fmt(at.pooled.screen.p95)} ms, max ${fmt(at.pooled.screen.max)} ms (hello p50 ${fmt(at.pooled.hello.p50)} ms); first screen: ${at.pooled.kinds.bytes} frames, ${at.pooled.kinds.snapshot} snapshots`,
      `ttyd 4-6 ms: ${mark(at.pooled.screen.p50 <= TARGET.openP50Ms)}`,
    ]);
    rows.push([
      "  gain from spares",
      `p50 ${fmt(at.gainP50Ms)} ms faster (${fmt(at.speedupP50, 2)}x); spares back to ${at.pooled.poolSize} ${fmt(at.pooled.refill.p50, 0)} ms p50 after a close (incl. 150 ms pause)${at.pooled.notRefilled ? `, ${at.pooled.notRefilled} times NOT within 10 s` : ""}`,
      "",
    ]);
  } else if (errors.attach) rows.push(["Attach with and without spares", failed(errors.attach), ""]);
  const mem = results.memory as { cycles: M.MemoryCycle[] } | undefined;
  const cycles = mem?.cycles ?? [];
  if (cycles.length) {
    const c = cycles[0]!;
    rows.push([
      `Memory per idle session (n=${c.sessions})`,
      `${fmt(c.perSessionKiB, 0)} KiB of server RSS (health rssBytes: ${fmt(c.healthPerSessionKiB, 0)}); ${fmt(c.rssBeforeKiB / 1024, 1)} -> ${fmt(c.rssAfterKiB / 1024, 1)} MiB`,
      "",
    ]);
    rows.push(["  shells (context)", `${c.shells} shells, ${fmt(c.shellsRssKiB / 1024, 1)} MiB total, ${fmt(c.shellsRssKiB / Math.max(1, c.shells), 0)} KiB each`, ""]);
  }
  for (const [i, c] of cycles.entries()) {
    rows.push([
      `  cycle ${i + 1}: open ${c.sessions}, close all`,
      `RSS ${fmt(c.rssBeforeKiB / 1024, 1)} -> ${fmt(c.rssAfterKiB / 1024, 1)} MiB open -> ${fmt(c.rssAfterCloseKiB / 1024, 1)} MiB 1 s after close; ` +
        (c.zeroMs === null ? `sessions NOT back to 0 (${c.sessionsLeft} left after 10 s)` : `0 sessions after ${fmt(c.zeroMs, 0)} ms`) +
        `, ${c.shellsLeft} shells left`,
      mark(c.zeroMs !== null && c.shellsLeft === 0),
    ]);
    rows.push(["    server event-loop lag, max", `${fmt(c.lagOpenMs, 0)} ms opening, ${fmt(c.lagIdleMs, 0)} ms idle, ${fmt(c.lagCloseMs, 0)} ms closing all`, ""]);
  }
  if (!mem && errors.memory) rows.push(["Memory per idle session", failed(errors.memory), ""]);
  const cu = results.catchup as S.CatchupResult | undefined;
  if (cu) {
    const ss = cu.samples;
    const inSnap = ss.filter((x) => x.markIn === "snapshot").length;
    rows.push([
      `Stalled viewer catch-up (n=${cu.ms.samples})`,
      `resume -> snapshot + MARK-42 p50 ${fmt(cu.ms.p50, 0)} ms, max ${fmt(cu.ms.max, 0)} ms; MARK-42 in the snapshot ${inSnap}/${ss.length}`,
      "",
    ]);
    rows.push([
      "  bytes",
      `viewer read ${mib(cu.viewerWireAfterResumeP50)} after resume (p50; max ${mib(max(ss.map((x) => x.viewerWireAfterResume)))}), ` +
        `of which ${mib(median(ss.map((x) => x.viewerBinaryBeforeSnapshot)))} before the snapshot; the session wrote ${mib(cu.sessionBytesP50)} (p50)`,
      `${fmt(median(ss.map((x) => x.viewerWireAfterResume / x.sessionBytes)) * 100, 1)}% of it`,
    ]);
    rows.push([
      "  writer (kept reading)",
      `saw MARK-42 ${fmt(median(ss.map((x) => x.writerMarkMs)), 0)} ms after Ctrl-C (p50, incl. a 200 ms pause), ${ss.reduce((a, x) => a + x.writerSnapshots, 0)} snapshots in all; snapshots after resume per viewer ${ss.map((x) => x.snapshotsAfterResume).join(" ")}`,
      "",
    ]);
  } else if (errors.catchup) rows.push(["Stalled viewer catch-up", failed(errors.catchup), ""]);
  const st = results.startup as (M.StartupResult & { skipped?: string }) | undefined;
  if (st?.skipped) rows.push(["Start-up, dist/bunty", `skipped: ${st.skipped}`, ""]);
  else if (st) {
    rows.push([`Start-up, dist/bunty (n=${st.samples})`, `spawn -> URL line p50 ${fmt(st.urlP50, 1)} ms (max ${fmt(st.urlMax, 1)}); --version p50 ${fmt(st.versionP50, 1)} ms`, st.version]);
    const ss = results.startupSource as M.StartupResult | undefined;
    if (ss) rows.push([`  from source, bun main.ts (n=${ss.samples})`, `spawn -> URL line p50 ${fmt(ss.urlP50, 1)} ms; --version p50 ${fmt(ss.versionP50, 1)} ms`, ""]);
  } else if (errors.startup) rows.push(["Start-up, dist/bunty", failed(errors.startup), ""]);

  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = "-".repeat(w0 + w1 + 30);
  console.log(`\nbunty benchmark, ${meta.date}: ${meta.cpus} cores (${meta.cpuModel}), bun ${meta.bun}, server ${meta.server}`);
  const ran = WORKLOADS.some((w) => results[`throughput_${w.key}`]) || results.throughput3 || results.floor ? `${meta.rounds} interleaved throughput rounds` : "no throughput rounds";
  console.log(`${ran}${quick ? " (--quick)" : ""}; load average before ${meta.loadBefore}, after ${meta.loadAfter}; ${meta.seconds} s`);
  console.log(line);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
  console.log(line);
  for (const n of notes) console.log(`note: ${n}`);
  for (const [k, v] of Object.entries(errors)) console.log(`error in ${k}: ${v}`);

  const summary: Record<string, unknown> = { ...meta };
  for (const w of WORKLOADS) {
    const s = throughputSummary(results, w.key);
    summary[`throughput_${w.key}`] = s && {
      ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === "number" ? round(v, 3) : Array.isArray(v) ? v.map((x) => round(x, 3)) : v])),
      runs: (results[`throughput_${w.key}`] as { rounds: { raw: M.Run; bunty: M.Run }[] }).rounds.map((x) => ({
        rawMBps: round(x.raw.mbps, 2), buntyMBps: round(x.bunty.mbps, 2), rawBytes: x.raw.bytes, buntyBytes: x.bunty.bytes, snapshots: x.bunty.snapshots ?? 0,
      })),
    };
  }
  const roundAll = (v: unknown): unknown =>
    typeof v === "number" ? round(v, 3) : Array.isArray(v) ? v.map(roundAll) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundAll(x)])) : v;
  const m3json = multiSummary(results);
  summary.throughput3 = m3json && {
    ...(roundAll(m3json) as object),
    runs: (results.throughput3 as Multi).rounds.map((x) => ({
      rawMBps: round(x.raw.mbps, 2), rawBytes: x.raw.bytes, rawSeconds: round(x.raw.seconds, 3), slowestMBps: round(x.bunty.mbps, 2), ratio: round(x.ratio, 3),
      clients: x.bunty.clients.map((c) => roundAll(c)),
    })),
  };
  const fljson = floorSummary(results);
  summary.floor = fljson && {
    ...(roundAll(fljson) as object),
    runs: (results.floor as Floor).rounds.map((x) => ({
      rawMBps: round(x.raw.mbps, 2), forwarderMBps: round(x.forwarder.mbps, 2), rawBesideStreamMBps: round(x.stream.mbps, 2), streamMBps: round(x.stream.streamMBps, 2),
      forwarderRatio: round(x.forwarderRatio, 3), streamRatio: round(x.streamRatio, 3), rawBytes: x.raw.bytes, forwarderBytes: x.forwarder.bytes, rawBesideStreamBytes: x.stream.bytes,
    })),
  };
  Object.assign(summary, roundAll({
    echo: results.echo, openToPrompt: results.openToPrompt, attach: results.attach, memory: results.memory, catchup: results.catchup,
    startup: results.startup, startupSource: results.startupSource,
  }));
  summary.targets = TARGET;
  summary.notes = notes;
  summary.errors = errors;
  return summary;
}
