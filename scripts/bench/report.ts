// The benchmark's report: one table of rows (bunty, ttyd, bunty's advantage, the baseline, the
// target), as text for a person and as markdown for docs/benchmarks.md. Formatting only.

import { advantage, type Row } from "./context.ts";
import { fmt, round } from "./util.ts";

const num = (v: number | null | undefined, digits: number) => (v === undefined ? "" : v === null ? "-" : fmt(v, digits));

/** "1.34x better" / "0.80x (worse)"; empty when there is no peer figure. */
function adv(r: Row): string {
  const a = advantage(r);
  return a === null ? "" : `${a.toFixed(2)}x${a < 1 ? " (ttyd ahead)" : ""}`;
}

function cells(r: Row): string[] {
  const d = r.digits ?? 2;
  const unit = r.unit ? ` ${r.unit}` : "";
  return [
    r.metric,
    `${num(r.bunty, d)}${r.bunty === null ? "" : unit}`,
    r.ttyd === undefined ? "" : `${num(r.ttyd, d)}${r.ttyd === null ? "" : unit}`,
    adv(r),
    r.baseline === undefined ? "" : `${num(r.baseline, d)}${r.baselineLabel ? ` (${r.baselineLabel})` : ""}`,
    r.target ?? "",
    r.met === undefined ? "" : r.met === null ? "n/a" : r.met ? "met" : "MISSED",
  ];
}

const HEAD = ["metric", "bunty", "ttyd", "bunty vs ttyd", "baseline, same run", "target", ""];

export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  const out: string[] = [line(HEAD), "-".repeat(w.reduce((a, b) => a + b + 2, 0))];
  let section = "";
  for (const r of rows) {
    if (r.section !== section) out.push(`[${(section = r.section)}]`);
    out.push(line(cells(r)));
  }
  return out.join("\n");
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const out = [`| section | ${HEAD.map(esc).join(" | ")} |`, `|---|${HEAD.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`];
  for (const r of rows) out.push(`| ${r.section} | ${cells(r).map(esc).join(" | ")} |`);
  return out.join("\n");
}

/** Rows with rounded numbers, for the JSON line. */
export function jsonRows(rows: Row[]) {
  return rows.map((r) => ({ ...r, bunty: round(r.bunty, 4), ttyd: r.ttyd === undefined ? undefined : round(r.ttyd, 4), baseline: r.baseline === undefined ? undefined : round(r.baseline, 4), advantage: round(advantage(r), 3) }));
}

export const roundAll = (v: unknown): unknown =>
  typeof v === "number" ? round(v, 4) : Array.isArray(v) ? v.map(roundAll) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundAll(x)])) : v;
