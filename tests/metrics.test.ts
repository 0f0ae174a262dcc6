// GET /metrics against a real server: the Prometheus text format (0.0.4), checked by a strict
// parser, and counters that follow real sessions, real output and real auth failures.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { renderMetrics } from "../server/web/metrics.ts";
import { startServer, TestClient, until, type TestServer } from "./harness.ts";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

interface Family {
  help?: string;
  type?: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** Parses the text exposition format strictly: throws on anything it does not expect. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const family = (name: string) => {
    if (!NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  const lines = text.slice(0, -1).split("\n");
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} ${JSON.stringify(line)}`;
    if (line === "") throw new Error(`${where}: empty line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`${where}: a comment that is neither HELP nor TYPE`);
      const f = family(m[2]!);
      if (m[1] === "HELP") {
        if (f.help !== undefined) throw new Error(`${where}: second HELP`);
        if (/\\[^\\n]/.test(m[3]!.replace(/\\\\/g, ""))) throw new Error(`${where}: bad escape in HELP`);
        f.help = m[3]!;
      } else {
        if (f.type !== undefined) throw new Error(`${where}: second TYPE`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples`);
        if (!TYPES.has(m[3]!)) throw new Error(`${where}: unknown type`);
        f.type = m[3]!;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: not "name{labels} value"`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const body = m[2].slice(1, -1);
      const re = /([^=,]+)="((?:[^"\\]|\\["\\n])*)"(,|$)/y;
      let at = 0;
      while (at < body.length) {
        re.lastIndex = at;
        const l = re.exec(body);
        if (!l || !LABEL_NAME.test(l[1]!)) throw new Error(`${where}: bad labels`);
        labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_x, c) => (c === "n" ? "\n" : c));
        at = re.lastIndex;
      }
    }
    const v = m[3]!;
    if (!/^([+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)|NaN|[+-]Inf)$/.test(v)) throw new Error(`${where}: bad value`);
    const f = families.get(m[1]!);
    if (!f?.help || !f.type) throw new Error(`${where}: sample before its HELP and TYPE`);
    f.samples.push({ labels, value: v === "NaN" ? NaN : v.endsWith("Inf") ? (v.startsWith("-") ? -Infinity : Infinity) : Number(v) });
  }
  for (const [name, f] of families) {
    if (f.help === undefined || f.type === undefined) throw new Error(`${name}: HELP or TYPE missing`);
    if (f.samples.length === 0) throw new Error(`${name}: no sample`);
  }
  return families;
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

async function scrape(s: TestServer = server, headers: Record<string, string> = s.auth) {
  const r = await fetch(new URL("/metrics", s.url), { headers, signal: AbortSignal.timeout(5000) });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const f = parseExposition(await r.text());
  return (name: string, type: string) => {
    const fam = f.get(name);
    if (!fam) throw new Error(`no metric ${name}`);
    expect(fam.type).toBe(type);
    return fam.samples[0]!.value;
  };
}

describe("the parser is strict", () => {
  test("it refuses what Prometheus would refuse", () => {
    expect(() => parseExposition("x 1\n")).toThrow("before its HELP");
    expect(() => parseExposition("# HELP x h\n# TYPE x counter\nx one\n")).toThrow("bad value");
    expect(() => parseExposition("# HELP 1x h\n")).toThrow("bad metric name");
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\nx{a=\"1\" 1\n")).toThrow();
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\nx 1")).toThrow("newline");
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\n")).toThrow("no sample");
    expect(parseExposition("# HELP x h\n# TYPE x gauge\nx{a=\"q\\\"\",b=\"\"} -1.5e3\n").get("x")!.samples[0]).toEqual({ labels: { a: 'q"', b: "" }, value: -1500 });
  });
  test("the renderer escapes help text and label values", () => {
    const text = renderMetrics([{ name: "a_b", help: "back\\slash\nnewline", type: "gauge", value: 2, labels: { v: 'say "hi"\n' } }]);
    expect(parseExposition(text).get("a_b")!.samples[0]!.labels.v).toBe('say "hi"\n');
  });
});

