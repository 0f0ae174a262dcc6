// Owner: client (browser checks). A loopback TCP proxy of the checks' own that holds every chunk
// a fixed time in each direction (a slow link: 150 ms each way is a 300 ms round trip), keeping
// the order of each direction's bytes. It can also hold the server's side entirely (`hold()`),
// so a check can look at the page while the echoes of its typing are on their way.

import type { Socket } from "bun";

export interface DelayProxy {
  /** http://127.0.0.1:PORT/ (the server's base path appended by the caller). */
  readonly url: URL;
  /** Stops forwarding what the server sends until release() (input still goes through). */
  hold(): void;
  release(): void;
  stop(): void;
}

interface Pipe {
  /** The other side, once connected; chunks wait in `queue` until then. */
  peer: Socket<Pipe> | null;
  queue: Uint8Array[];
  /** What the socket could not take yet (written on drain). */
  backlog: Uint8Array[];
  closed: boolean;
}

function write(s: Socket<Pipe>, chunk: Uint8Array): void {
  const d = s.data;
  if (d.closed) return;
  if (d.backlog.length) return void d.backlog.push(chunk);
  const n = s.write(chunk);
  if (n < chunk.length) d.backlog.push(chunk.subarray(Math.max(0, n)));
}
function drain(s: Socket<Pipe>): void {
  const d = s.data;
  while (d.backlog.length) {
    const chunk = d.backlog[0]!;
    const n = s.write(chunk);
    if (n < chunk.length) return void (d.backlog[0] = chunk.subarray(Math.max(0, n)));
    d.backlog.shift();
  }
}

/** Listens on 127.0.0.1:0 and forwards to `target` with `delayMs` in each direction. */
export function startDelayProxy(target: URL, delayMs: number): DelayProxy {
  let held = false;
  const heldChunks: (() => void)[] = [];
  /** Sends `chunk` to `to` after the delay (timers of equal delay fire in order: the order is kept). */
  const later = (to: () => Socket<Pipe> | null, chunk: Uint8Array, fromServer: boolean) => {
    const copy = new Uint8Array(chunk); // the buffer is the runtime's to reuse
    setTimeout(() => {
      const deliver = () => {
        const s = to();
        if (s) write(s, copy);
      };
      if (fromServer && (held || heldChunks.length)) heldChunks.push(deliver);
      else deliver();
    }, delayMs);
  };
  /** Ends `s` after what is on its way to it (the close travels as slowly as the bytes). */
  const end = (s: Socket<Pipe> | null) => {
    if (s && !s.data.closed) setTimeout(() => s.data.closed || s.end(), delayMs);
  };
  const closed = (s: Socket<Pipe>) => {
    s.data.closed = true;
    end(s.data.peer);
  };
  const listener = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { peer: null, queue: [], backlog: [], closed: false };
        void Bun.connect<Pipe>({
          hostname: target.hostname,
          port: Number(target.port),
          socket: {
            open(server) {
              server.data = { peer: client, queue: [], backlog: [], closed: false };
              client.data.peer = server;
              for (const c of client.data.queue.splice(0)) later(() => server, c, false);
            },
            data(server, chunk) {
              later(() => server.data.peer, chunk, true);
            },
            drain,
            close: closed,
            error: closed,
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        if (!client.data.peer) client.data.queue.push(new Uint8Array(chunk));
        else later(() => client.data.peer, chunk, false);
      },
      drain,
      close: closed,
      error: closed,
    },
  });
  return {
    url: new URL(`http://127.0.0.1:${listener.port}/`),
    hold: () => void (held = true),
    release() {
      held = false;
      for (const deliver of heldChunks.splice(0)) deliver();
    },
    stop: () => listener.stop(true),
  };
}
