// The recordings page (/recordings), an entry point: lists the asciicast v2 files of --record and
// plays one back in xterm.js, with play/pause, restart and speed (long pauses shortened: cast.ts).
// setupRecordingsPage() does it all; the module calls it once, at the end.

import { Terminal } from "@xterm/xterm";
import { Limits, Paths } from "../protocol/index.ts";
import { parseCast, type CastEvent } from "./cast.ts";
import { apiFetch } from "./credentials.ts";
import { age, api, button, cell, note } from "./pages.ts";

interface Item { name: string; size: number; created: string }

function setupRecordingsPage(): void {
  const rows = document.getElementById("rows")!;
  const player = document.getElementById("player")!;
  const playBtn = document.getElementById("play") as HTMLButtonElement;
  const speedSel = document.getElementById("speed") as HTMLSelectElement;
  const clock = document.getElementById("clock")!;
  let term: Terminal | null = null;
  let events: CastEvent[] = [];
  let index = 0;
  let position = 0; // seconds of (idle-capped) recording played
  let playing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

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
    const r = await apiFetch(`${Paths.recordings.slice(1)}/${encodeURIComponent(name)}`, {}, 6 * Limits.requestTimeoutMs);
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
      const items = await api<Item[]>(Paths.recordings.slice(1));
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
}

setupRecordingsPage();
