// The PTY adapter: the only module that calls Bun.spawn({ terminal }). Knows nothing of
// sockets, sessions or clients; exposes a process on a pseudo-terminal and a few verbs.
// node-pty does not work under Bun 1.4 (docs/architecture.md); another backend would
// implement the same `Pty` shape.

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
  signal(sig: NodeJS.Signals): void;
  /** Closes the PTY master (idempotent). A live program gets SIGHUP from the kernel. */
  close(): void;
}

export class SpawnError extends Error {
  override name = "SpawnError";
}

export function spawnPty(opts: PtyOptions): Pty {
  let pendingInput = 0;
  let closed = false;
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
    signal(sig) {
      if (exitInfo) return;
      try {
        proc.kill(sig);
      } catch {}
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        term.close();
      } catch {}
    },
  };
}
