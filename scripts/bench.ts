// bunty's benchmark: throughput against the raw PTY (one client, and three on one session),
// the floor any Bun PTY-to-WebSocket forwarder pays here, keystroke echo latency,
// open-to-prompt, attach time with and without warm spares, memory per idle session, a stalled
// viewer's catch-up, and start-up of the built binary. Built for a shared, noisy 2-core
// machine: throughput is a ratio to a raw-PTY baseline measured in the same round, rounds are
// interleaved, and every figure is a median or percentile. docs/benchmarks.md explains each one.
//
//   npm run bench                     full run (5 rounds, 3-6.5 minutes depending on load)
//   npm run bench -- --quick          3 rounds, fewer samples
//   npm run bench -- --only attach,catchup   a subset (names: see --help)
//   npm run bench -- --only throughput,floor bunty's throughput next to a minimal Bun forwarder
//   npm run bench -- --rounds 7       more rounds
//   npm run bench -- --bin dist/bunty run the server benchmarks against an executable instead of the source

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as L from "./bench/latency.ts";
import * as M from "./bench/measures.ts";
import * as S from "./bench/sessions.ts";
import { killAllSync, startServer, stopProc, timeRun, type Server, type ServerSpec } from "./bench/procs.ts";
import { report } from "./bench/report.ts";
import { errorText, sleep } from "./bench/util.ts";

const ROOT = resolve(import.meta.dir, "..");
const A_CMD = "head -c 100000000 /dev/zero | tr '\\0' a";
const SEQ_CMD = "seq 1 3000000";
/** For three clients on one session: the sleep lets the viewers attach before output starts (not timed). */
const A_SLEEP_CMD = `sleep 0.5; ${A_CMD}`;
/** Viewers next to the writer in throughput3. */
const VIEWERS = 2;
/** Pace of the floor benchmark's unrelated stream: about what a forwarder delivers here (docs: why not full speed). */
const STREAM_MBPS = 65;
/** Warm spares of the pooled server in the attach benchmark. */
const POOL_SIZE = 4;
const ECHO_CMD = ["bash", "--noprofile", "--norc", "-c", "stty raw -echo; exec cat"];
const SHELL_CMD = ["bash", "--noprofile", "--norc", "-i"];
/** The whole run is aborted (servers killed) after this long. */
const TOTAL_TIMEOUT_MS = 15 * 60_000;

const SECTIONS = ["throughput", "throughput3", "floor", "echo", "open", "attach", "memory", "catchup", "startup"] as const;
type SectionName = (typeof SECTIONS)[number];

const USAGE = `Usage: bun scripts/bench.ts [--quick] [--rounds N] [--bin PATH] [--only LIST]

  --quick       3 rounds and fewer samples
  --rounds N    interleaved throughput rounds (default 5; 3 with --quick)
  --bin PATH    benchmark this bunty executable (or .ts entry point, run with bun)
                instead of server/main.ts; start-up is always measured on dist/bunty,
                and floor (a minimal Bun forwarder, the raw PTY beside a stream) runs no bunty
  --only LIST   comma-separated subset of: ${SECTIONS.join(", ")}
Prints a table and one line \`BENCH_JSON {...}\`. Exit status 1 if a benchmark failed to run.`;

interface Options {
  quick: boolean;
  rounds: number;
  bin: string[];
  binLabel: string;
  only: Set<SectionName>;
}

