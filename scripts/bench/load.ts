// The cost curves' load generator (scripts/bench/curves.ts): a client process of its own, so the
// load it puts on bunty does not share an event loop, a heap or a garbage collector with the
// bench that measures the server, like the outside clients it stands for.
//
//   load.ts read URL N [--seconds S]            N new sessions on URL (a bunty /ws URL, query
//                                               included); count every socket's output
//   load.ts view URL SESSION N [--seconds S]    N viewers of SESSION (mode=view, offset=0); with
//                                               SESSION `new`, socket 0 first starts a session on
//                                               URL (its writer), then N viewers of it attach
//   load.ts raw-flood N CMD SECONDS             N raw PTYs running `bash --noprofile --norc -c CMD`
//                                               (as bunty's sessions do), read and counted here: no
//                                               server, the baseline beside bunty's loads
//
// stdout: one JSON line per event: {event:"hello",i,session} per socket, {event:"ready",n,ms}
// once every socket has its hello (raw-flood: at once), {event:"printing",n,ms} once every socket
// or PTY has had output, {event:"count",bytes,at,cpu} for each `count` line on stdin, {event:"closed",i,code}
// for a socket closed before its session's exit, and last {event:"totals",...}. It stops, prints
// the totals and exits on SIGTERM, at the --seconds deadline, when stdin ends (the bench went
// away), or (read, view) when every session it reads has ended.
// stdin, one command a line: `count`; `reset` (counts start again from 0, answered {event:"reset"});
// `input I TEXT` (TEXT a JSON string) types into socket I.
// Imported (by the bench), it gives `Load`, which runs one such process and speaks that protocol.

import { decodeServerMessage } from "../../protocol/index.ts";
import { stopProc, track } from "./procs.ts";

/** Longest a socket may take to open and send its hello (100 sessions start at once). */
const READY_TIMEOUT_MS = 30_000;
/** Default life when no --seconds is given: the bench stops us long before. */
const DEFAULT_SECONDS = 300;
/** After the totals and the closes: time for them to leave (stdout is a pipe, close frames) before exit. */
const FLUSH_MS = 100;

interface Counter {
  bytes: number;
  frames: number;
  snapshots: number;
  /** performance.now() of the first output byte and of the `exit` message; 0 until then. */
  firstAt: number;
  exitAt: number;
  exitCode: number | null;
  /** Close code when the socket closed before the session's exit. */
  closedEarly: number | null;
  session: string;
}

const out = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuNow = () => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
};

const counters: Counter[] = [];
const senders: ((bytes: Uint8Array<ArrayBuffer>) => void)[] = [];
const closers: (() => void)[] = [];
const total = () => counters.reduce((s, c) => s + c.bytes, 0);
const newCounter = (): Counter => ({ bytes: 0, frames: 0, snapshots: 0, firstAt: 0, exitAt: 0, exitCode: null, closedEarly: null, session: "" });

let stopping = false;
async function stop(why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    const at = performance.now();
    const per = counters.map((c) => ({
      bytes: c.bytes, frames: c.frames, snapshots: c.snapshots, exitCode: c.exitCode, closedEarly: c.closedEarly,
      /** From this socket's first output byte to its exit message (or to now), s. */
      seconds: ((c.exitAt || at) - (c.firstAt || at)) / 1000,
    }));
    out({ event: "totals", why, bytes: total(), snapshots: per.reduce((s, c) => s + c.snapshots, 0), cpu: cpuNow(), ms: at - t0, per });
    for (const close of closers) {
      try {
        close();
      } catch {}
    }
    await Bun.sleep(FLUSH_MS);
    process.exit(0);
  }
  return new Promise<never>(() => {});
}

function open(url: string, c: Counter, i: number): Promise<void> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const hello = Promise.withResolvers<void>();
  senders[i] = (b) => ws.readyState === WebSocket.OPEN && ws.send(b);
  closers.push(() => ws.readyState !== WebSocket.CLOSED && ws.close(1000, "load done"));
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data !== "string") {
      const n = (ev.data as ArrayBuffer).byteLength;
      if (c.frames++ === 0) c.firstAt = performance.now();
      c.bytes += n;
      return;
    }
    const m = decodeServerMessage(ev.data);
    if (m?.type === "hello") {
      c.session = m.session;
      out({ event: "hello", i, session: m.session });
      hello.resolve();
    } else if (m?.type === "snapshot") c.snapshots++;
    else if (m?.type === "exit") {
      c.exitAt = performance.now();
      c.exitCode = m.code ?? null;
      if (counters.every((x) => x.exitAt > 0 || x.closedEarly !== null)) void stop("every session ended");
    }
  };
  ws.onclose = (ev: CloseEvent) => {
    if (c.exitAt > 0 || stopping) return;
    c.closedEarly = ev.code;
    out({ event: "closed", i, code: ev.code, reason: ev.reason });
    hello.reject(new Error(`socket ${i} closed (${ev.code} ${ev.reason})`));
    if (counters.every((x) => x.exitAt > 0 || x.closedEarly !== null)) void stop("every socket closed");
  };
  return hello.promise;
}

