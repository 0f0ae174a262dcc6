// Owner: client (browser page). Unit tests of the workspace's pure parts: the prediction rule
// (client/predict.ts) against a small fake terminal with a readline-like echo, the layout's
// address spelling (client/layout.ts), and the workspace options (protocol/workspace-options.ts).
// Run: node_modules/.bin/bun test tests/browser/predict.test.ts

import { describe, expect, test } from "bun:test";
import { decodeLayout, encodeLayout, leaves, removeLeaf, splitAt, type PaneSpec, type Tree } from "../../client/layout.ts";
import { classify, Predictor, type Allowed, type Screen } from "../../client/predict.ts";
import { parseChord, parseWorkspaceOptions, WORKSPACE_DEFAULTS } from "../../protocol/workspace-options.ts";

/** A one-screen terminal: rows of cells and a cursor; write() understands what readline prints. */
class FakeTerm implements Screen {
  rows: string[][] = [];
  x = 0;
  y = 0;
  constructor(readonly cols = 40) {
    for (let i = 0; i < 10; i++) this.rows.push(Array(cols).fill(" "));
  }
  cursor() {
    return { x: this.x, row: this.y };
  }
  char(row: number, col: number) {
    return this.rows[row]?.[col] ?? " ";
  }
  markRow() {
    const line = this.y;
    return { line, dispose() {} };
  }
  write(s: string) {
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === "\b") this.x = Math.max(0, this.x - 1);
      else if (c === "\r") this.x = 0;
      else if (c === "\n") this.y++;
      else if (s.startsWith("\x1b[K", i)) {
        for (let k = this.x; k < this.cols; k++) this.rows[this.y]![k] = " ";
        i += 2;
      } else if (s.startsWith("\x1b[C", i)) {
        this.x++;
        i += 2;
      } else {
        this.rows[this.y]![this.x++] = c;
      }
    }
  }
  text(row = this.y) {
    return this.rows[row]!.join("").trimEnd();
  }
}

/** What bash's readline prints for each key (insert mode), given the line and the cursor. */
class Readline {
  text = "";
  at = 0;
  constructor(readonly t: FakeTerm) {}
  key(k: string): string {
    if (k === "\x7f") {
      if (this.at === 0) return "\x07";
      const rest = this.text.slice(this.at);
      this.text = this.text.slice(0, this.at - 1) + rest;
      this.at--;
      return `\b${rest} ${"\b".repeat(rest.length + 1)}`;
    }
    if (k === "\x1b[D") return this.at > 0 ? (this.at--, "\b") : "\x07";
    if (k === "\x1b[C") return this.at < this.text.length ? this.text[this.at++]! : "\x07";
    if (k === "\r") return "\r\n";
    const rest = this.text.slice(this.at);
    this.text = this.text.slice(0, this.at) + k + rest;
    this.at++;
    return k + rest + "\b".repeat(rest.length);
  }
}

const READLINE: Allowed = { insert: true, erase: true, move: true };
const PASSWORD = null; // echo off, canonical on: nothing is predicted

function setup() {
  const t = new FakeTerm();
  t.write("$ ");
  const rl = new Readline(t);
  const p = new Predictor(t);
  let now = 0;
  /** Types `k`: the predictor sees it now, the program's echo is returned (to be delivered later). */
  const type = (k: string, allowed: Allowed | null = READLINE) => {
    p.key(classify(k, false), allowed, (now += 10));
    return rl.key(k);
  };
  const deliver = (out: string) => {
    t.write(out);
    p.parsed();
  };
  /** The screen as drawn: the buffer with the predictions over it. */
  const drawn = () => {
    const row = t.rows[t.y]!.slice();
    const v = p.view();
    if (v) for (const c of v.cells) row[c.col] = c.ch;
    return row.join("").trimEnd();
  };
  return { t, p, type, deliver, drawn };
}

