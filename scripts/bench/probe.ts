// The bench's client, run as a process of its own for every timed measurement, so that what it
// measures does not share a process (an event loop, a heap, a garbage collector) with the
// orchestrating bench or its health polling: like an outside client. It speaks bunty's wire and
// ttyd's through Bun's own WebSocket (the same client for both servers), and reads a raw PTY
// the same way for the baseline. Prints one JSON line on stdout; exit status 1 with a message on
// stderr when the measurement failed.
//
//   probe.ts raw CMD                          read CMD's PTY to its end
//   probe.ts read WIRE URL                    one session: every output byte until it ends
//   probe.ts echo WIRE URL|CMD N WARM         N sequential one-byte round trips ('raw': CMD is JSON argv)
//   probe.ts open WIRE URL N [SPARES]         N sequential opens: `new WebSocket` -> first screen
//   probe.ts prompt-raw ARGV_JSON N           N raw PTY spawns of a shell: spawn -> first output
//
// WIRE is bunty, ttyd or raw. docs/benchmarks.md says why the bench measures from its own process.

import { decodeServerMessage } from "../../protocol/index.ts";

const MB = 1e6;
const TIMEOUT_MS = 90_000;
const ECHO_TIMEOUT_MS = 2_000;
/** After start, time for `stty raw -echo` to take effect before the first keystroke. */
const ECHO_SETTLE_MS = 300;

type Wire = "bunty" | "ttyd";

/** One terminal connection, either wire: output bytes in, input bytes out, the end. */
interface Term {
  onOutput: (bytes: Uint8Array, at: number) => void;
  send(bytes: Uint8Array<ArrayBuffer>): void;
  /** Resolves at the first output byte's arrival time. */
  first: Promise<number>;
  /** The first thing that draws a screen: output bytes or (bunty, a warm spare's) a snapshot. */
  screen: Promise<number>;
  /** bunty: the hello's session id. */
  onHello: (session: string) => void;
  /** Resolves when the session is over: bunty's exit message, ttyd's close; with its time. */
  ended: Promise<number>;
  opened: Promise<number>;
  frames: number;
  /** bunty: snapshot messages (skips ahead instead of every byte). */
  snapshots: number;
  exitCode: number | null;
  close(): Promise<void>;
}