/** Opens sockets to `urls` (numbered from counters.length) and waits for all their hellos. */
async function attach(urls: string[]): Promise<void> {
  const hellos = urls.map((u) => {
    const c = newCounter();
    counters.push(c);
    return open(u, c, counters.length - 1);
  });
  await Promise.race([Promise.all(hellos), Bun.sleep(READY_TIMEOUT_MS).then(() => Promise.reject(new Error("hellos: not all within the deadline")))]);
}

/** read and view: open the sockets, report when they are all attached, and when all have had output. */
async function sockets(urls: string[]): Promise<void> {
  await attach(urls);
  out({ event: "ready", n: counters.length, ms: performance.now() - t0 });
  await printing();
}

async function printing(): Promise<void> {
  // No deadline of its own: a session that prints only when told (the viewers' flood) never would.
  while (!counters.every((c) => c.frames > 0)) await Bun.sleep(10);
  out({ event: "printing", n: counters.length, ms: performance.now() - t0 });
}

/** raw-flood: this process reads N PTYs itself, as bunty's server would. */
async function rawFlood(n: number, cmd: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = newCounter();
    counters.push(c);
    const proc = Bun.spawn(["bash", "--noprofile", "--norc", "-c", cmd], {
      terminal: {
        cols: 80, rows: 24,
        data(_t, b) {
          if (c.frames++ === 0) c.firstAt = performance.now();
          c.bytes += b.byteLength;
        },
      },
    });
    closers.push(() => {
      // The whole process group (bash and its pipeline), not bash alone.
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        proc.kill("SIGKILL");
      }
      proc.terminal?.close();
    });
  }
  out({ event: "ready", n, ms: performance.now() - t0 });
  await printing();
}

async function commands(): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of Bun.stdin.stream()) {
    buf += dec.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === "count") out({ event: "count", bytes: total(), at: performance.now() - t0, cpu: cpuNow() });
      else if (line === "reset") {
        for (const c of counters) Object.assign(c, { bytes: 0, frames: 0, snapshots: 0, firstAt: 0 });
        out({ event: "reset" });
      }
      else if (line.startsWith("input ")) {
        const [, i, ...rest] = line.split(" ");
        senders[Number(i)]?.(new TextEncoder().encode(JSON.parse(rest.join(" ")) as string));
      }
    }
  }
  await stop("stdin ended");
}

// ---- the process ----

async function main(): Promise<void> {
  const [mode, ...argv] = process.argv.slice(2);
  const flag = argv.indexOf("--seconds");
  const seconds = flag >= 0 ? Number(argv.splice(flag, 2)[1]) : DEFAULT_SECONDS;
  process.on("SIGTERM", () => void stop("SIGTERM"));
  try {
    if (mode === "read") {
      const [url, n] = [argv[0]!, Number(argv[1])];
      setTimeout(() => void stop("deadline"), seconds * 1000);
      void commands();
      await sockets(Array.from({ length: n }, () => url));
    } else if (mode === "view") {
      const [url, n] = [argv[0]!, Number(argv[2])];
      setTimeout(() => void stop("deadline"), seconds * 1000);
      void commands();
      let session = argv[1]!;
      if (session === "new") {
        await attach([url]);
        session = counters[0]!.session;
      }
      const viewUrl = `${url.split("?")[0]}?session=${encodeURIComponent(session)}&mode=view&offset=0`;
      await sockets(Array.from({ length: n }, () => viewUrl));
    } else if (mode === "raw-flood") {
      const [n, cmd, secs] = [Number(argv[0]), argv[1]!, Number(argv[2])];
      setTimeout(() => void stop("deadline"), secs * 1000);
      void commands();
      await rawFlood(n, cmd);
    } else throw new Error(`unknown mode ${mode}; modes: read, view, raw-flood`);
  } catch (e) {
    process.stderr.write(`load ${mode}: ${(e as Error).message}\n`);
    out({ event: "error", message: (e as Error).message });
    await stop("error");
  }
}

