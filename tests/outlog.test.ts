// The output ring: exact bytes by absolute offset, across wrap-around, and honest about what it lost.

import { describe, expect, test } from "bun:test";
import { OutputLog } from "../server/core/outlog.ts";

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
};

describe("OutputLog", () => {
  test("holds everything until it wraps, then exactly the newest `size` bytes", () => {
    const log = new OutputLog(100);
    log.append(bytes(0, 60));
    expect([log.start, log.end]).toEqual([0, 60]);
    expect(concat(log.readFrom(10)!)).toEqual(bytes(10, 50));
    log.append(bytes(60, 70)); // wraps
    expect([log.start, log.end]).toEqual([30, 130]);
    expect(log.readFrom(29)).toBeNull();
    expect(concat(log.readFrom(30)!)).toEqual(bytes(30, 100));
    expect(concat(log.readFrom(125)!)).toEqual(bytes(125, 5));
    expect(log.readFrom(130)).toEqual([]);
    expect(log.readFrom(131)).toBeNull(); // the future is not in the log
  });
  test("an append larger than the ring keeps its tail and counts all of it", () => {
    const log = new OutputLog(64);
    log.append(bytes(0, 10));
    log.append(bytes(10, 1000));
    expect([log.start, log.end]).toEqual([946, 1010]);
    expect(concat(log.readFrom(946)!)).toEqual(bytes(946, 64));
  });
  test("many small appends at every alignment read back exactly, in pieces no larger than asked", () => {
    const log = new OutputLog(97);
    let n = 0;
    for (let i = 1; i < 200; i++) {
      log.append(bytes(n, i % 13));
      n += i % 13;
      const from = Math.max(log.start, n - 50);
      const pieces = log.readFrom(from, 16)!;
      expect(pieces.every((p) => p.length <= 16)).toBe(true);
      expect(concat(pieces)).toEqual(bytes(from, n - from));
    }
  });
  test("a log may start at a later offset (a spare's model, a resumed stream)", () => {
    const log = new OutputLog(100, 5000);
    expect(log.has(4999)).toBe(false);
    log.append(bytes(5000, 10));
    expect(concat(log.readFrom(5000)!)).toEqual(bytes(5000, 10));
  });
});
