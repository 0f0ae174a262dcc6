// Owner: client (browser page). Unit tests of the client's pure parts: display options (protocol/options.ts) and the toolbar's Ctrl encoding.

import { describe, expect, test } from "bun:test";
import { Query } from "../../protocol/index.ts";
import { DEFAULT_OPTIONS, layerOptions, parseOptions } from "../../protocol/options.ts";
import { THEME_NAMES, THEMES } from "../../client/themes.ts";
import { ctrlChar } from "../../client/toolbar.ts";

const others = Object.values(Query);

describe("layerOptions: the server's -t defaults, then the URL", () => {
  test("the URL wins key by key; warnings name their layer", () => {
    const r = layerOptions([
      { name: "server option", parsed: parseOptions("fontSize=20&theme=light&cursorStyle=bar") },
      { name: "URL option", parsed: parseOptions("fontSize=12&theme=neon&session=abc", ["session"]) },
    ]);
    expect(r.options).toEqual({ ...DEFAULT_OPTIONS, fontSize: 12, theme: "light", cursorStyle: "bar" });
    expect(r.given).toEqual({ fontSize: 12, theme: "light", cursorStyle: "bar" });
    expect(r.warnings).toEqual(['URL option: invalid value for theme: "neon" ignored']);
  });
});

describe("parseOptions", () => {
  test("no query: the defaults, no warnings", () => {
    expect(parseOptions("")).toEqual({ options: { ...DEFAULT_OPTIONS }, given: {}, warnings: [] });
  });

  test("every allow-listed key with a valid value is applied", () => {
    const q = "fontSize=20&fontFamily=Fira%20Code,%20monospace&theme=solarized-light&cursorStyle=bar&cursorBlink=false&scrollback=100000&copyOnSelect=true&screenReader=true";
    const { options, warnings } = parseOptions(q);
    expect(warnings).toEqual([]);
    expect(options).toEqual({ fontSize: 20, fontFamily: "Fira Code, monospace", theme: "solarized-light", cursorStyle: "bar", cursorBlink: false, scrollback: 100000, copyOnSelect: true, screenReader: true });
  });

  test("ranges: fontSize 8-48, scrollback 0-100000", () => {
    expect(parseOptions("fontSize=8").options.fontSize).toBe(8);
    expect(parseOptions("fontSize=48").options.fontSize).toBe(48);
    expect(parseOptions("fontSize=13.5").options.fontSize).toBe(13.5);
    expect(parseOptions("scrollback=0").options.scrollback).toBe(0);
    for (const bad of ["fontSize=7", "fontSize=49", "fontSize=-1", "fontSize=1e1", "fontSize=", "fontSize=0x10", "scrollback=100001", "scrollback=1.5", "scrollback=lots"]) {
      const r = parseOptions(bad);
      expect(r.options).toEqual({ ...DEFAULT_OPTIONS });
      expect(r.warnings).toHaveLength(1);
    }
  });

  test("invalid values are ignored with a warning; valid ones still apply", () => {
    const r = parseOptions("theme=neon&cursorStyle=beam&cursorBlink=yes&copyOnSelect=1&fontSize=18");
    expect(r.given).toEqual({ fontSize: 18 });
    expect(r.warnings).toEqual([
      'invalid value for theme: "neon" ignored',
      'invalid value for cursorStyle: "beam" ignored',
      'invalid value for cursorBlink: "yes" ignored',
      'invalid value for copyOnSelect: "1" ignored',
    ]);
  });

  test("fontFamily: a short list of names only, nothing CSS could act on", () => {
    expect(parseOptions(`fontFamily=${encodeURIComponent('"JetBrains Mono", monospace')}`).options.fontFamily).toBe('"JetBrains Mono", monospace');
    for (const bad of ["x;color:red", "a}body{", "url(x)", "a\\62", "<b>", "a:b", "1234", "x".repeat(101), " "]) {
      expect(parseOptions(new URLSearchParams({ fontFamily: bad }).toString()).options.fontFamily).toBe(DEFAULT_OPTIONS.fontFamily);
    }
  });

  test("unknown keys are ignored with a warning; the page's own parameters silently", () => {
    const r = parseOptions("session=abc&mode=view&token=t&share=g&bogus=1&__proto__=x&toString=y", others);
    expect(r.options).toEqual({ ...DEFAULT_OPTIONS });
    expect(r.warnings).toEqual(['unknown option "bogus" ignored', 'unknown option "__proto__" ignored', 'unknown option "toString" ignored']);
  });

  test("the last valid value of a repeated key wins", () => {
    expect(parseOptions("fontSize=10&fontSize=99&fontSize=12").options.fontSize).toBe(12);
  });

  test("every theme name has a theme with all 16 colours", () => {
    for (const name of THEME_NAMES) {
      const c = THEMES[name].colors;
      const ansi = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
      const bright = ansi.map((a) => `bright${a[0]!.toUpperCase()}${a.slice(1)}`);
      for (const k of ["background", "foreground", "cursor", ...ansi, ...bright]) {
        expect((c as Record<string, string>)[k]).toMatch(/^#[0-9a-f]{6}$/);
      }
    }
  });
});

describe("ctrlChar (the toolbar's sticky Ctrl)", () => {
  test("letters and @[\\]^_ map to C0 controls", () => {
    expect(ctrlChar("c")).toBe("\x03");
    expect(ctrlChar("C")).toBe("\x03");
    expect(ctrlChar("d")).toBe("\x04");
    expect(ctrlChar("@")).toBe("\x00");
    expect(ctrlChar("[")).toBe("\x1b");
    expect(ctrlChar("\\")).toBe("\x1c");
    expect(ctrlChar("_")).toBe("\x1f");
  });
  test("the usual extras, and nothing for the rest", () => {
    expect(ctrlChar(" ")).toBe("\x00");
    expect(ctrlChar("/")).toBe("\x1f");
    expect(ctrlChar("?")).toBe("\x7f");
    expect(ctrlChar("1")).toBeNull();
    expect(ctrlChar("é")).toBeNull();
    expect(ctrlChar("ab")).toBeNull();
  });
});
