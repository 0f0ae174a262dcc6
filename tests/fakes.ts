// Stand-ins for what the session core talks to, for in-process tests in milliseconds: a PTY the
// test feeds and reads, a client whose socket queue the test controls, screen models whose
// snapshots the test decides, and a reaper. The real ones are tested against real shells
// elsewhere; these make the core's own rules (roles, watermarks, holds, lifetimes) quick to pin.

import type { ServerMessage, SnapshotMessage } from "../protocol/index.ts";
import type { Pty, PtyExit, PtyOptions } from "../server/core/pty.ts";
import type { ReapResult } from "../server/core/reap.ts";
import { Session, type Client, type Screens } from "../server/core/session.ts";

let nextPid = 100_000;

export class FakePty implements Pty {
  readonly pid = nextPid++;
  readonly written: Uint8Array[] = [];
  readonly sizes: [number, number][] = [];
  pendingInput = 0;
  outputPaused = false;
  closed = false;
  hasExited = false;
  readonly exited: Promise<PtyExit>;
  private settle!: (e: PtyExit) => void;
  constructor(readonly opts: PtyOptions) {
    this.exited = new Promise((r) => (this.settle = r));
  }
  /** The program writes. */
  emit(bytes: Uint8Array | string): void {
    this.opts.onData(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }
  /** The program exits. */
  exit(code: number | null = 0, signal: string | null = null): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.settle({ code, signal });
  }
  write(bytes: Uint8Array | string): void {
    this.written.push(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }
  resize(cols: number, rows: number): void {
    this.sizes.push([cols, rows]);
  }
  pauseOutput(paused: boolean): void {
    this.outputPaused = paused;
  }
  /** The program's termios input modes; tests change them as a program would. */
  mode: { echo: boolean; canonical: boolean } = { echo: true, canonical: true };
  modes() {
    return this.closed ? null : { ...this.mode };
  }
  signal(): void {}
  close(): void {
    this.closed = true;
  }
  /** Everything the program was sent, as text. */
  input(): string {
    return new TextDecoder().decode(Buffer.concat(this.written));
  }
}

/** A spawner that keeps every FakePty it made, and a reaper that makes them exit. */
export function fakeTerminals() {
  const ptys: FakePty[] = [];
  return {
    ptys,
    spawn: (o: PtyOptions) => {
      const p = new FakePty(o);
      ptys.push(p);
      return p;
    },
    reap: async (pid: number): Promise<ReapResult> => {
      ptys.find((p) => p.pid === pid)?.exit(null, "SIGHUP");
      return { hup: 1, term: 0, kill: 0, survivors: 0 };
    },
  };
}

export class FakeClient implements Client {
  readonly output: Uint8Array[] = [];
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  /** What the socket has queued and not written; the test sets it to play a slow or a stalled reader. */
  queued = 0;
  /** Every frame sent counts into `queued` (a reader that does not read) when true. */
  stalled = false;
  inputPaused = false;
  sendOutput(bytes: Uint8Array): number {
    if (this.closed) return 0;
    this.output.push(bytes);
    if (this.stalled) this.queued += bytes.length;
    return bytes.length;
  }
  sendControl(message: ServerMessage): void {
    this.messages.push(message);
  }
  bufferedAmount(): number {
    return this.queued;
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
  pauseInput(): void {
    this.inputPaused = true;
  }
  resumeInput(): void {
    this.inputPaused = false;
  }
  bytes(): number {
    return this.output.reduce((n, b) => n + b.length, 0);
  }
  text(): string {
    return new TextDecoder().decode(Buffer.concat(this.output));
  }
  last<T extends ServerMessage["type"]>(type: T): Extract<ServerMessage, { type: T }> | undefined {
    return this.messages.findLast((m) => m.type === type) as Extract<ServerMessage, { type: T }> | undefined;
  }
}

/** Screen models that answer snapshots with what the test says (or with a default screen at the log's end). */
export class FakeScreens implements Screens {
  readonly logs = new Map<string, { end: number }>();
  snapshots = 0;
  answer: ((id: string) => Omit<SnapshotMessage, "type"> | null) | null = null;
  create(id: string, _cols: number, _rows: number, log?: { end: number }): void {
    if (log) this.logs.set(id, log);
  }
  resize(): void {}
  dispose(id: string): void {
    this.logs.delete(id);
  }
  async snapshot(id: string): Promise<Omit<SnapshotMessage, "type"> | null> {
    this.snapshots++;
    if (this.answer) return this.answer(id);
    const end = this.logs.get(id)?.end ?? 0;
    return { data: "\x1b[H\x1b[2JSCREEN", offset: end, cols: 80, rows: 24 };
  }
}

export const noLog = () => {};

/** Lets timers and promises queued so far run (a catch-up settling, say). */
export const tick = () => new Promise((r) => setTimeout(r, 0));
/** `n` bytes of `c`, as a program's output chunk. */
export const chunk = (n: number, c = "y") => new TextEncoder().encode(c.repeat(n));

/** A session on a FakePty with FakeScreens; `ended` collects it once it ends. */
export function fakeSession(graceMs = 60_000) {
  const t = fakeTerminals();
  const screens = new FakeScreens();
  const ended: Session[] = [];
  const s = new Session({
    id: "s1", command: ["fake"], env: {}, cols: 80, rows: 24, screen: screens, graceMs, spawn: t.spawn, reap: t.reap,
    onEnded: (x) => ended.push(x), log: noLog,
  });
  return { s, pty: t.ptys[0]!, screens, ended };
}

/** A session with one browser (a client that acks) as its writer, attached and settled. */
export async function browserSession() {
  const x = fakeSession();
  const browser = new FakeClient();
  x.s.attach(browser, { mode: "write", fresh: true });
  await tick(); // the attach's catch-up settles
  x.s.ack(browser, 0); // it acks: from now on unacked bytes count
  return { ...x, browser };
}
