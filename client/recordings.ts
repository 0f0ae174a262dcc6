// The recordings page (/recordings): lists the asciicast v2 files of --record and plays one
// back in xterm.js, with play/pause, restart and speed. Long pauses are shortened (as asciinema
// does) so a session left idle for an hour replays in seconds.

import { Terminal } from "@xterm/xterm";
import { Limits } from "../protocol/index.ts";
import { apiFetch } from "./credentials.ts";
import { age, api, button, cell, note } from "./pages.ts";

/** Pauses longer than this (recorded seconds) play as this long. */
const IDLE_CAP_S = 2;

interface Item { name: string; size: number; created: string }
type Event = [number, string, string];

const rows = document.getElementById("rows")!;
const player = document.getElementById("player")!;
const playBtn = document.getElementById("play") as HTMLButtonElement;
const speedSel = document.getElementById("speed") as HTMLSelectElement;
const clock = document.getElementById("clock")!;
let term: Terminal | null = null;
let events: Event[] = [];
let index = 0;
let position = 0; // seconds of (idle-capped) recording played
let playing = false;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Parses an asciicast v2 file: header line, then events; idle gaps capped. */
export function parseCast(text: string): { width: number; height: number; events: Event[] } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0]!);
  if (header.version !== 2) throw new Error(`not an asciicast v2 file (version ${header.version})`);
  let last = 0, shift = 0;
  const out: Event[] = [];
  for (const line of lines.slice(1)) {
    const [t, code, data] = JSON.parse(line) as Event;
    shift += Math.max(0, t - last - IDLE_CAP_S);
    last = t;
    out.push([t - shift, code, data]);
  }
  return { width: header.width, height: header.height, events: out };
}

function step(): void {
  if (!playing || !term) return;
  const speed = Number(speedSel.value);
  while (index < events.length && events[index]![0] <= position) {
    const [, code, data] = events[index++]!;
    if (code === "o") term.write(data);
    else if (code === "r") {
      const [c, r] = data.split("x").map(Number);
      if (c && r) term.resize(c, r);
    }
  }
  clock.textContent = `${position.toFixed(1)} s`;
  if (index >= events.length) {
    playing = false;
    playBtn.textContent = "play";
    return;
  }
  const next = events[index]![0];
  const waitS = Math.min(next - position, 0.25);
  position += waitS;
  timer = setTimeout(step, (waitS * 1000) / speed);
}

function restart(): void {
  clearTimeout(timer);
  term?.reset();
  index = 0;
  position = 0;
  playing = true;
  playBtn.textContent = "pause";
  step();
}

async function open(name: string): Promise<void> {
  // Recordings can be large: a longer deadline than API calls, but a deadline.
  const r = await apiFetch(`api/recordings/${encodeURIComponent(name)}`, {}, 6 * Limits.requestTimeoutMs);
  if (!r.ok) throw new Error(`${r.status}: cannot load ${name}`);
  const cast = parseCast(await r.text());
  events = cast.events;
  term?.dispose();
  term = new Terminal({ cols: cast.width, rows: cast.height, disableStdin: true, fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, monospace' });
  term.open(document.getElementById("screen")!);
  (window as unknown as { term: Terminal }).term = term; // tests read the buffer
  player.hidden = false;
  note(`playing ${name}`);
  restart();
}

playBtn.addEventListener("click", () => {
  if (index >= events.length) return restart();
  playing = !playing;
  playBtn.textContent = playing ? "pause" : "play";
  if (playing) step();
  else clearTimeout(timer);
});
document.getElementById("restart")!.addEventListener("click", restart);

async function list(): Promise<void> {
  try {
    const items = await api<Item[]>("api/recordings");
    rows.replaceChildren(
      ...items.reverse().map((it) => {
        const tr = document.createElement("tr");
        tr.append(cell(it.name), cell(`${(it.size / 1024).toFixed(1)} KiB`), cell(`${age(it.created)} ago`),
          cell([button("play", () => void open(it.name).catch((e) => note((e as Error).message)))]));
        return tr;
      }),
    );
    if (items.length === 0) note("no recordings yet (start bunty with --record DIR)");
  } catch (e) {
    note((e as Error).message);
  }
}

void list();
