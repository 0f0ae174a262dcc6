// bunty's benchmark, with ttyd beside it in the same run when the peer binary is present: every
// row gives bunty, ttyd and bunty's advantage from the same interleaved rounds, next to a
// baseline measured in the same run (Bun's raw PTY read on this machine). Built for a shared,
// noisy 2-core machine: rounds rotate their order, every figure is a median or percentile, and
// every timed client runs in a process of its own (scripts/bench/probe.ts), like an outside
// client. docs/benchmarks.md explains each section and how the figures were checked from outside.
//
//   npm run bench                          everything (about 12 minutes)
//   npm run bench -- --quick               3 rounds, fewer samples (about 6 minutes)
//   npm run bench -- --only echo,open      a subset (names: --help)
//   npm run bench -- --bin dist/bunty      the built executable instead of server/main.ts
//   npm run bench -- --ttyd PATH           the peer's binary (default ../shared/tools/peers/ttyd); --no-peer: without

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openSection, type Ctx, type Row, type Setup } from "./bench/context.ts";
import { echo, open } from "./bench/latency.ts";
import { catchup, memory, spareCost, startup } from "./bench/memory.ts";
import { findTtyd } from "./bench/peers.ts";
import { killAllSync, timeRun } from "./bench/procs.ts";
import { jsonRows, markdownTable, roundAll, textTable } from "./bench/report.ts";
import { agreement, floor, throughput, viewers3 } from "./bench/throughput.ts";
import { errorText } from "./bench/util.ts";

const ROOT = resolve(import.meta.dir, "..");
/** The whole run is aborted (servers killed) after this long. */
const TOTAL_TIMEOUT_MS = 30 * 60_000;

const SECTIONS: [string, (ctx: Ctx) => Promise<void>, string][] = [
  ["throughput", throughput, "100 MB of 'a' and seq 1 3000000: MB/s, CPU per 100 MB, frames (bunty, ttyd, raw PTY)"],
  ["viewers3", viewers3, "a writer and two viewers of one session: the slowest against the raw PTY"],
  ["echo", echo, "keystroke echo p50/p99 (bunty, ttyd, raw PTY)"],
  ["open", open, "new tab to the first prompt byte, without spares and with one warm spare (bunty, ttyd, raw PTY)"],
  ["memory", memory, "server RSS per idle session, 50 sessions (bunty, ttyd)"],
  ["spare", spareCost, "what one warm spare costs: RSS, idle CPU"],
  ["sessions", async (ctx) => (await import("./bench/curves.ts")).sessionCurve(ctx), "cost curve: 1, 10, 50, 100 sessions printing; typing p99 beside floods against a raw PTY"],
  ["viewers", async (ctx) => (await import("./bench/curves.ts")).viewerCurve(ctx), "cost curve: one writer, 1, 10, 50 viewers"],
  ["browser", async (ctx) => (await import("./bench/browser.ts")).browser(ctx), "the page in headless chromium: load to prompt, seq 1 2000000, Ctrl-C in a flood (bunty, ttyd)"],
  ["catchup", catchup, "a stalled viewer reading again"],
  ["floor", floor, "a minimal Bun forwarder, and the raw PTY beside an unrelated WebSocket stream"],
  ["agreement", agreement, "why the bench of before under-reported: the same flood read by each kind of client"],
  ["startup", startup, "dist/bunty spawn to URL line, --version"],
];
const NAMES = SECTIONS.map((s) => s[0]);

const USAGE = `Usage: bun scripts/bench.ts [--quick] [--rounds N] [--bin PATH] [--ttyd PATH | --no-peer] [--only LIST] [--out DIR]

  --quick       3 rounds and fewer samples
  --rounds N    interleaved rounds of the throughput sections (default 5; 3 with --quick)
  --bin PATH    benchmark this bunty executable (or .ts entry point, run with bun) instead of
                server/main.ts (the browser and startup sections always use dist/bunty)
  --ttyd PATH   ttyd 1.7.7 to run beside bunty (default ../shared/tools/peers/ttyd when present)
  --no-peer     leave ttyd out
  --only LIST   comma-separated subset of the sections:
${SECTIONS.map(([n, , d]) => `                  ${n.padEnd(11)} ${d}`).join("\n")}
  --out DIR     where the report (report.md, bench.json) and charts (costs.svg) go (default bench-out/)
Prints a table and one line \`BENCH_JSON {...}\`. Exit status 1 if a section failed to run.`;

