// Latency benchmarks: keystroke echo and WebSocket-open-to-first-prompt-byte, each next to the
// same thing done on a raw PTY in the bench process (the floor bunty cannot beat), interleaved.

import { connect } from "./client.ts";
import { FIRST_OUTPUT_TIMEOUT_MS, waitSessionsZero } from "./measures.ts";
import { stopProc, track, type Server } from "./procs.ts";
import { deadline, max, median, percentile, sleep } from "./util.ts";

/** How long one keystroke may take to come back. */
const ECHO_TIMEOUT_MS = 2_000;
/** After start, time for `stty raw -echo` to take effect before the first keystroke. */
const ECHO_SETTLE_MS = 300;
/** Alternating blocks of echo samples (bunty, raw, bunty, ...), so load drift hits both alike. */
const ECHO_BLOCKS = 4;

export interface Stats {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function stats(xs: number[]): Stats {
  return { samples: xs.length, p50: median(xs), p95: percentile(xs, 95), p99: percentile(xs, 99), max: max(xs) };
}

// ---- keystroke echo ----

/** A byte-echoing terminal: send one byte, resolve when it came back. */
interface Echoer {
  roundTrip(byte: number): Promise<number>;
  mismatches(): number;
  close(): Promise<void>;
}

/** Counts echoed bytes; `expect` returns a promise for the n-th byte since `reset`. */
function echoCounter() {
  let total = 0, base = 0, sent = 0, last = -1, lastSent = -1, bad = 0;
  let waiter: { need: number; resolve: () => void } | null = null;
  return {
    onBytes(b: Uint8Array) {
      total += b.byteLength;
      last = b[b.byteLength - 1]!;
      if (waiter && total >= waiter.need) {
        const w = waiter;
        waiter = null;
        if (last !== lastSent || total !== w.need) bad++;
        w.resolve();
      }
    },
    /** Forget whatever arrived before the first keystroke (normally nothing). */
    reset() {
      base = total;
      sent = 0;
    },
    expect(byte: number): Promise<void> {
      const { promise, resolve } = Promise.withResolvers<void>();
      lastSent = byte;
      waiter = { need: base + ++sent, resolve };
      return deadline(promise, ECHO_TIMEOUT_MS, `echo of keystroke ${sent}`);
    },
    mismatches: () => bad,
  };
}

async function buntyEchoer(server: Server): Promise<Echoer> {
  const conn = connect(server.wsUrl);
  const counter = echoCounter();
  conn.onBytes = counter.onBytes;
  try {
    await deadline(conn.hello, FIRST_OUTPUT_TIMEOUT_MS, "hello");
  } catch (e) {
    await conn.close();
    throw e;
  }
  await sleep(ECHO_SETTLE_MS);
  counter.reset();
  const one = new Uint8Array(1);
  return {
    async roundTrip(byte) {
      one[0] = byte;
      const got = counter.expect(byte);
      const t0 = performance.now();
      conn.ws.send(one);
      await got;
      return performance.now() - t0;
    },
    mismatches: counter.mismatches,
    async close() {
      await conn.close();
    },
  };
}

async function rawEchoer(cmd: string[], env: Record<string, string>): Promise<Echoer> {
  const counter = echoCounter();
  const proc = track(Bun.spawn(cmd, { env, terminal: { cols: 80, rows: 24, data: (_t, b) => counter.onBytes(b) } }));
  await sleep(ECHO_SETTLE_MS);
  counter.reset();
  const one = new Uint8Array(1);
  return {
    async roundTrip(byte) {
      one[0] = byte;
      const got = counter.expect(byte);
      const t0 = performance.now();
      proc.terminal!.write(one);
      await got;
      return performance.now() - t0;
    },
    mismatches: counter.mismatches,
    async close() {
      await closeRaw(proc);
    },
  };
}

/** Closes a raw PTY child (SIGHUP from the kernel) and makes sure it is gone. */
async function closeRaw(proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  try {
    proc.terminal?.close();
  } catch {}
  await deadline(proc.exited, 2000, "raw PTY child exit").catch(() => stopProc(proc, 500));
}

export interface EchoResult {
  bunty: Stats & { mismatches: number };
  raw: Stats & { mismatches: number };
}

/**
 * Server runs `cmd` (`stty raw -echo; exec cat`); the raw baseline runs the same `cmd` on a PTY
 * of our own. One byte at a time; the next only after the previous came back.
 */
export async function echoLatency(server: Server, cmd: string[], env: Record<string, string>, warmup: number, samples: number): Promise<EchoResult> {
  const bunty = await buntyEchoer(server);
  let raw: Echoer | null = null;
  try {
    raw = await rawEchoer(cmd, env);
    const times = { bunty: [] as number[], raw: [] as number[] };
    let i = 0;
    for (const e of [bunty, raw]) for (let w = 0; w < warmup; w++) await e.roundTrip(97 + (i++ % 26));
    const perBlock = Math.ceil(samples / ECHO_BLOCKS);
    for (let b = 0; b < ECHO_BLOCKS * 2; b++) {
      const [name, e] = b % 2 === 0 ? (["bunty", bunty] as const) : (["raw", raw] as const);
      for (let k = 0; k < perBlock && times[name].length < samples; k++) times[name].push(await e.roundTrip(97 + (i++ % 26)));
    }
    return { bunty: { ...stats(times.bunty), mismatches: bunty.mismatches() }, raw: { ...stats(times.raw), mismatches: raw.mismatches() } };
  } finally {
    await bunty.close();
    await raw?.close();
  }
}

// ---- open to first prompt byte ----

export interface OpenResult {
  /** `new WebSocket` -> first binary frame. */
  bunty: Stats;
  /** `new WebSocket` -> hello text frame. */
  hello: Stats;
  /** Raw PTY: Bun.spawn -> first output, same shell, same environment. */
  raw: Stats;
  /** First frame of the first sample, as text (to check it is the prompt). */
  firstFrame: string;
  /** Samples after which the server still reported sessions 5 s after the socket closed. */
  lingering: number;
}

async function rawPrompt(cmd: string[], env: Record<string, string>): Promise<number> {
  const { promise, resolve } = Promise.withResolvers<number>();
  const t0 = performance.now();
  const proc = track(Bun.spawn(cmd, { env, terminal: { cols: 80, rows: 24, data: () => resolve(performance.now()) } }));
  try {
    return (await deadline(promise, FIRST_OUTPUT_TIMEOUT_MS, "raw PTY first output")) - t0;
  } finally {
    await closeRaw(proc);
  }
}

/**
 * Server runs an interactive shell `cmd` with `env`. Sequential: each socket is closed and its
 * session gone before the next; a raw PTY sample follows each bunty sample.
 */
export async function openToPrompt(server: Server, cmd: string[], env: Record<string, string>, samples: number): Promise<OpenResult> {
  const prompt: number[] = [], hello: number[] = [], raw: number[] = [];
  let firstFrame = "";
  let lingering = 0;
  for (let i = 0; i < samples; i++) {
    const conn = connect(server.wsUrl);
    try {
      const out = await deadline(conn.firstOutput, FIRST_OUTPUT_TIMEOUT_MS, "first output");
      const h = await deadline(conn.hello, 1000, "hello");
      prompt.push(out.at - conn.t0);
      hello.push(h.at - conn.t0);
      if (i === 0) firstFrame = new TextDecoder().decode(out.bytes).slice(0, 60);
    } finally {
      await conn.close();
    }
    if ((await waitSessionsZero(server, 5000)) === null) lingering++;
    await sleep(20);
    raw.push(await rawPrompt(cmd, env));
    await sleep(20);
  }
  return { bunty: stats(prompt), hello: stats(hello), raw: stats(raw), firstFrame, lingering };
}
