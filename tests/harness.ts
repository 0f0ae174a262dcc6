// Test harness: starts a real bunty server (a separate process on port 0) and drives it with
// real WebSockets. Shells run in a controlled environment (no rc files, HOME in a temp dir).

import { mkdtempSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeServerMessage, encodeMessage, type ClientMessage, type ServerMessage } from "../protocol/index.ts";

export const ROOT = join(import.meta.dir, "..");
export const BUN = process.execPath;
/** A shell that starts fast and prints a recognisable prompt. */
export const SHELL = ["bash", "--noprofile", "--norc", "-i"];
export const PROMPT = "$ ";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` until true or `ms` passes; returns its last value. */
export async function until<T>(pred: () => T | Promise<T>, ms: number, every = 20): Promise<T> {
  const end = Date.now() + ms;
  let v = await pred();
  while (!v && Date.now() < end) {
    await sleep(every);
    v = await pred();
  }
  return v;
}

export interface TestServer {
  url: URL;
  origin: string;
  pid: number;
  proc: ReturnType<typeof Bun.spawn>;
  /** A random value in every child's environment: finds the server's descendants, orphans included. */
  mark: string;
  /** The access token from the URL line (null with --no-token). */
  token: string | null;
  /** Headers that authenticate a non-browser client. */
  auth: Record<string, string>;
  output(): string;
  /** What the server wrote to stderr alone (its log lines). */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
  health(ms?: number): Promise<any>;
  /** Whether no session is live or still being ended (its processes reaped). */
  idle(): Promise<boolean>;
}

export async function startServer(opts: { args?: string[]; command?: string[]; cwd?: string; bin?: string[] } = {}): Promise<TestServer> {
  const mark = `bunty-test-${crypto.randomUUID()}`;
  const home = mkdtempSync(join(tmpdir(), "bunty-home-"));
  const cmd = [...(opts.bin ?? [BUN, join(ROOT, "server/main.ts")]), "--port", "0", "--log-level", "warn", "--env", `BUNTY_TEST_MARK=${mark}`, ...(opts.args ?? []), "--", ...(opts.command ?? SHELL)];
  // In a session of its own, as a service runs (systemd, a container): the server then leads its
  // session, its scheduling group is its own (server/core/sched.ts), and a test's Ctrl-C is not its.
  // `setsid` execs in place here (a Bun child is not a process-group leader), so the pid is the server's.
  const proc = Bun.spawn(["setsid", ...cmd], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH!, HOME: home, SHELL: "/bin/bash", PS1: PROMPT, LANG: "C.UTF-8" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const drain = async (s: ReadableStream<Uint8Array>, isErr: boolean) => {
    const dec = new TextDecoder();
    for await (const c of s) {
      const text = dec.decode(c, { stream: true });
      out += text;
      if (isErr) err += text;
    }
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>, false);
  void drain(proc.stderr as ReadableStream<Uint8Array>, true);
  const m = await until(() => out.match(/ at (https?:\/\/\S+)/), 10_000);
  if (!m) {
    proc.kill("SIGKILL");
    throw new Error(`server printed no URL line:\n${out}`);
  }
  const printed = new URL(m[1]!);
  const token = printed.searchParams.get("token");
  const url = new URL(printed.pathname, printed);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    url,
    origin: url.origin,
    pid: proc.pid,
    proc,
    mark,
    token,
    auth,
    output: () => out,
    stderr: () => err,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 8000);
      await proc.exited;
      clearTimeout(t);
      return proc.exitCode ?? -1;
    },
    async health(ms = 2000) {
      const r = await fetch(new URL("/api/health", url), { headers: auth, signal: AbortSignal.timeout(ms) });
      return r.json();
    },
    async idle() {
      const r = await fetch(new URL("/api/health", url), { headers: auth, signal: AbortSignal.timeout(2000) });
      const h = await r.json();
      return h.sessions === 0 && h.ending === 0;
    },
  };
}

/** Pids of live processes carrying the server's mark (its sessions' processes, orphans included). */
export async function markedProcesses(mark: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    const pid = Number(name);
    if (!pid) continue;
    try {
      const [env, stat] = await Promise.all([readFile(`/proc/${pid}/environ`, "latin1"), readFile(`/proc/${pid}/stat`, "latin1")]);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && env.includes(`BUNTY_TEST_MARK=${mark}`)) found.push(pid);
    } catch {}
  }
  return found;
}

/** How many of a process's fds are PTY masters or slaves. */
export async function ptyFds(pid: number): Promise<number> {
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (target === "/dev/ptmx" || target.startsWith("/dev/pts/")) n++;
  }
  return n;
}

/** A WebSocket client that records everything it receives. */
export class TestClient {
  readonly ws: WebSocket;
  text = "";
  bytes = 0;
  /** The absolute output offset of the next byte, per the protocol (hello / snapshot / bytes received). */
  offset = 0;
  /** Every binary frame and snapshot, in order, when recording. */
  readonly events: ({ bytes: Uint8Array } | { snapshot: string })[] = [];
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private readonly dec = new TextDecoder();

  constructor(server: TestServer, query = "", headers: Record<string, string> = {}, readonly record = false) {
    const u = new URL(`/ws${query}`, server.url);
    u.protocol = "ws:";
    this.ws = new WebSocket(u.href, { headers: { Origin: server.origin, ...server.auth, ...headers } } as any);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const m = decodeServerMessage(e.data);
        if (m) this.messages.push(m);
        if (m?.type === "hello") this.offset = m.offset;
        if (m?.type === "snapshot") {
          this.offset = m.offset;
          if (this.record) this.events.push({ snapshot: m.data });
        }
      } else {
        this.bytes += (e.data as ArrayBuffer).byteLength;
        this.offset += (e.data as ArrayBuffer).byteLength;
        if (this.record) this.events.push({ bytes: new Uint8Array(e.data as ArrayBuffer) });
        this.text += this.dec.decode(new Uint8Array(e.data as ArrayBuffer), { stream: true });
        if (this.text.length > 1 << 20) this.text = this.text.slice(-(1 << 19)); // keep the tail of floods
      }
    };
    this.ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
  }

  static async open(server: TestServer, query = "", record = false): Promise<TestClient> {
    const c = new TestClient(server, query, {}, record);
    if (!(await until(() => c.hello(), 10_000))) throw new Error(`no hello; closed=${JSON.stringify(c.closed)}`);
    return c;
  }

  hello() {
    return this.messages.find((m) => m.type === "hello") as Extract<ServerMessage, { type: "hello" }> | undefined;
  }
  find<T extends ServerMessage["type"]>(type: T) {
    return this.messages.find((m) => m.type === type) as Extract<ServerMessage, { type: T }> | undefined;
  }
  /** Output with escape sequences and carriage returns removed. */
  plain(): string {
    return this.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\x1b\][^\x07]*\x07/g, "").replace(/\r/g, "");
  }
  type(s: string) {
    this.ws.send(new TextEncoder().encode(s));
  }
  control(m: ClientMessage | unknown) {
    this.ws.send(typeof m === "string" ? m : encodeMessage(m as ClientMessage));
  }
  async waitFor(re: RegExp, ms = 5000): Promise<boolean> {
    return !!(await until(() => re.test(this.plain()), ms));
  }
  async waitClosed(ms = 5000) {
    return await until(() => this.closed, ms);
  }
  close() {
    this.ws.close();
  }
  /** All recorded terminal bytes, concatenated (snapshots excluded). */
  recordedBytes(): Uint8Array {
    return Buffer.concat(this.events.flatMap((e) => ("bytes" in e ? [e.bytes] : [])));
  }
  /** The screen this client would show: its recorded stream replayed into a headless xterm. */
  async screen(cols = 80, rows = 24): Promise<string[]> {
    return replay(this.events, cols, rows);
  }
}

/** Replays snapshots and bytes into a headless terminal; returns the visible lines, right-trimmed. */
export async function replay(events: ({ bytes: Uint8Array } | { snapshot: string })[], cols: number, rows: number): Promise<string[]> {
  const { Terminal } = await import("@xterm/headless");
  const term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 1000 });
  const write = (d: string | Uint8Array) => new Promise<void>((r) => term.write(d, r));
  for (const e of events) {
    if ("snapshot" in e) {
      term.reset();
      await write(e.snapshot);
    } else await write(e.bytes);
  }
  const b = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < rows; y++) lines.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? "");
  term.dispose();
  return lines;
}
