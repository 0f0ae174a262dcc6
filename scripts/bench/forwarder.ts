// The `floor` benchmark's minimal forwarder: what any Bun program that puts a PTY on a WebSocket
// must do at least. Per connection to /ws: spawn the program in a PTY, copy each chunk into an
// 8 MiB ring (the output log any server that replays output keeps), `sendBinary` it, and send
// an `exit` message in bunty's format when the program is done. No flow control (the socket
// queues, up to 1 GiB), no screen model, no protocol beyond that. GET /api/health answers the
// fields the bench's buntyRun() polls, with the same 50 ms lag timer as bunty's monitor.
//
//   bun scripts/bench/forwarder.ts -- sh -c "head -c 100000000 /dev/zero | tr '\0' a"
// Prints http://127.0.0.1:PORT/ on stdout once it listens.

import { OUTPUT_LOG_BYTES } from "../../server/core/outlog.ts";

// (bun itself drops a `--` that directly follows the script, so it may or may not be there)
const command = process.argv.slice(process.argv[2] === "--" ? 3 : 2);
if (command.length === 0) {
  console.error("usage: bun scripts/bench/forwarder.ts [--] COMMAND [ARGS...]");
  process.exit(2);
}

const RING_BYTES = OUTPUT_LOG_BYTES; // the same ring as bunty's output log
const ring = new Uint8Array(new SharedArrayBuffer(RING_BYTES));
let written = 0;
function keep(b: Uint8Array): void {
  const at = written % RING_BYTES;
  if (at + b.length <= RING_BYTES) ring.set(b, at);
  else {
    ring.set(b.subarray(0, RING_BYTES - at), at);
    ring.set(b.subarray(RING_BYTES - at), 0);
  }
  written += b.length;
}

// Event-loop lag, sampled like server/lag.ts (latest sample only).
const LAG_MS = 50;
let lag = 0, expected = performance.now() + LAG_MS;
setInterval(() => {
  const now = performance.now();
  lag = Math.max(0, now - expected);
  expected = now + LAG_MS;
}, LAG_MS);

type Data = { proc?: ReturnType<typeof Bun.spawn> };
let sessions = 0;
const server = Bun.serve<Data>({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req, srv) {
    const path = new URL(req.url).pathname;
    if (path === "/ws") return srv.upgrade(req, { data: {} }) ? undefined : new Response("upgrade failed", { status: 400 });
    if (path === "/api/health") return Response.json({ sessions, clients: sessions, rssBytes: process.memoryUsage.rss(), eventLoopLagMs: lag });
    return new Response("not found", { status: 404 });
  },
  websocket: {
    backpressureLimit: 1 << 30, // never drop: every byte is counted
    perMessageDeflate: false,
    open(ws) {
      sessions++;
      let eof = false, dropped = 0, status: number | null | undefined, sent = false;
      // Both the PTY's end (its last bytes may come after the exit status) and the exit status.
      const finish = () => {
        if (sent || !eof || status === undefined) return;
        sent = true;
        if (dropped) console.error(`forwarder: ${dropped} bytes dropped by sendBinary`);
        ws.send(JSON.stringify({ type: "exit", code: proc.signalCode ? null : status, signal: proc.signalCode ?? null }));
        ws.close(1000, "program exited");
      };
      const proc = Bun.spawn(command, {
        terminal: {
          cols: 80,
          rows: 24,
          data(_t, b) {
            keep(b);
            if (ws.sendBinary(b) === 0) dropped += b.length;
          },
          exit() {
            eof = true;
            finish();
          },
        },
      });
      ws.data.proc = proc;
      proc.exited.then((code) => {
        status = code;
        finish();
        setTimeout(() => ((eof = true), finish()), 1000); // a PTY end that never came
      });
    },
    message(ws, m) {
      if (typeof m !== "string") ws.data.proc?.terminal?.write(m);
    },
    close(ws) {
      sessions--;
      try {
        ws.data.proc?.kill();
        ws.data.proc?.terminal?.close();
      } catch {}
    },
  },
});
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
console.log(`http://127.0.0.1:${server.port}/`);
