// A tiny, dependency-free SVG line-chart writer for the bench's cost curves (costs.svg): panels
// side by side, each with linear or log axes, a few series of points joined by lines (each point
// labelled with its value), dashed horizontal reference lines, and a legend; panels in a grid.
// No I/O.

export interface Series {
  name: string;
  /** [x, y] points; points with a non-finite or (log axis) non-positive coordinate are left out. */
  points: [number, number][];
  dashed?: boolean;
  /** A CSS colour; default: the next of a fixed palette. */
  color?: string;
}

export interface Axis {
  label: string;
  log?: boolean;
}

export interface Panel {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** Horizontal lines across the panel, e.g. a baseline measured without a server. */
  refs?: { name: string; y: number }[];
}

/** One panel's size and its plot area's margins, px. */
const W = 470, H = 330;
const M = { left: 62, right: 44, top: 68, bottom: 46 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const REF_COLOR = "#777";
const FONT = "font-family='sans-serif'";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;");

/** Short label for a value: 3 significant digits, no exponent for everyday ranges. */
export function short(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** Tick values for [lo, hi]: 1-2-5 steps (linear) or 1, 2, 5 x powers of ten (log). */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    return out.length >= 2 ? out : [lo, hi];
  }
  const raw = (hi - lo) / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The range an axis shows for these values: padded, from 0 for linear axes of positive data. */
function range(values: number[], log: boolean): [number, number] {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (log) return [lo / 1.4, hi * 1.4];
  lo = Math.min(0, lo);
  hi = hi === lo ? lo + 1 : hi + (hi - lo) * 0.12;
  return [lo, hi];
}

function panel(p: Panel, ox: number, oy: number): string {
  const ok = (v: number, log?: boolean) => Number.isFinite(v) && (!log || v > 0);
  const series = p.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => ok(x, p.x.log) && ok(y, p.y.log)) }));
  const refs = (p.refs ?? []).filter((r) => ok(r.y, p.y.log));
  const xs = series.flatMap((s) => s.points.map((q) => q[0]));
  const ys = [...series.flatMap((s) => s.points.map((q) => q[1])), ...refs.map((r) => r.y)];
  const parts: string[] = [`<g transform='translate(${ox},${oy})'>`, `<rect x='0' y='0' width='${W}' height='${H}' fill='white'/>`];
  parts.push(`<text x='${W / 2}' y='18' text-anchor='middle' ${FONT} font-size='13' font-weight='bold'>${esc(p.title)}</text>`);
  if (xs.length === 0 || ys.length === 0) {
    parts.push(`<text x='${W / 2}' y='${H / 2}' text-anchor='middle' ${FONT} font-size='12'>not measured in this run</text></g>`);
    return parts.join("\n");
  }
  const [x0, x1] = range(xs, !!p.x.log), [y0, y1] = range(ys, !!p.y.log);
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const f = (v: number, lo: number, hi: number, log?: boolean) => (log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo));
  const X = (v: number) => M.left + f(v, x0, x1, p.x.log) * pw;
  const Y = (v: number) => M.top + ph - f(v, y0, y1, p.y.log) * ph;
  for (const t of ticks(y0, y1, !!p.y.log)) {
    parts.push(`<line x1='${M.left}' x2='${M.left + pw}' y1='${Y(t).toFixed(1)}' y2='${Y(t).toFixed(1)}' stroke='#e5e5e5'/>`);
    parts.push(`<text x='${M.left - 5}' y='${(Y(t) + 4).toFixed(1)}' text-anchor='end' ${FONT} font-size='10'>${short(t)}</text>`);
  }
  const xt = p.x.log ? ticks(x0, x1, true) : [...new Set(xs)].sort((a, b) => a - b);
  for (const t of xt) parts.push(`<text x='${X(t).toFixed(1)}' y='${M.top + ph + 14}' text-anchor='middle' ${FONT} font-size='10'>${short(t)}</text>`);
  parts.push(`<rect x='${M.left}' y='${M.top}' width='${pw}' height='${ph}' fill='none' stroke='#333'/>`);
  parts.push(`<text x='${M.left + pw / 2}' y='${H - 10}' text-anchor='middle' ${FONT} font-size='11'>${esc(p.x.label)}</text>`);
  parts.push(`<text transform='translate(14,${M.top + ph / 2}) rotate(-90)' text-anchor='middle' ${FONT} font-size='11'>${esc(p.y.label)}</text>`);
  for (const r of refs) {
    parts.push(`<line x1='${M.left}' x2='${M.left + pw}' y1='${Y(r.y).toFixed(1)}' y2='${Y(r.y).toFixed(1)}' stroke='${REF_COLOR}' stroke-dasharray='2 3'/>`);
    // Labelled at the right end, under the line: clear of the point labels (above-right of the points).
    parts.push(`<text x='${M.left + pw - 4}' y='${(Y(r.y) + 11).toFixed(1)}' text-anchor='end' ${FONT} font-size='9' fill='${REF_COLOR}'>${esc(`${r.name}: ${short(r.y)}`)}</text>`);
  }
  series.forEach((s, i) => {
    const c = s.color ?? COLORS[i % COLORS.length];
    const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ");
    parts.push(`<path d='${d}' fill='none' stroke='${c}' stroke-width='2'${s.dashed ? " stroke-dasharray='6 4'" : ""}/>`);
    for (const [x, y] of s.points) {
      parts.push(`<circle cx='${X(x).toFixed(1)}' cy='${Y(y).toFixed(1)}' r='3' fill='${c}'/>`);
      parts.push(`<text x='${(X(x) + 5).toFixed(1)}' y='${(Y(y) - 5).toFixed(1)}' ${FONT} font-size='9' fill='${c}'>${short(y)}</text>`);
    }
    // Legend: one line per series under the title.
    const ly = 32 + i * 12;
    parts.push(`<line x1='${M.left}' x2='${M.left + 18}' y1='${ly - 3}' y2='${ly - 3}' stroke='${c}' stroke-width='2'${s.dashed ? " stroke-dasharray='6 4'" : ""}/>`);
    parts.push(`<text x='${M.left + 22}' y='${ly}' ${FONT} font-size='10'>${esc(s.name)}</text>`);
  });
  parts.push("</g>");
  return parts.join("\n");
}

/** An SVG document with the panels in a grid of `columns`, and a caption line under them. */
export function chart(panels: Panel[], caption = "", columns = 2): string {
  const cols = Math.min(columns, panels.length), rows = Math.ceil(panels.length / cols);
  const width = W * cols, height = H * rows + (caption ? 22 : 0);
  return [
    `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}'>`,
    `<rect width='${width}' height='${height}' fill='white'/>`,
    ...panels.map((p, i) => panel(p, (i % cols) * W, Math.floor(i / cols) * H)),
    caption ? `<text x='8' y='${H * rows + 15}' ${FONT} font-size='11' fill='#444'>${esc(caption)}</text>` : "",
    "</svg>",
    "",
  ].join("\n");
}