function connect(wire: Wire, url: string): Term {
  const ws = wire === "ttyd" ? new WebSocket(url, ["tty"]) : new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const opened = Promise.withResolvers<number>(), first = Promise.withResolvers<number>(), ended = Promise.withResolvers<number>();
  const screen = Promise.withResolvers<number>();
  const closed = Promise.withResolvers<void>();
  for (const p of [opened, first, ended, screen]) p.promise.catch(() => {});
  let gotFirst = false;
  const t: Term = {
    onOutput: () => {},
    onHello: () => {},
    first: first.promise,
    screen: screen.promise,
    ended: ended.promise,
    opened: opened.promise,
    frames: 0,
    snapshots: 0,
    exitCode: null,
    send: (bytes) => {
      if (wire === "bunty") return ws.send(bytes);
      const f = new Uint8Array(bytes.length + 1);
      f[0] = 0x30; // '0': input
      f.set(bytes, 1);
      ws.send(f);
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close(1000, "bench done");
      await Promise.race([closed.promise, Bun.sleep(3000)]);
    },
  };
  const output = (b: Uint8Array, at: number) => {
    t.frames++;
    if (!gotFirst) {
      gotFirst = true;
      first.resolve(at);
      screen.resolve(at);
    }
    t.onOutput(b, at);
  };
  ws.onopen = () => {
    const at = performance.now();
    if (wire === "ttyd") ws.send(JSON.stringify({ AuthToken: "", columns: 80, rows: 24 }));
    opened.resolve(at);
  };
  ws.onmessage = (ev: MessageEvent) => {
    const at = performance.now();
    if (wire === "ttyd") {
      const b = new Uint8Array(ev.data as ArrayBuffer);
      if (b[0] === 0x30) output(b.subarray(1), at); // '0' output; '1' title, '2' preferences
      return;
    }
    if (typeof ev.data !== "string") return output(new Uint8Array(ev.data as ArrayBuffer), at);
    const m = decodeServerMessage(ev.data);
    if (m?.type === "hello") t.onHello(m.session);
    else if (m?.type === "exit") {
      t.exitCode = m.code ?? null;
      ended.resolve(at);
    } else if (m?.type === "snapshot") {
      t.snapshots++;
      screen.resolve(at);
    }
  };
  ws.onclose = (ev: CloseEvent) => {
    const at = performance.now();
    // ttyd ends a session by dropping the connection (1006, no close frame) once the program exited.
    if (wire === "ttyd" && gotFirst) ended.resolve(at);
    const why = new Error(`socket closed (${ev.code} ${ev.reason || "no reason"})`);
    for (const p of [opened, first, ended, screen]) p.reject(why);
    closed.resolve();
  };
  return t;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const cpuOf = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

/** The baseline: this process reads the program's PTY itself, clock from spawn to exit. */
async function raw(cmd: string) {
  let bytes = 0, chunks = 0, firstAt = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const proc = Bun.spawn(["sh", "-c", cmd], {
    terminal: {
      cols: 80, rows: 24,
      data(_t, b) {
        if (chunks === 0) firstAt = performance.now();
        bytes += b.length;
        chunks++;
      },
    },
  });
  await within(proc.exited, TIMEOUT_MS, "raw PTY run");
  const end = performance.now();
  const seconds = (end - t0) / 1000, fromFirstS = (end - (firstAt || end)) / 1000;
  proc.terminal?.close();
  return { bytes, chunks, seconds, mbps: bytes / MB / seconds, fromFirstS, mbpsFromFirst: bytes / MB / fromFirstS, clientCpu: cpuOf(c0) };
}

/** One session of a server that runs the workload: clock from the socket's open to the session's end. */
async function read(wire: Wire, url: string) {
  const t = connect(wire, url);
  let bytes = 0;
  t.onOutput = (b) => (bytes += b.byteLength);
  t.onHello = (session) => process.stdout.write(JSON.stringify({ event: "hello", session }) + "\n");
  const c0 = process.cpuUsage();
  const opened = await within(t.opened, 10_000, "socket open");
  const end = await within(t.ended, TIMEOUT_MS, "end of the session").catch((e) => {
    throw new Error(`${(e as Error).message} after ${bytes} bytes`);
  });
  const seconds = (end - opened) / 1000;
  const clientCpu = cpuOf(c0);
  const first = await t.first.catch(() => end);
  await t.close();
  if (wire === "bunty" && t.exitCode !== 0) throw new Error(`program exited with ${t.exitCode}`);
  /** From the first output byte (for programs that sleep before they print, and for viewers). */
  const fromFirstS = (end - first) / 1000;
  return { bytes, chunks: t.frames, seconds, mbps: bytes / MB / seconds, fromFirstS, mbpsFromFirst: bytes / MB / fromFirstS, clientCpu, snapshots: t.snapshots };
}

/** A terminal that echoes what it is sent (`stty raw -echo; exec cat`), through a server or on a raw PTY. */
interface Echo {
  send(b: Uint8Array<ArrayBuffer>): void;
  onOutput: (b: Uint8Array) => void;
  close(): Promise<void>;
}

async function echoTerm(wire: Wire | "raw", target: string): Promise<Echo> {
  if (wire === "raw") {
    const e: Echo = { send: (b) => proc.terminal!.write(b), onOutput: () => {}, close: async () => void proc.terminal?.close() };
    const proc = Bun.spawn(JSON.parse(target) as string[], { terminal: { cols: 80, rows: 24, data: (_t, b) => e.onOutput(b) } });
    return e;
  }
  const t = connect(wire, target);
  await within(t.opened, 10_000, "socket open");
  const e: Echo = { send: (b) => t.send(b), onOutput: () => {}, close: () => t.close() };
  t.onOutput = (b) => e.onOutput(b);
  return e;
}

/** One byte at a time; the next only after the previous came back. Returns milliseconds per round trip. */
async function echo(wire: Wire | "raw", target: string, n: number, warm: number) {
  const term = await echoTerm(wire, target);
  await Bun.sleep(ECHO_SETTLE_MS);
  let got = 0, want = 0, mismatches = 0, lastByte = 0;
  let waiter: (() => void) | null = null;
  term.onOutput = (b) => {
    got += b.byteLength;
    if (b[b.byteLength - 1] !== lastByte) mismatches++;
    if (waiter && got >= want) waiter();
  };
  const one = new Uint8Array(1);
  const times: number[] = [];
  for (let i = 0; i < warm + n; i++) {
    lastByte = one[0] = 97 + (i % 26);
    want = got + 1;
    const back = new Promise<void>((r) => (waiter = r));
    const t0 = performance.now();
    term.send(one);
    await within(back, ECHO_TIMEOUT_MS, `echo of keystroke ${i + 1}`);
    const ms = performance.now() - t0;
    waiter = null;
    if (i >= warm) times.push(ms);
  }
  await term.close();
  return { times, mismatches };
}

/**
 * Sequential opens: `new WebSocket` -> the first screen (the prompt's first byte; or a warm
 * spare's snapshot, which already shows the prompt), then close. Between samples, a bunty server
 * is given time to end the session and to have `spares` warm spares again (GET /api/health);
 * ttyd ends its shell by itself. The first open of the block warms this process up and is not counted.
 */
async function open(wire: Wire, url: string, n: number, spares: number) {
  const times: number[] = [];
  let firstFrame = "";
  const health = url.replace(/^ws/, "http").replace(/\/ws(\?.*)?$/, "/api/health");
  const settled = async () => {
    const until = performance.now() + 10_000;
    while (performance.now() < until) {
      const h = (await (await fetch(health, { signal: AbortSignal.timeout(3000) })).json()) as { sessions: number; ending?: number; spares?: number };
      if (h.sessions === 0 && (h.ending ?? 0) === 0 && (h.spares ?? 0) >= spares) return;
      await Bun.sleep(10);
    }
    throw new Error(`the server did not settle (0 sessions, ${spares} spares) within 10 s`);
  };
  for (let i = 0; i <= n; i++) {
    if (wire === "bunty") await settled();
    else await Bun.sleep(50);
    const t0 = performance.now();
    const t = connect(wire, url);
    let text = "";
    t.onOutput = (b) => {
      if (!text) text = new TextDecoder().decode(b).slice(0, 60);
    };
    const at = await within(t.screen, 10_000, "first screen");
    if (i > 0) times.push(at - t0);
    if (i === 1) firstFrame = text;
    await t.close();
  }
  return { times, firstFrame };
}

/** The raw PTY's floor for `open`: spawn the shell, time to its first output, close; `n` times (after one not counted). */
async function promptRaw(argv: string[], n: number) {
  const times: number[] = [];
  for (let i = 0; i <= n; i++) {
    const first = Promise.withResolvers<number>();
    const t0 = performance.now();
    const proc = Bun.spawn(argv, { terminal: { cols: 80, rows: 24, data: () => first.resolve(performance.now()) } });
    const at = await within(first.promise, 10_000, "raw PTY first output");
    if (i > 0) times.push(at - t0);
    proc.terminal?.close();
    await within(proc.exited, 3000, "raw shell exit").catch(() => proc.kill("SIGKILL"));
    await Bun.sleep(20);
  }
  return { times, firstFrame: "" };
}

const [mode, ...args] = process.argv.slice(2);
try {
  const wire = args[0] as Wire | "raw";
  const result =
    mode === "raw" ? await raw(args[0]!)
    : mode === "read" ? await read(wire as Wire, args[1]!)
    : mode === "echo" ? await echo(wire, args[1]!, Number(args[2]), Number(args[3]))
    : mode === "open" ? await open(wire as Wire, args[1]!, Number(args[2]), Number(args[3] ?? 0))
    : mode === "prompt-raw" ? await promptRaw(JSON.parse(args[0]!) as string[], Number(args[1]))
    : (() => { throw new Error(`unknown mode ${mode}`); })();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (e) {
  process.stderr.write(`probe ${mode}: ${(e as Error).message}\n`);
  process.exit(1);
}