function parse(argv: string[]): Options {
  let quick = false, rounds: number | null = null, bin: string | null = null;
  let only = new Set<SectionName>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) usageError(`${a} needs a value`);
      return v;
    };
    if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (a === "--quick") quick = true;
    else if (a === "--rounds" || a.startsWith("--rounds=")) {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 50) usageError(`--rounds must be an integer from 1 to 50, got ${JSON.stringify(v)}`);
      rounds = Number(v);
    } else if (a === "--bin" || a.startsWith("--bin=")) bin = resolve(value());
    else if (a === "--only" || a.startsWith("--only=")) {
      const names = value().split(",").filter(Boolean);
      const bad = names.find((n) => !(SECTIONS as readonly string[]).includes(n));
      if (bad !== undefined || names.length === 0) usageError(`--only takes a comma-separated list of ${SECTIONS.join(", ")}`);
      only = new Set(names as SectionName[]);
    }
    else usageError(`unknown option ${a}`);
  }
  return {
    quick,
    rounds: rounds ?? (quick ? 3 : 5),
    bin: !bin ? [process.execPath, join(ROOT, "server/main.ts")] : bin.endsWith(".ts") ? [process.execPath, bin] : [bin],
    binLabel: !bin ? "bun server/main.ts" : bin.endsWith(".ts") ? `bun ${bin}` : bin,
    only,
  };
}

