// A minimal WebSocket client on a raw TCP socket (node:net), for the one thing Bun's WebSocket
// cannot do: stop reading. `pause()` stops taking bytes from the kernel, so the kernel's buffers
// fill and the server sees real backpressure, as with a browser tab on a slow link or asleep.
// Client side of RFC 6455 only as far as the bench needs: handshake, unmasked server frames
// (fragmented or not), pong for ping, close. Counts what arrives on the wire.

import net from "node:net";
import { decodeServerMessage, type HelloMessage, type ServerMessage } from "../../protocol/index.ts";
import { deadline } from "./util.ts";

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export class RawWs {
  readonly sock: net.Socket;
  /** Bytes read from the socket after the HTTP response head (frame headers included). */
  wireBytes = 0;
  /** Payload bytes of binary frames. */
  binaryBytes = 0;
  /** `snapshot` messages received. */
  snapshots = 0;
  /** Close code from the server's close frame, or null. */
  closeCode: number | null = null;
  /** Every binary payload, as it arrives (performance.now() stamp). */
  onBinary?: (bytes: Uint8Array, at: number) => void;
  /** Every text (control) message, decoded. */
  onMessage?: (message: ServerMessage, at: number) => void;
  readonly hello: Promise<HelloMessage>;
  /** Resolves when the TCP connection is gone (never rejects). */
  readonly closed: Promise<void>;

  private buf: Buffer = Buffer.alloc(0);
  private head = "";
  private upgraded = false;
  private fragments: Buffer[] = [];
  private fragmentOp = 0;
  private readonly upgrade = Promise.withResolvers<void>();
  private readonly helloP = Promise.withResolvers<HelloMessage>();

  private constructor(port: number, path: string) {
    this.hello = this.helloP.promise;
    this.hello.catch(() => {});
    this.upgrade.promise.catch(() => {});
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    this.sock = net.connect(port, "127.0.0.1");
    this.sock.setNoDelay(true);
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    this.sock.on("connect", () => {
      this.sock.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.sock.on("data", (d: Buffer) => this.onData(d));
    this.sock.on("error", (e) => this.fail(e));
    this.sock.on("close", () => {
      this.fail(new Error(`connection closed${this.closeCode === null ? "" : ` (${this.closeCode})`}`));
      closed.resolve();
    });
  }

  /** Connects and completes the upgrade; destroys the socket if that does not happen within `ms`. */
  static async open(port: number, path: string, ms: number): Promise<RawWs> {
    const ws = new RawWs(port, path);
    try {
      await deadline(ws.upgrade.promise, ms, `WebSocket upgrade of ${path}`);
      return ws;
    } catch (e) {
      ws.destroy();
      throw e;
    }
  }

  /** Stop reading from the socket (the kernel's receive buffer fills, then TCP pushes back on the server). */
  pause(): void {
    this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }
  /** Drops the connection at once (no close handshake). */
  destroy(): void {
    this.sock.destroy();
  }

  private fail(e: Error): void {
    this.upgrade.reject(e);
    this.helloP.reject(e);
  }

  private onData(d: Buffer): void {
    if (!this.upgraded) {
      this.head += d.toString("latin1");
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.head.length > 16384) this.destroyWith(new Error("HTTP response head too long"));
        return;
      }
      if (!/^HTTP\/1\.1 101 /.test(this.head)) return this.destroyWith(new Error(`upgrade refused: ${this.head.split("\r\n")[0]}`));
      this.upgraded = true;
      d = Buffer.from(this.head.slice(end + 4), "latin1");
      this.head = "";
      this.upgrade.resolve();
    }
    this.wireBytes += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let at = 0;
    for (;;) {
      const b = this.buf;
      if (b.length - at < 2) break;
      const fin = (b[at]! & 0x80) !== 0, op = b[at]! & 0x0f;
      if (b[at + 1]! & 0x80) return this.destroyWith(new Error("server sent a masked frame"));
      let len = b[at + 1]! & 0x7f, off = at + 2;
      if (len === 126) {
        if (b.length - at < 4) break;
        len = b.readUInt16BE(at + 2);
        off = at + 4;
      } else if (len === 127) {
        if (b.length - at < 10) break;
        len = Number(b.readBigUInt64BE(at + 2));
        off = at + 10;
      }
      if (b.length < off + len) break;
      this.frame(fin, op, b.subarray(off, off + len));
      at = off + len;
    }
    // Keep only the unparsed rest (less than one frame), copied so the big chunk can be freed.
    this.buf = at === 0 ? this.buf : at >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(at));
  }

  private frame(fin: boolean, op: number, payload: Buffer): void {
    const at = performance.now();
    if (op === OP.ping) return void this.send(OP.pong, payload);
    if (op === OP.pong) return;
    if (op === OP.close) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.send(OP.close, payload.subarray(0, 2));
      this.sock.end();
      return;
    }
    if (op !== OP.continuation && !fin) {
      this.fragmentOp = op;
      this.fragments = [Buffer.from(payload)];
      return;
    }
    if (op === OP.continuation) {
      this.fragments.push(Buffer.from(payload));
      if (!fin) return;
      op = this.fragmentOp;
      payload = Buffer.concat(this.fragments);
      this.fragments = [];
    }
    if (op === OP.binary) {
      this.binaryBytes += payload.length;
      this.onBinary?.(payload, at);
    } else if (op === OP.text) {
      const m = decodeServerMessage(payload.toString("utf8"));
      if (!m) return;
      if (m.type === "hello") this.helloP.resolve(m);
      if (m.type === "snapshot") this.snapshots++;
      this.onMessage?.(m, at);
    }
  }

  /** Sends a masked frame (client frames must be masked). */
  private send(op: number, payload: Uint8Array): void {
    if (this.sock.destroyed || !this.sock.writable) return;
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, 0x80 | n]) : Buffer.from([0x80 | op, 0x80 | 126, n >> 8, n & 0xff]);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = payload[i]! ^ mask[i & 3]!;
    this.sock.write(Buffer.concat([head, mask, body]));
  }

  private destroyWith(e: Error): void {
    this.fail(e);
    this.sock.destroy();
  }
}