// ---- the bench's side: one load process ----

/** How long the bench waits for `ready` and `printing`, and for the answer to a command or SIGTERM. */
const READY_MS = 30_000, PRINTING_MS = 20_000, ANSWER_MS = 5_000;

type Ev = { event: string; [k: string]: unknown };
/** One socket's (or PTY's) figures in the totals. */
export type Client = { bytes: number; frames: number; snapshots: number; exitCode: number | null; closedEarly: number | null; seconds: number };
export type Totals = Ev & { bytes: number; snapshots: number; cpu: number; ms: number; per: Client[] };

/** A load.ts process: its JSON events, `count`, typing; `stop()` always runs in a finally. */
export class Load {
  readonly events: Ev[] = [];
  private readonly proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  private readonly err: Promise<string>;
  constructor(args: string[], env: Record<string, string>) {
    const proc = (this.proc = track(Bun.spawn([process.execPath, import.meta.path, ...args], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" })));
    this.err = new Response(proc.stderr).text();
    void (async () => {
      let buf = "";
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout)
        for (buf += dec.decode(chunk, { stream: true }); buf.includes("\n"); buf = buf.slice(buf.indexOf("\n") + 1))
          this.events.push(JSON.parse(buf.slice(0, buf.indexOf("\n"))) as Ev);
    })().catch(() => {});
  }
  /** The first event `name` at index >= from; rejects on the load's error or exit, or at the deadline. */
  async wait<T = Ev>(name: string, ms: number, from = 0): Promise<T> {
    for (const end = performance.now() + ms; ; await Bun.sleep(10)) {
      const e = this.events.slice(from).find((x) => x.event === name || x.event === "error");
      if (e?.event === name) return e as T;
      if (e) throw new Error(`load ${name}: ${String(e.message)}`);
      if (this.proc.exitCode !== null) throw new Error(`load exited (${this.proc.exitCode}) before ${name}: ${(await this.err).trim().slice(0, 300)}`);
      if (performance.now() > end) throw new Error(`load: no ${name} within ${ms} ms`);
    }
  }
  private send(line: string) {
    try {
      this.proc.stdin.write(line + "\n");
      void this.proc.stdin.flush();
    } catch {} // it has exited: wait() says so
  }
  count(): Promise<{ bytes: number; cpu: number; at: number }> {
    const from = this.events.length;
    this.send("count");
    return this.wait("count", ANSWER_MS, from);
  }
  /**
   * Bytes its clients counted over a window of `ms`, and CPU seconds spent meanwhile: by `cpu`
   * (e.g. the server's), or without it this process's own (a bare reader's).
   */
  async window(ms: number, cpu?: () => number) {
    const c0 = cpu?.() ?? 0, a = await this.count();
    await Bun.sleep(ms);
    const c1 = cpu?.() ?? 0, b = await this.count();
    const seconds = (b.at - a.at) / 1000, mb = (b.bytes - a.bytes) / 1e6;
    const cpuS = cpu ? c1 - c0 : b.cpu - a.cpu;
    return { seconds, mbps: mb / seconds, cpuS, cpuPerMB: cpuS / mb, clientCpuS: b.cpu - a.cpu };
  }
  /** Its sockets' counts start again from 0 (bytes, frames, snapshots, the first byte's time). */
  async reset(): Promise<void> {
    const from = this.events.length;
    this.send("reset");
    await this.wait("reset", ANSWER_MS, from);
  }
  type(i: number, text: string) {
    this.send(`input ${i} ${JSON.stringify(text)}`);
  }
  /** Its totals once it ended by itself (read, view: every session it reads ended). */
  done(ms: number): Promise<Totals> {
    return this.wait<Totals>("totals", ms);
  }
  /** SIGTERM, its totals (null if none came), the process gone. */
  async stop(): Promise<Totals | null> {
    if (this.proc.exitCode === null) this.proc.kill("SIGTERM");
    const t = await this.wait<Totals>("totals", ANSWER_MS).catch(() => null);
    await stopProc(this.proc, 2000);
    return t;
  }
}

/** Starts a load and waits until every socket (or PTY) of it has printed. */
export async function printingLoad(args: string[], env: Record<string, string>): Promise<Load> {
  const load = new Load(args, env);
  try {
    await load.wait("ready", READY_MS);
    await load.wait("printing", PRINTING_MS);
    return load;
  } catch (e) {
    await load.stop();
    throw e;
  }
}

if (import.meta.main) await main();