function usageError(msg: string): never {
  console.error(`bench: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

const opts = parse(process.argv.slice(2));
const N = opts.quick
  ? { echoWarm: 50, echo: 500, open: 15, attach: 15, memSessions: 100, memCycles: 1, catchup: 3, startup: 5 }
  : { echoWarm: 100, echo: 2000, open: 30, attach: 30, memSessions: 100, memCycles: 3, catchup: 5, startup: 10 };

// A HOME of our own, so no rc file or history of the machine's user is read or written.
const home = mkdtempSync(join(tmpdir(), "bunty-bench-"));
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
Object.assign(env, { HOME: home, HISTFILE: "/dev/null" });

/** The interactive shell's prompt: simple, so its first bytes are the same every time. */
const SHELL_OPTIONS = ["--env", `HOME=${home}`, "--env", "PS1=$ "];
/** What bunty gives the shell (its own env + TERM + --env), for the raw-PTY baselines. */
const shellEnv = { ...env, TERM: "xterm-256color", COLORTERM: "truecolor", PS1: "$ " };

/**
 * Options every benchmark server gets besides port and log level. The bench measures one
 * session per connection, so where the server keeps sessions alive after their last client
 * (`--grace`), that is turned off (except for the benchmarks of sessions that outlive their
 * clients); where it wants a token by default (`--no-token` exists), the token is turned off.
 * Filled in by `probeServer()`.
 */
const serverOptions: string[] = [];
async function probeServer(): Promise<void> {
  const help = await timeRun([...opts.bin, "--help"], 15_000).catch(() => null);
  if (help?.stdout.includes("--grace")) serverOptions.push("--grace", "0");
  // Servers that require a token by default: the bench talks to loopback only and does not measure authentication.
  if (help?.stdout.includes("--no-token")) serverOptions.push("--no-token");
  log(`server options: --port 0 --log-level warn ${serverOptions.join(" ")}`.trimEnd());
}

const servers = new Set<Server>();
/** Servers started by the running section, for their stderr when it fails. */
let sectionServers: Server[] = [];
async function launch(spec: ServerSpec): Promise<Server> {
  const s = await startServer(spec);
  servers.add(s);
  sectionServers.push(s);
  return s;
}
/** `defaultGrace`: leave out `--grace 0`, for benchmarks of sessions that outlive their clients. */
async function server(command: string[], extra: string[] = [], o: { defaultGrace?: boolean } = {}): Promise<Server> {
  const common = o.defaultGrace ? serverOptions.filter((x, i, a) => x !== "--grace" && a[i - 1] !== "--grace") : serverOptions;
  return launch({ bin: opts.bin, options: ["--port", "0", "--log-level", "warn", ...common, ...extra], command, env, cwd: ROOT });
}
/** One of the bench's own programs in scripts/bench/ (they print their URL line like a server). */
const helper = (script: string, options: string[], command?: string[]) =>
  launch({ bin: [process.execPath, join(ROOT, "scripts/bench", script)], options, command, env, cwd: ROOT });
async function stop(s: Server): Promise<void> {
  servers.delete(s);
  const how = await s.stop();
  if (how !== "terminated") notes.push(`server ${s.pid} (${s.url}) ${how === "killed" ? "needed SIGKILL to stop" : how}`);
}

const results: Record<string, unknown> = {};
const errors: Record<string, string> = {};
const notes: string[] = [];
const log = (s: string) => console.error(`[bench] ${s}`);

/** Runs one benchmark; a failure is recorded and the others still run. */
async function section(name: SectionName, fn: () => Promise<void>): Promise<void> {
  if (!opts.only.has(name)) return;
  const t0 = performance.now();
  log(`${name} ...`);
  sectionServers = [];
  try {
    await fn();
    log(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    errors[name] = errorText(e);
    log(`${name} FAILED: ${errors[name]}`);
    for (const s of sectionServers) {
      const tail = s.stderr().trim();
      if (tail) {
        log(`  stderr of server ${s.pid} (${s.url}), last lines:\n${tail.split("\n").slice(-15).join("\n")}`);
        errors[name] += ` | server stderr: ${tail.split("\n").slice(-6).join(" / ").slice(-600)}`;
      }
    }
  }
}

// ---- benchmarks ----

interface Workload {
  key: "a100MB" | "seq3M";
  label: string;
  cmd: string;
}
const WORKLOADS: Workload[] = [
  { key: "a100MB", label: "100 MB of 'a'", cmd: A_CMD },
  { key: "seq3M", label: "seq 1 3000000", cmd: SEQ_CMD },
];

async function throughput(): Promise<void> {
  const srv = new Map<string, Server>();
  try {
    for (const w of WORKLOADS) srv.set(w.key, await server(["sh", "-c", w.cmd]));
    log("  warm-up (not counted)");
    for (const w of WORKLOADS) {
      await M.rawPty(w.cmd);
      await M.buntyRun(srv.get(w.key)!);
    }
    for (const w of WORKLOADS) {
      const rounds: { raw: M.Run; bunty: M.Run; ratio: number }[] = [];
      results[`throughput_${w.key}`] = { label: w.label, rounds };
    }
    for (let r = 0; r < opts.rounds; r++) {
      for (const w of WORKLOADS) {
        // Alternate which goes first so slow drift in the machine's load favours neither.
        let raw: M.Run, bunty: M.Run;
        if (r % 2 === 0) {
          raw = await M.rawPty(w.cmd);
          bunty = await M.buntyRun(srv.get(w.key)!);
        } else {
          bunty = await M.buntyRun(srv.get(w.key)!);
          raw = await M.rawPty(w.cmd);
        }
        if (bunty.snapshots) notes.push(`${w.label}, round ${r + 1}: the server skipped the client ahead ${bunty.snapshots} time(s) (snapshot messages) instead of sending every byte`);
        if (bunty.bytes !== raw.bytes) notes.push(`${w.label}, round ${r + 1}: bunty delivered ${bunty.bytes} bytes, raw PTY ${raw.bytes}`);
        const ratio = bunty.mbps / raw.mbps;
        (results[`throughput_${w.key}`] as { rounds: unknown[] }).rounds.push({ raw, bunty, ratio });
        log(`  round ${r + 1}/${opts.rounds} ${w.label}: raw ${raw.mbps.toFixed(1)} MB/s, bunty ${bunty.mbps.toFixed(1)} MB/s, ratio ${ratio.toFixed(3)}`);
      }
    }
  } finally {
    for (const s of srv.values()) await stop(s);
  }
}

/** The 100 MB flood read by a writer and two viewers of one session; the slowest client against the raw PTY. */
async function throughput3(): Promise<void> {
  const s = await server(["sh", "-c", A_SLEEP_CMD]);
  try {
    log("  warm-up (not counted)");
    await M.rawPty(A_SLEEP_CMD, { fromFirstByte: true });
    await S.multiClientRun(s, VIEWERS);
    const rounds: { raw: M.Run; bunty: S.MultiRun; ratio: number }[] = [];
    results.throughput3 = { label: `100 MB of 'a', writer + ${VIEWERS} viewers`, rounds };
    for (let r = 0; r < opts.rounds; r++) {
      let raw: M.Run, bunty: S.MultiRun;
      if (r % 2 === 0) {
        raw = await M.rawPty(A_SLEEP_CMD, { fromFirstByte: true });
        bunty = await S.multiClientRun(s, VIEWERS);
      } else {
        bunty = await S.multiClientRun(s, VIEWERS);
        raw = await M.rawPty(A_SLEEP_CMD, { fromFirstByte: true });
      }
      for (const [i, c] of bunty.clients.entries()) {
        const who = i === 0 ? "writer" : `viewer ${i}`;
        if (c.bytes !== raw.bytes) notes.push(`3 clients, round ${r + 1}: the ${who} received ${c.bytes} bytes, raw PTY ${raw.bytes}`);
        if (c.snapshots) notes.push(`3 clients, round ${r + 1}: the ${who} was skipped ahead ${c.snapshots} time(s) (snapshot messages)`);
        if (c.role === "viewer" && c.resumed !== "log") notes.push(`3 clients, round ${r + 1}: the ${who} attached with resumed "${c.resumed}", not "log"`);
        if (c.role === "viewer" && c.helloMs > 0) notes.push(`3 clients, round ${r + 1}: the ${who}'s hello came ${c.helloMs.toFixed(0)} ms after output had started`);
      }
      const ratio = bunty.mbps / raw.mbps;
      rounds.push({ raw, bunty, ratio });
      log(`  round ${r + 1}/${opts.rounds}: raw ${raw.mbps.toFixed(1)} MB/s, clients ${bunty.clients.map((c) => c.mbps.toFixed(1)).join(" / ")} MB/s, slowest/raw ${ratio.toFixed(3)}`);
    }
  } finally {
    await stop(s);
  }
}

