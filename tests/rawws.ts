// A deliberately crude WebSocket client on a raw TCP socket, for what real clients do by
// accident: vanish mid-handshake, reset the connection, stop reading, hang up without a close frame.

import net from "node:net";

export class RawWs {
  readonly sock: net.Socket;
  /** Bytes received after the HTTP response head. */
  received = 0;
  upgraded = false;
  status = 0;
  /** Opcodes of the first complete frames, in order (1 text, 2 binary, 8 close). */
  readonly opcodes: number[] = [];
  /** With `capture`: every text message (parsed JSON) and binary payload, in order. */
  readonly events: ({ bytes: Uint8Array } | { snapshot: string } | { message: any })[] = [];
  capture = false;
  private buf: Buffer = Buffer.alloc(0);
  error: Error | null = null;
  ended = false;

  constructor(port: number) {
    this.sock = net.connect(port, "127.0.0.1");
    this.sock.on("error", (e) => (this.error = e));
    this.sock.on("close", () => (this.ended = true));
    this.sock.on("data", (d) => this.onData(d as Buffer));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.sock.readyState === "open") return resolve();
      this.sock.once("connect", () => resolve());
      this.sock.once("error", reject);
    });
  }

  static request(port: number, path = "/ws", origin: string | null = `http://127.0.0.1:${port}`, token: string | null = null): string {
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${origin === null ? "" : `Origin: ${origin}\r\n`}${token === null ? "" : `Authorization: Bearer ${token}\r\n`}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  }

  private onData(d: Buffer) {
    if (!this.upgraded) {
      this.buf = Buffer.concat([this.buf, d]);
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.status = Number(this.buf.subarray(9, 12).toString());
      this.upgraded = this.status === 101;
      d = this.buf.subarray(end + 4);
      this.buf = Buffer.alloc(0);
    }
    this.received += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 2) {
      let len = this.buf[1]! & 0x7f, off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) return;
      const op = this.buf[0]! & 0x0f;
      if (this.opcodes.length < 64) this.opcodes.push(op);
      if (this.capture) {
        const payload = this.buf.subarray(off, off + len);
        if (op === 2) this.events.push({ bytes: new Uint8Array(payload) });
        else if (op === 1) {
          const m = JSON.parse(payload.toString());
          this.events.push(m.type === "snapshot" ? { snapshot: m.data } : { message: m });
        }
      }
      this.buf = this.buf.subarray(off + len);
    }
  }

  /** Sends a masked binary frame. */
  sendBinary(payload: Uint8Array) {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : Buffer.from([0x82, 0x80 | 126, n >> 8, n & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
    this.sock.write(Buffer.concat([head, mask, body]));
  }

  /** TCP reset (RST), no close frame, no FIN. */
  reset() {
    this.sock.resetAndDestroy();
  }
  /** TCP FIN without a WebSocket close frame. */
  hangUp() {
    this.sock.end();
  }
}
