// The shared protocol module: what it accepts and refuses, independent of any server.

import { describe, expect, test } from "bun:test";
import { checkSize, CloseCode, decodeClientMessage, decodeServerMessage, encodeMessage, Limits } from "../protocol/index.ts";

describe("decodeClientMessage", () => {
  test("accepts a resize as text or as an already-parsed object", () => {
    expect(decodeClientMessage('{"type":"resize","cols":120,"rows":40}')).toEqual({ ok: true, message: { type: "resize", cols: 120, rows: 40 } });
    expect(decodeClientMessage({ type: "resize", cols: 120, rows: 40, extra: 1 })).toEqual({ ok: true, message: { type: "resize", cols: 120, rows: 40 } });
  });
  test("accepts the size limits themselves and refuses one past them", () => {
    expect(checkSize(Limits.minCols, Limits.minRows)).toBeNull();
    expect(checkSize(Limits.maxCols, Limits.maxRows)).toBeNull();
    expect(checkSize(Limits.maxCols + 1, 24)).toContain("cols");
    expect(checkSize(80, Limits.maxRows + 1)).toContain("rows");
    expect(checkSize(Limits.minCols - 1, 24)).toContain("cols");
  });
  test("refuses non-objects, unknown types and oversized text with distinct codes", () => {
    const code = (v: unknown) => {
      const d = decodeClientMessage(v);
      return d.ok ? "ok" : d.error.code;
    };
    expect(code("nope")).toBe("bad_json");
    expect(code(42)).toBe("bad_json");
    expect(code(null)).toBe("bad_json");
    expect(code([1])).toBe("bad_json");
    expect(code({ type: "exit" })).toBe("unknown_type");
    expect(code("x".repeat(Limits.maxControlBytes + 1))).toBe("too_large");
    expect(code({ type: "resize", cols: Infinity, rows: 1 })).toBe("bad_message");
    expect(code({ type: "ping" })).toBe("ok");
  });
  test("an unknown type's name is quoted and cut short in the error", () => {
    const d = decodeClientMessage({ type: "<b>" + "y".repeat(500) });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error.message.length).toBeLessThan(120);
  });
});

describe("server messages", () => {
  test("encode and decode round-trip", () => {
    const m = { type: "exit", code: 3, signal: null } as const;
    expect(decodeServerMessage(encodeMessage(m))).toEqual(m);
    expect(decodeServerMessage("garbage")).toBeNull();
    expect(decodeServerMessage("[]")).toBeNull();
  });
  test("application close codes are in the 4000s and distinct", () => {
    const app = Object.values(CloseCode).filter((c) => c >= 4000);
    expect(app.every((c) => c < 5000)).toBe(true);
    expect(new Set(Object.values(CloseCode)).size).toBe(Object.values(CloseCode).length);
  });
});
