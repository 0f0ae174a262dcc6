// The benchmark's report: the table a person reads and the summary behind the BENCH_JSON line.
// Formatting only; every number was measured elsewhere.

import type * as L from "./latency.ts";
import type * as M from "./measures.ts";
import { fmt, median, round } from "./util.ts";

/** Targets (docs/benchmarks.md): ratio to raw PTY; ttyd's echo and open-to-prompt on this machine kind. */
export const TARGET = { ratio: 0.95, echoP50Ms: 0.23, echoP99Ms: 1, openP50Ms: 6 } as const;

export interface ReportInput {
  /** Keyed by benchmark: throughput_<workload>, echo, openToPrompt, memory, startup, startupSource. */
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
  const ran = WORKLOADS.some((w) => results[`throughput_${w.key}`]) ? `${meta.rounds} interleaved throughput rounds` : "no throughput rounds";
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
  Object.assign(summary, roundAll({ echo: results.echo, openToPrompt: results.openToPrompt, memory: results.memory, startup: results.startup, startupSource: results.startupSource }));
  summary.targets = TARGET;
  summary.notes = notes;
  summary.errors = errors;
  return summary;
}
