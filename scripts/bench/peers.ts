// Peer servers the bench runs beside bunty, as yardsticks: ttyd 1.7.7 when its binary is present
// (../shared/tools/peers/ttyd from the project, or --ttyd PATH). Nothing of a peer is part of
// bunty; when it is absent or cannot start, its columns are skipped with the reason.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { startServer, timeRun, type Server } from "./procs.ts";
import { errorText } from "./util.ts";

export const DEFAULT_TTYD = resolve(import.meta.dir, "../../../shared/tools/peers/ttyd");
/** What ttyd 1.7.7's binary needs from Debian (the evlib plugin is loaded at run time, ldd does not show it). */
export const TTYD_PACKAGES = "libjson-c5 libuv1 libssl3 libcap2 zlib1g libwebsockets-evlib-uv";

export type Peer = { name: "ttyd"; path: string; version: string } | { name: "ttyd"; skipped: string };

/** Finds ttyd and checks that it really starts (a missing shared library shows only then). */
export async function findTtyd(path: string | null, env: Record<string, string>): Promise<Peer> {
  const p = path ?? DEFAULT_TTYD;
  if (!existsSync(p)) return { name: "ttyd", skipped: `no ttyd at ${p} (--ttyd PATH)` };
  try {
    const v = await timeRun([p, "--version"], 5000);
    if (v.code !== 0) throw new Error(`--version exited with ${v.code}`);
    const s = await startTtyd(p, ["true"], env);
    await s.stop();
    return { name: "ttyd", path: p, version: v.stdout.trim() };
  } catch (e) {
    return { name: "ttyd", skipped: `${p} does not start (${errorText(e).slice(0, 300)}); it needs: apt-get install -y ${TTYD_PACKAGES}` };
  }
}

/**
 * ttyd the way the comparisons are made (its README): loopback, writable, a free port, one
 * process per connection running `command`. Started with setsid like bunty.
 */
export async function startTtyd(path: string, command: string[], env: Record<string, string>, cwd?: string): Promise<Server> {
  return startServer({
    bin: [path],
    options: ["-i", "127.0.0.1", "-p", "0", "-W"],
    command,
    env,
    cwd,
    listening: { stream: "stderr", parse: (t) => { const m = /Listening on port: (\d+)/.exec(t); return m ? `http://127.0.0.1:${m[1]}/` : null; } },
  });
}