describe("GET /metrics", () => {
  test("every metric has HELP and TYPE, and the expected ones are there", async () => {
    const m = await scrape();
    for (const name of ["bunty_sessions_created_total", "bunty_sessions_ended_total", "bunty_input_bytes_total", "bunty_output_bytes_total",
      "bunty_client_resyncs_total", "bunty_clients_dropped_total", "bunty_auth_failures_total", "bunty_screen_skipped_bytes_total"]) expect(m(name, "counter")).toBeGreaterThanOrEqual(0);
    for (const name of ["bunty_sessions", "bunty_spare_sessions", "bunty_clients", "bunty_event_loop_lag_seconds", "bunty_event_loop_lag_max_seconds"]) expect(m(name, "gauge")).toBeGreaterThanOrEqual(0);
    expect(m("process_resident_memory_bytes", "gauge")).toBeGreaterThan(10 << 20);
    expect(m("bunty_event_loop_lag_seconds", "gauge")).toBeLessThan(5); // seconds, not ms
  });

  test("needs authentication; a wrong credential counts as an auth failure, a request with none does not (it guesses nothing)", async () => {
    const before = (await scrape())("bunty_auth_failures_total", "counter");
    const r = await fetch(new URL("/metrics", server.url));
    expect(r.status).toBe(401);
    const wrong = await fetch(new URL("/metrics", server.url), { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect((await scrape())("bunty_auth_failures_total", "counter")).toBe(before + 1);
  });

  test("a session counts as created and live; its output and input are counted, and still are after it ended", async () => {
    const m0 = await scrape();
    const c = await TestClient.open(server);
    const m1 = await scrape();
    expect(m1("bunty_sessions_created_total", "counter")).toBe(m0("bunty_sessions_created_total", "counter") + 1);
    expect(m1("bunty_sessions", "gauge")).toBe(m0("bunty_sessions", "gauge") + 1);
    expect(m1("bunty_clients", "gauge")).toBe(m0("bunty_clients", "gauge") + 1);

    const typed = "echo metrics-$((6*7))\r";
    c.type(typed);
    expect(await c.waitFor(/metrics-42/)).toBe(true);
    const m2 = await scrape();
    // At least the echoed command line and its answer went out.
    expect(m2("bunty_output_bytes_total", "counter")).toBeGreaterThanOrEqual(m1("bunty_output_bytes_total", "counter") + "metrics-42".length * 2);
    expect(m2("bunty_input_bytes_total", "counter")).toBe(m1("bunty_input_bytes_total", "counter") + typed.length);

    // A second client without an offset starts from a snapshot of the screen: a resync. It stays counted after it left.
    const id = c.hello()!.session;
    const viewer = await TestClient.open(server, `?session=${id}&mode=view`);
    expect(await until(() => viewer.find("snapshot"), 5000)).toBeTruthy();
    expect((await scrape())("bunty_client_resyncs_total", "counter")).toBe(m2("bunty_client_resyncs_total", "counter") + 1);
    viewer.close();
    await viewer.waitClosed();
    expect(await until(async () => (await scrape())("bunty_clients", "gauge") === m1("bunty_clients", "gauge"), 5000)).toBe(true);
    expect((await scrape())("bunty_client_resyncs_total", "counter")).toBe(m2("bunty_client_resyncs_total", "counter") + 1);

    expect((await fetch(new URL(`/api/sessions/${id}`, server.url), { method: "DELETE", headers: server.auth })).status).toBe(204);
    await c.waitClosed();
    const m3 = await until(async () => {
      const m = await scrape();
      return m("bunty_sessions_ended_total", "counter") > m0("bunty_sessions_ended_total", "counter") ? m : null;
    }, 5000);
    expect(m3).toBeTruthy();
    expect(m3!("bunty_sessions_ended_total", "counter")).toBe(m0("bunty_sessions_ended_total", "counter") + 1);
    expect(m3!("bunty_sessions", "gauge")).toBe(m0("bunty_sessions", "gauge"));
    expect(m3!("bunty_clients", "gauge")).toBe(m0("bunty_clients", "gauge"));
    // Counters never go down: the ended session's bytes still count.
    expect(m3!("bunty_output_bytes_total", "counter")).toBeGreaterThanOrEqual(m2("bunty_output_bytes_total", "counter"));
    expect(m3!("bunty_input_bytes_total", "counter")).toBe(m2("bunty_input_bytes_total", "counter"));
  });
});

test("--metrics-public: /metrics without credentials, everything else still guarded", async () => {
  const s = await startServer({ args: ["--metrics-public"] });
  try {
    const m = await scrape(s, {});
    expect(m("bunty_sessions", "gauge")).toBe(0);
    expect((await fetch(new URL("/api/health", s.url))).status).toBe(401);
    expect((await fetch(new URL("/api/sessions", s.url))).status).toBe(401);
    expect((await fetch(new URL("/metrics/../api/sessions", s.url))).status).toBe(401);
  } finally {
    await s.stop();
  }
});