/**
 * What any Bun PTY-to-WebSocket forwarder pays here: a minimal forwarder (scripts/bench/forwarder.ts)
 * against the raw PTY, and the raw PTY beside an unrelated loopback WebSocket stream
 * (scripts/bench/stream.ts) against the undisturbed raw PTY, all in the same round.
 */
async function floor(): Promise<void> {
  const started: Server[] = [];
  try {
    const fwd = await helper("forwarder.ts", [], ["sh", "-c", A_CMD]);
    started.push(fwd);
    const sender = await helper("stream.ts", ["send", "--rate", String(STREAM_MBPS)]);
    started.push(sender);
    const receiver = await helper("stream.ts", ["recv", sender.wsUrl]);
    started.push(receiver);
    log("  warm-up (not counted)");
    await M.rawPty(A_CMD);
    await M.buntyRun(fwd);
    await M.rawBesideStream(receiver.url, A_CMD);
    const rounds: { raw: M.Run; forwarder: M.Run; stream: M.StreamRun; forwarderRatio: number; streamRatio: number }[] = [];
    results.floor = { label: "100 MB of 'a'", streamTargetMBps: STREAM_MBPS, rounds };
    for (let r = 0; r < opts.rounds; r++) {
      const run = { raw: () => M.rawPty(A_CMD), forwarder: () => M.buntyRun(fwd), stream: () => M.rawBesideStream(receiver.url, A_CMD) };
      const got: { raw?: M.Run; forwarder?: M.Run; stream?: M.StreamRun } = {};
      // As in throughput: the raw baseline first in odd rounds, last in even ones.
      const order = r % 2 === 0 ? (["raw", "forwarder", "stream"] as const) : (["stream", "forwarder", "raw"] as const);
      for (const k of order) Object.assign(got, { [k]: await run[k]() });
      const { raw, forwarder, stream } = got as Required<typeof got>;
      if (forwarder.bytes !== raw.bytes) notes.push(`floor, round ${r + 1}: the forwarder delivered ${forwarder.bytes} bytes, raw PTY ${raw.bytes}`);
      if (stream.bytes !== raw.bytes) notes.push(`floor, round ${r + 1}: the raw PTY beside the stream read ${stream.bytes} bytes, undisturbed ${raw.bytes}`);
      const row = { raw, forwarder, stream, forwarderRatio: forwarder.mbps / raw.mbps, streamRatio: stream.mbps / raw.mbps };
      rounds.push(row);
      log(`  round ${r + 1}/${opts.rounds}: raw ${row.raw.mbps.toFixed(1)} MB/s, forwarder ${row.forwarder.mbps.toFixed(1)} (${row.forwarderRatio.toFixed(3)}), raw beside a ${row.stream.streamMBps.toFixed(1)} MB/s stream ${row.stream.mbps.toFixed(1)} (${row.streamRatio.toFixed(3)})`);
    }
  } finally {
    for (const s of started.reverse()) await stop(s);
  }
}

