// The page's output stream (client/terminal.ts's Stream) against a stand-in for xterm's write
// queue whose parsing the test drives: what is handed to xterm ahead of its parser is bounded
// (FEED_AHEAD_BYTES), a snapshot drops the output queued before it unparsed, functions queued in
// order still run in order, and acks report what was parsed. xterm itself is tested in chromium.

import { describe, expect, test } from "bun:test";
import type { Terminal } from "@xterm/xterm";
import type { SnapshotMessage } from "../../protocol/index.ts";
import { FEED_AHEAD_BYTES, Stream } from "../../client/terminal.ts";

/** xterm's write(data, callback), parsed when the test says: what was handed over, in order. */
class FakeXterm {
  readonly queue: { data: string | Uint8Array; done: () => void }[] = [];
  readonly parsed: string[] = [];
  resets = 0;
  write(data: string | Uint8Array, done: () => void) {
    this.queue.push({ data, done });
  }
  reset() {
    this.resets++;
    this.parsed.push("<reset>");
  }
  resize() {}
  get cols() { return 80; }
  get rows() { return 24; }
  get handedBytes() {
    return this.queue.reduce((n, q) => n + (typeof q.data === "string" ? q.data.length : q.data.byteLength), 0);
  }
  /** Parses the oldest n writes. */
  parse(n = Infinity) {
    while (n-- > 0 && this.queue.length) {
      const q = this.queue.shift()!;
      const text = typeof q.data === "string" ? q.data : new TextDecoder().decode(q.data);
      if (text.length) this.parsed.push(text.length > 100 ? `${text[0]}x${text.length}` : text);
      q.done();
    }
  }
}

const KiB = 1024;
const chunk = (n: number, c = "y") => new TextEncoder().encode(c.repeat(n));
function setup() {
  const x = new FakeXterm();
  const acks: number[] = [];
  const s = new Stream(x as unknown as Terminal, () => {});
  s.onAck = (o) => acks.push(o);
  s.startAt(0, true);
  return { x, s, acks };
}

describe("the page's output stream", () => {
  test("at most FEED_AHEAD_BYTES is handed to xterm ahead of its parser, big frames in pieces; the rest follows as it parses, and acks report it", () => {
    const { x, s, acks } = setup();
    expect(FEED_AHEAD_BYTES).toBe(16 * KiB);
    for (let i = 0; i < 4; i++) s.bytes(chunk(64 * KiB)); // 256 KiB received, in frames of 64 KiB
    expect(x.handedBytes).toBe(16 * KiB); // a quarter of the first frame
    x.parse(1);
    expect(x.handedBytes).toBe(16 * KiB); // topped up
    for (let i = 0; i < 15 && x.queue.length; i++) x.parse(1);
    expect(x.queue.length).toBe(0);
    expect(x.parsed.length).toBe(16); // 16 pieces of 16 KiB, in order
    expect(acks.at(-1)).toBe(256 * KiB); // everything parsed, and said so
    expect(s.dropped).toBe(0);
  });

  test("a snapshot drops the output queued before it, unparsed; what xterm already has is parsed; functions keep their order", () => {
    const { x, s, acks } = setup();
    for (let i = 0; i < 12; i++) s.bytes(chunk(16 * KiB)); // 192 KiB in flight (the server's window)
    expect(x.handedBytes).toBe(16 * KiB);
    const order: string[] = [];
    s.inOrder(() => order.push("resize"));
    const snap: SnapshotMessage = { type: "snapshot", offset: 500 * KiB, cols: 80, rows: 24, data: "$ " } as SnapshotMessage;
    s.snapshot(snap, () => order.push("after"));
    s.bytes(new TextEncoder().encode("MARK42"));
    x.parse();
    x.parse();
    expect(s.dropped).toBe(176 * KiB); // 192 KiB less the 16 KiB xterm had
    expect(x.parsed.filter((p) => p.startsWith("y")).length).toBe(1); // only what xterm had
    expect(x.parsed.slice(-3)).toEqual(["<reset>", "$ ", "MARK42"]);
    expect(order).toEqual(["resize", "after"]);
    expect(s.offset).toBe(500 * KiB + 6);
    expect(acks.at(-1)).toBe(500 * KiB + 6);
  });

  test("a skip (the server's word that a snapshot comes) drops what is queued at once and what arrives before the snapshot; a reconnect meanwhile has no offset to resume from", () => {
    const { x, s, acks } = setup();
    for (let i = 0; i < 12; i++) s.bytes(chunk(16 * KiB));
    s.skip();
    expect(s.dropped).toBe(176 * KiB); // queued, not handed to xterm yet
    expect(s.offset).toBeNull(); // a reconnect now asks for a snapshot, not the log after bytes we dropped
    s.bytes(chunk(16 * KiB)); // in flight before the server held the stream
    expect(s.dropped).toBe(192 * KiB);
    x.parse(); // xterm parses only what it had
    expect(x.parsed.filter((p) => p.startsWith("y")).length).toBe(1);
    s.snapshot({ type: "snapshot", offset: 900 * KiB, cols: 80, rows: 24, data: "$ " } as SnapshotMessage, () => {});
    s.bytes(new TextEncoder().encode("MARK42"));
    x.parse();
    expect(x.parsed.slice(-3)).toEqual(["<reset>", "$ ", "MARK42"]);
    expect(s.offset).toBe(900 * KiB + 6);
    expect(acks.at(-1)).toBe(900 * KiB + 6);
  });
});