function usageError(msg: string): never {
  console.error(`bench: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function parse(argv: string[]) {
  const o = { quick: false, rounds: null as number | null, bin: null as string | null, ttyd: null as string | null, peer: true, only: new Set(NAMES), out: join(ROOT, "bench-out") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) usageError(`${a} needs a value`);
      return v;
    };
    const name = a.split("=")[0];
    if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (a === "--quick") o.quick = true;
    else if (a === "--no-peer") o.peer = false;
    else if (name === "--rounds") {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 50) usageError(`--rounds must be an integer from 1 to 50, got ${JSON.stringify(v)}`);
      o.rounds = Number(v);
    } else if (name === "--bin") o.bin = resolve(value());
    else if (name === "--ttyd") o.ttyd = resolve(value());
    else if (name === "--out") o.out = resolve(value());
    else if (name === "--only") {
      const names = value().split(",").filter(Boolean);
      const bad = names.find((n) => !NAMES.includes(n));
      if (bad !== undefined || names.length === 0) usageError(`--only takes a comma-separated list of ${NAMES.join(", ")}`);
      o.only = new Set(names);
    } else usageError(`unknown option ${a}`);
  }
  return o;
}

const opts = parse(process.argv.slice(2));
const log = (s: string) => console.error(`[bench] ${s}`);
const notes: string[] = [];
// A HOME of our own, so no rc file or history of the machine's user is read or written.
const home = mkdtempSync(join(tmpdir(), "bunty-bench-"));
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
Object.assign(env, { HOME: home, HISTFILE: "/dev/null" });
const bin = !opts.bin ? [process.execPath, join(ROOT, "server/main.ts")] : opts.bin.endsWith(".ts") ? [process.execPath, opts.bin] : [opts.bin];
const binLabel = !opts.bin ? "bun server/main.ts" : opts.bin;

process.on("exit", () => {
  killAllSync();
  rmSync(home, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    log(`${sig}: stopping`);
    process.exit(130);
  });
setTimeout(() => {
  log(`the whole run took longer than ${TOTAL_TIMEOUT_MS / 60_000} min; stopping`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS).unref();

// Options the server gets besides port and log level: one session per connection (--grace 0,
// except where a section says otherwise) and no token (loopback only; authentication is not measured).
const help = await timeRun([...bin, "--help"], 15_000).catch(() => null);
const buntyOptions = [...(help?.stdout.includes("--grace") ? ["--grace", "0"] : []), ...(help?.stdout.includes("--no-token") ? ["--no-token"] : [])];
const peer = opts.peer ? await findTtyd(opts.ttyd, env) : { name: "ttyd" as const, skipped: "--no-peer" };
const setup: Setup = {
  quick: opts.quick, rounds: opts.rounds ?? (opts.quick ? 3 : 5), root: ROOT, outDir: opts.out, home, env, bin, binLabel, buntyOptions,
  ttydPath: "path" in peer ? peer.path : null,
  ttydSkipped: "skipped" in peer ? peer.skipped : null,
  log, note: (l) => notes.push(l),
};
log(`bunty: ${binLabel} ${buntyOptions.join(" ")}; peer: ${"path" in peer ? `${peer.version} (${peer.path})` : `skipped: ${peer.skipped}`}`);

/**
 * The machine's CPU time by kind from /proc/stat (Linux; null elsewhere): `steal` is time this VM
 * was ready to run but the host ran someone else. The machines here are shared VMs, and a run
 * that lost a quarter of its CPU to the host measures the host; the header and each section say
 * how much was stolen while they ran.
 */
function cpuTimes(): { total: number; steal: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}
const stolen = (a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>) =>
  a && b && b.total > a.total ? Math.round((1000 * (b.steal - a.steal)) / (b.total - a.total)) / 10 : null;
const steal: Record<string, number | null> = {};

const t0 = performance.now();
const cpu0 = cpuTimes();
const loadBefore = loadavg().map((x) => x.toFixed(2)).join(" ");
const rows: Row[] = [];
const details: Record<string, unknown> = {};
const errors: Record<string, string> = {};
for (const [name, fn] of SECTIONS) {
  if (!opts.only.has(name)) continue;
  const s = openSection(name, setup);
  const t = performance.now();
  const c = cpuTimes();
  log(`${name} ...`);
  try {
    await fn(s.ctx);
    steal[name] = stolen(c, cpuTimes());
    log(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s${steal[name] === null ? "" : `; CPU stolen by the host meanwhile: ${steal[name]}%`}`);
  } catch (e) {
    errors[name] = errorText(e);
    log(`${name} FAILED: ${errors[name]}`);
    for (const srv of s.servers) {
      const tail = srv.stderr().trim();
      if (tail) errors[name] += ` | stderr of ${srv.pid}: ${tail.split("\n").slice(-6).join(" / ").slice(-600)}`;
    }
  } finally {
    await s.close();
  }
  rows.push(...s.rows);
  details[name] = s.details.length === 1 ? s.details[0] : s.details;
}

const meta = {
  date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", bun: Bun.version, server: binLabel, serverOptions: buntyOptions.join(" "),
  peer: "path" in peer ? peer.version : `skipped: ${peer.skipped}`, rounds: setup.rounds, quick: opts.quick, loadBefore, loadAfter: loadavg().map((x) => x.toFixed(2)).join(" "),
  seconds: Math.round((performance.now() - t0) / 1000),
  /** % of the machine's CPU time the host took (steal) over the run, and per section. */
  steal: { run: stolen(cpu0, cpuTimes()), ...steal },
};
console.log(`\nbunty benchmark, ${meta.date}: ${meta.cpus} cores (${meta.cpuModel}), bun ${meta.bun}; bunty ${binLabel}; ttyd ${meta.peer}`);
console.log(`${meta.rounds} rounds${opts.quick ? " (--quick)" : ""}; load average before ${loadBefore}, after ${meta.loadAfter}; ${meta.seconds} s${meta.steal.run === null ? "" : `; CPU stolen by the host: ${meta.steal.run}% (by section: ${Object.entries(steal).map(([k, v]) => `${k} ${v ?? "?"}%`).join(", ")})`}\n`);
console.log(textTable(rows));
for (const n of notes) console.log(`note: ${n}`);
for (const [k, v] of Object.entries(errors)) console.log(`error in ${k}: ${v}`);
const summary = { ...meta, rows: jsonRows(rows), details: roundAll(details), notes, errors };
mkdirSync(opts.out, { recursive: true });
writeFileSync(join(opts.out, "report.md"), `bunty ${binLabel} beside ttyd ${meta.peer}; ${meta.date}; ${meta.cpus} cores; ${meta.rounds} rounds; load ${loadBefore} -> ${meta.loadAfter}; CPU stolen by the host ${meta.steal.run ?? "?"}%\n\n${markdownTable(rows)}\n`);
writeFileSync(join(opts.out, "bench.json"), JSON.stringify(summary, null, 1));
console.log(`\nreport: ${join(opts.out, "report.md")}`);
console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
process.exit(Object.keys(errors).length ? 1 : 0);
