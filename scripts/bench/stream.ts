// The `floor` benchmark's unrelated load: a loopback WebSocket stream with no PTY behind it,
// between two processes, so the raw PTY reader can be measured while it runs.
//
//   bun scripts/bench/stream.ts send [--rate MBPS]   serves /ws: 64 KiB binary frames of 'a' to each
//                                                    client, as fast as the socket drains (or paced)
//   bun scripts/bench/stream.ts recv WS_URL          a Bun WebSocket client of WS_URL, controlled over HTTP:
//       GET /start  connect, let the stream run WARM_MS, answer {bytes, at}
//       GET /stop   answer {bytes, at}, then disconnect
//     (bytes: binary payload bytes received so far; at: performance.now() of this process, ms)
// Each prints http://127.0.0.1:PORT/ on stdout once it listens.

/** Stream time before /start answers: the sender's and receiver's first moments are not measured. */
const WARM_MS = 300;
const OPEN_TIMEOUT_MS = 5000;
const FRAME = new Uint8Array(64 << 10).fill(97);

const [mode, arg, value] = process.argv.slice(2);
let url: string;

if (mode === "send") {
  const mbps = arg === "--rate" ? Number(value) : 0;
  type Data = { open: boolean; sent: number; t0: number; timer?: ReturnType<typeof setInterval> };
  /** Sends until the socket pushes back (or the pace is met); drain() calls it again. */
  const pump = (ws: Bun.ServerWebSocket<Data>) => {
    const due = mbps > 0 ? ((performance.now() - ws.data.t0) / 1000) * mbps * 1e6 : Infinity;
    while (ws.data.open && ws.data.sent < due) {
      const r = ws.sendBinary(FRAME);
      if (r !== 0) ws.data.sent += FRAME.length;
      if (r <= 0) break; // -1: queued, wait for drain; 0: dropped
    }
  };
  const server = Bun.serve<Data>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      return srv.upgrade(req, { data: { open: true, sent: 0, t0: performance.now() } }) ? undefined : new Response("WebSocket only", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      open(ws) {
        ws.data.t0 = performance.now();
        if (mbps > 0) ws.data.timer = setInterval(() => pump(ws), 4);
        else pump(ws);
      },
      drain(ws) {
        pump(ws);
      },
      message() {},
      close(ws) {
        ws.data.open = false;
        clearInterval(ws.data.timer);
      },
    },
  });
  url = `http://127.0.0.1:${server.port}/`;
} else if (mode === "recv" && arg) {
  const target = arg;
  let ws: WebSocket | null = null, bytes = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/start") {
        if (ws) return new Response("already streaming", { status: 409 });
        const opened = Promise.withResolvers<void>();
        ws = new WebSocket(target);
        ws.binaryType = "arraybuffer";
        ws.onopen = () => opened.resolve();
        ws.onclose = (ev) => opened.reject(new Error(`closed (${ev.code})`));
        ws.onmessage = (ev) => {
          if (typeof ev.data !== "string") bytes += (ev.data as ArrayBuffer).byteLength;
        };
        const timer = setTimeout(() => opened.reject(new Error(`no open within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
        try {
          await opened.promise;
        } catch (e) {
          ws.close();
          ws = null;
          return new Response(`stream ${target}: ${(e as Error).message}`, { status: 502 });
        } finally {
          clearTimeout(timer);
        }
        await Bun.sleep(WARM_MS);
        return Response.json({ bytes, at: performance.now() });
      }
      if (path === "/stop") {
        const answer = Response.json({ bytes, at: performance.now() });
        ws?.close();
        ws = null;
        return answer;
      }
      return new Response("not found", { status: 404 });
    },
  });
  url = `http://127.0.0.1:${server.port}/`;
} else {
  console.error("usage: bun scripts/bench/stream.ts send [--rate MBPS] | recv WS_URL");
  process.exit(2);
}
process.on("SIGTERM", () => process.exit(0));
console.log(url);
