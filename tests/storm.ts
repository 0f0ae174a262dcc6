// Abrupt disconnects of every kind a flaky network, a proxy restart, a careless script or a hostile
// client produces, on raw TCP sockets. Shared by the storm tests (tests/*storm*.test.ts).

import { until } from "./harness.ts";
import { RawWs } from "./rawws.ts";

export type Kind = (port: number, token: string | null) => Promise<void>;

const enc = new TextEncoder();
const opened = async (port: number, token: string | null) => {
  const w = new RawWs(port);
  await w.connected();
  w.sock.write(RawWs.request(port, "/ws", undefined, token));
  return w;
};
/** The first output frame (the prompt) arrived, or the socket ended. */
const prompted = (w: RawWs) => until(() => w.opcodes.includes(2) || w.ended, 5000, 2);

export const KINDS: Record<string, Kind> = {
  async "reset during the HTTP upgrade"(port, token) {
    const w = new RawWs(port);
    await w.connected();
    const r = RawWs.request(port, "/ws", undefined, token);
    w.sock.write(r.slice(0, r.length >> 1));
    await Bun.sleep(Math.random() * 5);
    w.reset();
  },
  async "reset right after the 101, while the shell starts"(port, token) {
    const w = await opened(port, token);
    await until(() => w.upgraded || w.ended, 5000, 1);
    w.reset();
  },
  async "reset right after the first prompt"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.reset();
  },
  async "reset after starting a job that ignores HUP, TERM and INT"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.sendBinary(enc.encode("trap '' HUP TERM INT; sleep 1000\r"));
    await Bun.sleep(30);
    w.reset();
  },
  async "garbage bytes instead of frames, then a reset"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.sock.write(crypto.getRandomValues(new Uint8Array(64)));
    await Bun.sleep(5);
    w.reset();
  },
  async "reset while yes floods output"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.sendBinary(enc.encode("yes\r"));
    await until(() => w.received > 256 * 1024 || w.ended, 5000, 2);
    w.reset();
  },
  async "reset while head | tr floods output"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.sendBinary(enc.encode("head -c 2000000000 /dev/zero | tr '\\0' a\r"));
    await until(() => w.received > 256 * 1024 || w.ended, 5000, 2);
    w.reset();
  },
  async "close without a close frame"(port, token) {
    const w = await opened(port, token);
    await prompted(w);
    w.hangUp();
    await until(() => w.ended, 5000, 5);
    w.sock.destroy();
  },
};

/** Runs `perKind` disconnects of every kind (or of the kinds matching `only`), `concurrency` at a time, kinds interleaved. Resolves when all are done. */
export async function storm(port: number, token: string | null, perKind: number, concurrency: number, only?: RegExp): Promise<number> {
  const kinds = Object.entries(KINDS).filter(([name]) => !only || only.test(name)).map(([, k]) => k);
  const jobs: Kind[] = [];
  for (let i = 0; i < perKind; i++) jobs.push(...kinds);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        await job(port, token).catch(() => {}); // a refused or reset socket is part of the storm
      }
    }),
  );
  return jobs.length;
}

/** p-th percentile (0-100) of `xs`. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * The storm from a process of its own, so that the test's own clients and clocks (health polls,
 * the legitimate user) do not share an event loop with hundreds of storm sockets.
 */
export async function stormProcess(port: number, token: string | null, perKind: number, concurrency: number): Promise<number> {
  const p = Bun.spawn(["setsid", process.execPath, import.meta.path, String(port), token ?? "", String(perKind), String(concurrency)], {
    stdout: "pipe", stderr: "inherit", env: { ...process.env },
  });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`storm process failed: ${out}`);
  return Number(out.trim());
}

if (import.meta.main) {
  const [port, token, perKind, concurrency] = process.argv.slice(2);
  const only = process.env.STORM_KINDS ? new RegExp(process.env.STORM_KINDS) : undefined;
  console.log(await storm(Number(port), token || null, Number(perKind), Number(concurrency), only));
  process.exit(0);
}
