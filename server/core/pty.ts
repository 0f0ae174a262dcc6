// The PTY adapter: the only module that calls Bun.spawn({ terminal }). Knows nothing of
// sockets, sessions or clients; exposes a process on a pseudo-terminal and a few verbs.
// node-pty does not work under Bun 1.4 (docs/architecture.md); another backend would
// implement the same `Pty` shape.
//
// Bun's PTY has no read pause (oven-sh/bun#41410), but a terminal has always had one: output flow
// control, what Ctrl-S does (tcflow TCOOFF on the terminal, the slave side). While it is on, the
// kernel holds the program's output and the program blocks in write(); input, signals (Ctrl-C)
// and resizes still get through. We open our own descriptor of the slave for it and call
// tcflow(3) through bun:ffi. Where that is not available (no glibc, not Linux), pauseOutput is a
// no-op and `canPause` says so.

import { constants } from "node:fs";
import { open, readlink, type FileHandle } from "node:fs/promises";

export interface PtyOptions {
  command: string[];
  cwd?: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Every chunk the program writes, in order. Called as fast as the program writes: Bun's PTY has no read pause. */
  onData(bytes: Uint8Array): void;
  /** Input queued by `write` has been flushed to the PTY. */
  onDrain?(): void;
}

export interface PtyExit {
  code: number | null;
  signal: string | null;
}

export interface Pty {
  readonly pid: number;
  /** Bytes handed to `write` and not yet flushed to the PTY (an upper estimate). */
  readonly pendingInput: number;
  /** Resolves once the program has exited and been reaped. */
  readonly exited: Promise<PtyExit>;
  readonly hasExited: boolean;
  write(bytes: Uint8Array | string): void;
  resize(cols: number, rows: number): void;
  /** Holds (true) or releases the program's output (tcflow on the terminal): the program waits in write() meanwhile. Idempotent. */
  pauseOutput(paused: boolean): void;
  /** Whether the output is held right now (as asked; takes effect once the terminal's descriptor is open). */
  readonly outputPaused: boolean;
  /** The terminal's input modes as the program set them (termios ECHO, ICANON); null once closed or where unknown. */
  modes(): { echo: boolean; canonical: boolean } | null;
  signal(sig: NodeJS.Signals): void;
  /** Closes the PTY master (idempotent). A live program gets SIGHUP from the kernel. */
  close(): void;
}

export class SpawnError extends Error {
  override name = "SpawnError";
}

/** c_lflag bits on Linux (<asm-generic/termbits.h>); other systems number them differently, and modes() answers null there. */
const ECHO = 0o10, ICANON = 0o2;
const LINUX = process.platform === "linux";
/** tcflow(3) actions (Linux, glibc and musl). */
const TCOOFF = 0, TCOON = 1;
type Tcflow = (fd: number, action: number) => number;
let tcflowFn: Tcflow | null | undefined;
/** libc's tcflow through bun:ffi, or null where it cannot be had. Loaded once, on first use. */
function tcflow(): Tcflow | null {
  if (tcflowFn !== undefined) return tcflowFn;
  tcflowFn = null;
  if (process.platform !== "linux") return null;
  for (const lib of ["libc.so.6", "libc.so"]) {
    try {
      const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
      const libc = dlopen(lib, { tcflow: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
      tcflowFn = (fd, action) => libc.symbols.tcflow(fd, action);
      break;
    } catch {}
  }
  return tcflowFn;
}
/** Whether output pauses work on this system. */
export const canPause = (): boolean => tcflow() !== null;

/**
 * Our own descriptor of the program's terminal (the slave), for tcflow: its name from the
 * program's stdin, opened without becoming our controlling terminal. Null when it cannot be had.
 */
async function openSlave(pid: number): Promise<FileHandle | null> {
  try {
    const path = await readlink(`/proc/${pid}/fd/0`);
    if (!path.startsWith("/dev/pts/")) return null;
    return await open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
}

export function spawnPty(opts: PtyOptions): Pty {
  let pendingInput = 0;
  let closed = false;
  /** The output pause asked for, and the one in force on the terminal. */
  let wantPaused = false, isPaused = false;
  let slave: FileHandle | null = null;
  let exitInfo: PtyExit | null = null;
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(opts.command, {
      cwd: opts.cwd,
      env: opts.env,
      terminal: {
        cols: opts.cols,
        rows: opts.rows,
        name: opts.env.TERM,
        data: (_t, bytes) => opts.onData(bytes),
        drain: () => {
          pendingInput = 0;
          opts.onDrain?.();
        },
      },
    });
  } catch (e) {
    throw new SpawnError(`cannot start ${JSON.stringify(opts.command[0])}: ${(e as Error).message}`);
  }
  const term = proc.terminal!;
  const applyPause = () => {
    if (closed || !slave || wantPaused === isPaused) return;
    if (tcflow()!(slave.fd, wantPaused ? TCOOFF : TCOON) === 0) isPaused = wantPaused;
  };
  // Opened at once, off the event loop: a pause is wanted when a flood starts, and then it must act
  // at once (an open queued behind other file-system work let floods run on for hundreds of ms).
  if (tcflow())
    void openSlave(proc.pid).then((fh) => {
      if (closed) return void fh?.close().catch(() => {});
      slave = fh;
      applyPause();
    });
  const exited = proc.exited.then((): PtyExit => {
    const info: PtyExit = { code: proc.signalCode ? null : proc.exitCode, signal: proc.signalCode ? String(proc.signalCode) : null };
    exitInfo = info;
    return info;
  });
  return {
    pid: proc.pid,
    get pendingInput() {
      return pendingInput;
    },
    exited,
    get hasExited() {
      return exitInfo !== null;
    },
    write(bytes) {
      if (closed) return;
      pendingInput += term.write(bytes);
    },
    resize(cols, rows) {
      if (!closed) term.resize(cols, rows);
    },
    get outputPaused() {
      return wantPaused;
    },
    modes() {
      if (closed || !LINUX) return null;
      const f = term.localFlags; // tcgetattr on the master: the slave's termios, on Linux (about 1 µs)
      return typeof f === "number" && f !== 0 ? { echo: (f & ECHO) !== 0, canonical: (f & ICANON) !== 0 } : null;
    },
    pauseOutput(paused) {
      if (closed || paused === wantPaused || !tcflow()) return;
      wantPaused = paused;
      applyPause(); // or once the descriptor is open
    },
    signal(sig) {
      if (exitInfo) return;
      try {
        proc.kill(sig);
      } catch {}
    },
    close() {
      if (closed) return;
      if (isPaused && slave) tcflow()!(slave.fd, TCOON); // nothing may stay blocked on a terminal we let go of
      closed = true;
      void slave?.close().catch(() => {});
      slave = null;
      try {
        term.close();
      } catch {}
    },
  };
}