describe("Predictor: the epoch rule", () => {
  test("the first character of a line waits for its echo; then typing shows at once, and the echo confirms it", () => {
    const { p, type, deliver, drawn, t } = setup();
    const e1 = type("e");
    expect(drawn()).toBe("$"); // tentative: not shown before the server echoed one
    deliver(e1);
    expect(drawn()).toBe("$ e");
    const rest = ["c", "h", "o"].map((k) => type(k));
    expect(drawn()).toBe("$ echo"); // shown before any echo
    expect(t.text()).toBe("$ e"); // the buffer holds only what the server sent
    deliver(rest.join(""));
    expect(p.view()).toBeNull();
    expect(t.text()).toBe("$ echo");
    expect(p.stats.confirmed).toBe(4);
  });

  test("backspace and cursor keys within the typed text, inserting in the middle: exact", () => {
    const { p, type, deliver, drawn, t } = setup();
    deliver(type("a"));
    const outs = ["b", "c", "\x1b[D", "\x1b[D", "X", "\x7f", "Y", "\x1b[C", "\x7f"].map((k) => type(k));
    const predicted = drawn();
    const cursor = p.view()?.cursor;
    deliver(outs.join(""));
    // abc, left left (a|bc), X (aX|bc), erase (a|bc), Y (aY|bc), right (aYb|c), erase (aY|c)
    expect(t.text()).toBe("$ aYc");
    expect(predicted).toBe("$ aYc");
    expect(cursor).toBe(4);
    expect(t.x).toBe(4);
    expect(p.view()).toBeNull();
  });

  test("alike states (Left, X, Backspace is the state after Left again): each echo confirms the oldest, none looks wrong", () => {
    const { p, type, deliver, drawn } = setup();
    deliver(type("a"));
    const outs = ["b", "c", "\x1b[D", "\x1b[D", "X", "\x7f", "Y"].map((k) => type(k));
    for (const o of outs) {
      deliver(o);
      expect(drawn()).toBe("$ aYbc");
    }
    expect(p.stats.mispredicted).toBe(0);
    expect(p.pending).toBe(0);
  });

  test("echoes arriving one by one confirm the predictions in order", () => {
    const { p, type, deliver, drawn } = setup();
    deliver(type("l"));
    const outs = ["s", " ", "-", "l"].map((k) => type(k));
    for (const [i, o] of outs.entries()) {
      deliver(o);
      expect(drawn()).toBe("$ ls -l");
      expect(p.pending).toBe(outs.length - i - 1);
    }
  });

  test("output that differs drops every prediction, and the next line waits for an echo again", () => {
    const { p, type, deliver, drawn } = setup();
    deliver(type("a"));
    type("b");
    expect(drawn()).toBe("$ ab");
    deliver("Z"); // not what was typed
    expect(p.view()).toBeNull();
    expect(p.stats.mispredicted).toBe(1);
    expect(p.stats.shownWrong).toBe(1);
    type("c");
    expect(drawn()).toBe("$ aZ"); // a new epoch: tentative
  });

  test("a program that does not echo never has a character shown", () => {
    const { p, type, drawn } = setup();
    for (const k of "hunter2") type(k); // no echo comes back
    expect(drawn()).toBe("$");
    p.expire(10_000, 1000);
    expect(p.stats.expired).toBe(1);
    expect(p.view()).toBeNull();
  });

  test("with echo off (a password) nothing is predicted at all", () => {
    const { p, type } = setup();
    for (const k of "secret") type(k, PASSWORD);
    expect(p.pending).toBe(0);
    expect(p.stats.epoch).toBe(0);
  });

  test("Enter ends the line: what was in flight is confirmed with the newline; typing during it is not predicted", () => {
    const { p, type, deliver, drawn } = setup();
    deliver(type("l"));
    const s = type("s");
    const enter = type("\r");
    type("p"); // typed ahead: where it lands is the program's business
    expect(drawn()).toBe("$ ls");
    deliver(s + enter + "a.txt\r\n$ p");
    expect(p.view()).toBeNull();
    expect(p.stats.mispredicted).toBe(0);
    expect(p.stats.confirmed).toBe(2);
  });

  test("keys it cannot predict (Tab, Ctrl keys, erase before the line's start) end the line", () => {
    const { p, type, deliver } = setup();
    deliver(type("x"));
    deliver(type("\x7f"));
    expect(p.pending).toBe(0);
    type("\x7f"); // nothing of ours left to erase: the prompt is not ours
    expect(p.pending).toBe(0);
    deliver(type("e"));
    type("c");
    type("\t");
    type("h");
    expect(p.pending).toBe(1); // only "c"; Tab closed the line
  });
});

