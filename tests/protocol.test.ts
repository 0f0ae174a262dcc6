// The shared protocol module: what it accepts and refuses, independent of any server.

import { describe, expect, test } from "bun:test";
import { checkSize, CloseCode, decodeClientMessage, decodeServerMessage, encodeMessage, Limits, parseQuery, queryEntries } from "../protocol/index.ts";

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

describe("queries", () => {
  test("queryEntries reads a query as URLSearchParams does (the protocol module uses no platform API)", () => {
    for (const q of ["", "?", "a=1", "?a=1&b=2&a=3", "x=%20y+z&%E2%82%AC=%E2%82%AC", "k", "k=", "=v", "a=%zz&b=%", "&&a=1&&", "a=b=c"]) {
      expect(queryEntries(q)).toEqual([...new URLSearchParams(q)]);
    }
  });
  test("parseQuery: a server key twice or empty is an error; repeatable arg, and the page's own keys, are fine", () => {
    expect(parseQuery("?session=A&share=G&session=B")).toEqual({ ok: false, error: "query: session is given more than once" });
    expect(parseQuery("?session=")).toEqual({ ok: false, error: "query: session is empty" });
    expect(parseQuery("?=x")).toEqual({ ok: false, error: "query: an empty parameter name" });
    const ok = parseQuery("?session=A&arg=1&arg=2&fontSize=9&fontSize=10&theme=");
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.get("session")).toBe("A");
      expect(ok.all("arg")).toEqual(["1", "2"]);
      expect(ok.get("fontSize")).toBeUndefined(); // not the server's
    }
  });
});