async function echo(): Promise<void> {
  const s = await server(ECHO_CMD);
  try {
    results.echo = await L.echoLatency(s, ECHO_CMD, env, N.echoWarm, N.echo);
  } finally {
    await stop(s);
  }
}

async function openPrompt(): Promise<void> {
  const s = await server(SHELL_CMD, SHELL_OPTIONS);
  try {
    // Two sessions first so the server's first-use costs (JIT, lazy imports) are not in the samples.
    await L.openToPrompt(s, SHELL_CMD, shellEnv, 2);
    results.openToPrompt = await L.openToPrompt(s, SHELL_CMD, shellEnv, N.open);
  } finally {
    await stop(s);
  }
}

/** Attach to a new session's first screen, without spares and with POOL_SIZE warm spares, alternating. */
async function attach(): Promise<void> {
  const plain = await server(SHELL_CMD, SHELL_OPTIONS);
  try {
    const pooled = await server(SHELL_CMD, [...SHELL_OPTIONS, "--pool-size", String(POOL_SIZE)]);
    try {
      results.attach = await S.attachTimes(plain, pooled, POOL_SIZE, N.attach, 2);
      const a = results.attach as S.AttachResult;
      log(`  p50 ${a.plain.screen.p50.toFixed(2)} ms without spares, ${a.pooled.screen.p50.toFixed(2)} ms with --pool-size ${POOL_SIZE}`);
      if (a.pooled.notRefilled) notes.push(`attach: before ${a.pooled.notRefilled} pooled samples the spares were not back to ${POOL_SIZE} within 10 s`);
      if (a.pooled.kinds.bytes) notes.push(`attach: ${a.pooled.kinds.bytes} of ${a.pooled.screen.samples} pooled samples got a binary frame first, not a snapshot (resumed: ${JSON.stringify(a.pooled.resumed)})`);
      for (const [name, side] of [["without spares", a.plain], ["with spares", a.pooled]] as const)
        if (side.lingering) notes.push(`attach ${name}: after ${side.lingering} samples the session was still listed 5 s after its socket closed`);
    } finally {
      await stop(pooled);
    }
  } finally {
    await stop(plain);
  }
}

/** A viewer that stops reading during a `yes` flood and then reads again (server with the default grace). */
async function catchup(): Promise<void> {
  const s = await server(SHELL_CMD, SHELL_OPTIONS, { defaultGrace: true });
  try {
    const samples: S.CatchupSample[] = [];
    for (let i = 0; i < N.catchup; i++) {
      const c = await S.catchupOnce(s);
      samples.push(c);
      log(`  sample ${i + 1}/${N.catchup}: ${c.ms.toFixed(0)} ms to ${c.markIn === "snapshot" ? "a snapshot showing" : "bytes with"} MARK-42; viewer read ${(c.viewerWireAfterResume / 2 ** 20).toFixed(2)} MiB after resume, session wrote ${(c.sessionBytes / 2 ** 20).toFixed(0)} MiB`);
      if (c.markIn === "bytes-no-snapshot") notes.push(`catchup sample ${i + 1}: the viewer saw MARK-42 without any snapshot (the log still held its position)`);
      if (c.snapshotsAfterResume > 1) notes.push(`catchup sample ${i + 1}: the viewer got ${c.snapshotsAfterResume} snapshots after resuming`);
    }
    results.catchup = S.catchupSummary(samples);
  } finally {
    await stop(s);
  }
}