describe("layout: the address spelling", () => {
  const pane = (session: string | null, mode: "write" | "view" = "write", share: string | null = null): PaneSpec => ({ session, mode, share });
  test("tabs, splits, ratios, view-only panes and the focus survive a round trip", () => {
    const a = pane("AbC123xyz_-Q"), b = pane("Q9w8e7r6t5y4", "view", "grant_1"), c = pane(null), d = pane("Zz00Zz00Zz00");
    const tabs: Tree<PaneSpec>[] = [{ dir: "right", ratio: 50, a: { pane: a }, b: { dir: "down", ratio: 60, a: { pane: b }, b: { pane: c } } }, { pane: d }];
    const text = encodeLayout(tabs, b);
    expect(text).toBe("r50(AbC123xyz_-Q,d60(*Q9w8e7r6t5y4.v.grant_1,))~Zz00Zz00Zz00");
    const back = decodeLayout(text)!;
    expect(back.focus).toEqual({ tab: 0, pane: 1 });
    expect(back.tabs.map((t) => leaves(t))).toEqual([[a, b, c], [d]]);
  });
  test("malformed or oversized layouts are refused", () => {
    for (const bad of ["", "r50(a,b", "r50(a)", "*a,*b", "a.v.", "a)b", "a~~~(", `${"a~".repeat(16)}a`]) expect(decodeLayout(bad)).toBeNull();
    expect(decodeLayout("r5(a,b)")!.tabs[0]).toMatchObject({ ratio: 10 }); // clamped
    expect(decodeLayout("a~")!.tabs.length).toBe(2); // an empty leaf: a new session
  });
  test("split and remove", () => {
    let t: Tree<number> = { pane: 1 };
    t = splitAt(t, 1, "right", 2);
    t = splitAt(t, 2, "down", 3);
    expect(leaves(t)).toEqual([1, 2, 3]);
    expect(leaves(removeLeaf(t, 2)!)).toEqual([1, 3]);
    expect(removeLeaf({ pane: 1 }, 1)).toBeNull();
  });
});

describe("workspace options", () => {
  test("chords: canonical spelling, aliases, + or spaces; what browsers keep is refused", () => {
    expect(parseChord("ctrl+shift+e")).toMatchObject({ ctrl: true, shift: true, key: "E" });
    expect(parseChord("Ctrl Shift PgDn")).toMatchObject({ key: "PageDown" });
    for (const bad of ["Ctrl+T", "Ctrl+Shift+T", "Ctrl+Shift+W", "Ctrl+Tab", "Ctrl+PageDown", "Ctrl+E", "E", "Shift+E", "Ctrl+Ctrl+E", "Ctrl+Shift+C", "Ctrl+Shift+Nope"]) expect(parseChord(bad)).toBeNull();
    expect(parseChord("F2")).toMatchObject({ key: "F2" });
  });
  test("the URL wins over the meta tag; bad values and doubled chords are warned about", () => {
    const r = parseWorkspaceOptions([
      { name: "server option", query: "predict=always&keyHelp=F1" },
      { name: "URL option", query: "predict=sometimes&keySplitRight=Alt+Shift+R&keyClose=Ctrl+Shift+T&keySessions=F1&theme=light" },
    ]);
    expect(r.options.predict).toBe("always");
    expect(r.options.keySplitRight).toBe("Alt+Shift+R");
    expect(r.options.keyClose).toBe(WORKSPACE_DEFAULTS.keyClose);
    expect(r.options.keySessions).toBe("F1");
    expect(r.options.keyHelp).toBe("none"); // F1 was keySessions' first
    expect(r.warnings.length).toBe(3);
  });
});