async function memory(): Promise<void> {
  const s = await server(SHELL_CMD, [...SHELL_OPTIONS, "--max-sessions", String(N.memSessions + 10)]);
  try {
    await L.openToPrompt(s, SHELL_CMD, shellEnv, 2); // warm-up, as above
    await sleep(500);
    const cycles: M.MemoryCycle[] = [];
    results.memory = { cycles };
    for (let i = 0; i < N.memCycles; i++) {
      const c = await M.memoryCycle(s, N.memSessions);
      cycles.push(c);
      log(`  cycle ${i + 1}: ${c.perSessionKiB.toFixed(0)} KiB/session, back to 0 sessions in ${c.zeroMs === null ? "NEVER" : c.zeroMs.toFixed(0) + " ms"}`);
      if (c.zeroMs === null) notes.push(`memory cycle ${i + 1}: /api/health still reported ${c.sessionsLeft} sessions 10 s after all sockets closed`);
      if (c.shellsLeft > 0) notes.push(`memory cycle ${i + 1}: ${c.shellsLeft} shells still alive after their sockets closed`);
    }
  } finally {
    await stop(s);
  }
}

async function startupBench(): Promise<void> {
  const dist = join(ROOT, "dist/bunty");
  if (!M.binaryExists(dist)) {
    results.startup = { skipped: "run npm run build first" };
    return;
  }
  results.startup = await M.startup([dist], N.startup, env, home);
  // For context: the same from source (the --bin entry point when it is one).
  const source = opts.bin.length === 2 ? opts.bin : [process.execPath, join(ROOT, "server/main.ts")];
  results.startupSource = await M.startup(source, Math.min(5, N.startup), env, ROOT);
}

// ---- main ----

let cleaning = false;
async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  await Promise.all([...servers].map((s) => stopProc(s.proc, 3000)));
  killAllSync();
  try {
    rmSync(home, { recursive: true, force: true });
  } catch {}
}
process.on("exit", () => {
  killAllSync();
  try {
    rmSync(home, { recursive: true, force: true });
  } catch {}
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping servers`);
    setTimeout(() => process.exit(130), 5000).unref();
    cleanup().then(() => process.exit(130));
  });
}
const overall = setTimeout(() => {
  log(`the whole run took longer than ${TOTAL_TIMEOUT_MS / 60_000} min; stopping`);
  cleanup().then(() => process.exit(1));
}, TOTAL_TIMEOUT_MS);
overall.unref();

const t0 = performance.now();
const loadBefore = loadavg().map((x) => x.toFixed(2)).join(" ");
log(`server: ${opts.binLabel}; HOME for shells: ${home}`);
await probeServer();
await section("throughput", throughput);
await section("throughput3", throughput3);
await section("floor", floor);
await section("echo", echo);
await section("open", openPrompt);
await section("attach", attach);
await section("memory", memory);
await section("catchup", catchup);
await section("startup", startupBench);
await cleanup();

const summary = report({ results, errors, notes, workloads: WORKLOADS, quick: opts.quick }, {
  date: new Date().toISOString(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "?",
  bun: Bun.version,
  server: opts.binLabel,
  serverOptions: serverOptions.join(" "),
  rounds: opts.rounds,
  quick: opts.quick,
  loadBefore,
  loadAfter: loadavg().map((x) => x.toFixed(2)).join(" "),
  seconds: Math.round((performance.now() - t0) / 1000),
});
console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
process.exit(Object.keys(errors).length ? 1 : 0);
