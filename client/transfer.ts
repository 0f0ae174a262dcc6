// Owner: client (browser page). File transfer for the page's panes: files dropped on a pane are
// uploaded into its session's current directory (one at a time, with a progress bar, a stall
// watchdog and a replace prompt), and files offered with `bunty-get` (each watched connection's
// `download` events) are shown as a notice with a Download button (never downloaded by
// themselves: any output can ask). setupTransfer() builds the page's one panel and listens;
// watch() adds a pane's connection; dispose() undoes it all. docs/client.md

import type { IDisposable } from "@xterm/xterm";
import { sessionPath, SessionPaths, type DownloadMessage } from "../protocol/index.ts";
import type { Connection } from "./connection.ts";
import { withProof } from "./credentials.ts";
import { put, type PutRequest } from "./upload.ts";

/** Finished uploads stay on screen this long; failures a bit longer. */
const DONE_SHOW_MS = 5_000;
const ERROR_SHOW_MS = 12_000;
/** Entries kept in `bunty.transfer` (the oldest finished ones go first). */
const MAX_ENTRIES = 50;
/** Download notices shown at once: output can print any number of bunty-get requests (the oldest notice goes). */
const MAX_OFFERS_SHOWN = 5;

export interface UploadEntry {
  name: string;
  size: number;
  /** Bytes sent so far. */
  sent: number;
  state: "queued" | "uploading" | "done" | "error" | "skipped";
  /** Where the file went (done). */
  path?: string;
  /** What went wrong (error, skipped), or the result line. */
  message?: string;
  /** The HTTP status of the last answer (0: none). */
  status?: number;
}
export interface DownloadEntry {
  id: string;
  session: string;
  name: string;
  size: number;
  clicked: boolean;
  dismissed: boolean;
}
/** What tests and devtools read as `bunty.transfer`. */
export interface TransferState {
  uploads: UploadEntry[];
  downloads: DownloadEntry[];
}
/** A dropped item: a file, or a folder (refused). */
export interface Dropped {
  file: File | null;
  name: string;
  directory: boolean;
}

export interface Transfer {
  readonly state: TransferState;
  /** Uploads these files into the directory of `conn`'s session, one after another. */
  upload(files: Dropped[], conn: Connection | null): void;
  /** Shows the `download` offers of `conn` (until the handle is disposed). */
  watch(conn: Connection): IDisposable;
  /** Removes the panel and the drop overlay, stops listening, aborts the running upload. */
  dispose(): void;
}

const trim = <T>(list: T[]) => list.splice(0, Math.max(0, list.length - MAX_ENTRIES));

/** 1536 -> "1.5 KiB". */
export function formatSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props);
}

interface UploadView {
  div: HTMLElement;
  bar: HTMLProgressElement;
  text: HTMLElement;
}
function renderUpload(e: UploadEntry, v: UploadView): void {
  v.div.dataset.state = e.state;
  v.bar.value = e.sent;
  if (e.state === "uploading") v.text.textContent = `${Math.floor((100 * e.sent) / Math.max(1, e.size))}% · ${formatSize(e.sent)} of ${formatSize(e.size)}`;
  else if (e.state === "done") v.text.textContent = `uploaded ${e.name} to ${e.path}`;
  else if (e.message) v.text.textContent = e.message;
}

/** `target` says which pane's connection a drop on `element` is for (the pane under it, else the focused one). */
export function setupTransfer(target: (element: EventTarget | null) => Connection | null): Transfer {
  const state: TransferState = { uploads: [], downloads: [] };
  const panel = el("div", { id: "transfers", hidden: true });
  panel.setAttribute("aria-live", "polite");
  const overlay = el("div", { id: "drop", hidden: true, textContent: "Drop to upload into the session's directory" });
  document.body.append(panel, overlay);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let disposed = false;

  function item(kind: string): HTMLElement {
    const div = el("div", { className: `transfer ${kind}` });
    panel.append(div);
    panel.hidden = false;
    return div;
  }
  function removeLater(div: HTMLElement, ms: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      div.remove();
      panel.hidden = panel.childElementCount === 0;
    }, ms);
    timers.add(timer);
  }

  // ---- uploads ----

  const queue: { file: File; entry: UploadEntry; view: UploadView; conn: Connection }[] = [];
  let busy = false;
  let running: PutRequest | null = null;

  function showUpload(entry: UploadEntry): UploadView {
    const div = item("upload");
    const name = el("div", { className: "name", textContent: entry.name, title: entry.name });
    const bar = el("progress", { max: Math.max(1, entry.size), value: 0 });
    const text = el("div", { className: "detail", textContent: `waiting · ${formatSize(entry.size)}` });
    div.append(name, bar, text);
    return { div, bar, text };
  }

  /** Why this connection cannot upload now, or null. */
  function refusal(conn: Connection | null): string | null {
    if (!conn) return "no terminal to upload into";
    if (conn.mode === "view") return "view only: uploads are off in this tab";
    if (conn.state === "ended") return "the session has ended: nothing to upload into";
    if (conn.state !== "live" || !conn.session) return "not connected: try again when the badge says live";
    return null;
  }

  /** A refused file: shown and recorded, never sent. */
  function skip(name: string, size: number, message: string): void {
    const entry: UploadEntry = { name, size, sent: 0, state: "skipped", message, status: 0 };
    state.uploads.push(entry);
    trim(state.uploads);
    const v = showUpload(entry);
    renderUpload(entry, v);
    removeLater(v.div, ERROR_SHOW_MS);
  }

  function upload(files: Dropped[], conn: Connection | null): void {
    if (disposed) return;
    const why = refusal(conn);
    for (const f of files) {
      if (why || !conn) skip(f.name, f.file?.size ?? 0, why ?? "");
      else if (f.directory || !f.file) skip(f.name, 0, `${f.name} is a folder: only files can be uploaded`);
      else {
        const entry: UploadEntry = { name: f.file.name, size: f.file.size, sent: 0, state: "queued", status: 0 };
        state.uploads.push(entry);
        trim(state.uploads);
        queue.push({ file: f.file, entry, view: showUpload(entry), conn });
      }
    }
    void next();
  }

  async function next(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      for (let job = queue.shift(); job && !disposed; job = queue.shift()) {
        await send(job.file, job.entry, job.view, job.conn);
        renderUpload(job.entry, job.view);
        removeLater(job.view.div, job.entry.state === "done" ? DONE_SHOW_MS : ERROR_SHOW_MS);
      }
    } finally {
      busy = false;
    }
  }

  async function send(file: File, e: UploadEntry, v: UploadView, conn: Connection): Promise<void> {
    for (let overwrite = false; ; overwrite = true) {
      const why = refusal(conn);
      if (why) return void Object.assign(e, { state: "error", message: why });
      e.state = "uploading";
      e.sent = 0;
      renderUpload(e, v);
      const q = new URLSearchParams({ name: file.name });
      if (overwrite) q.set("overwrite", "1");
      // Relative to the page, so a base path (/term/) works.
      running = put(`${sessionPath(conn.session!, SessionPaths.files).slice(1)}?${q}`, file, (sent) => {
        e.sent = sent;
        renderUpload(e, v);
      });
      const r = await running.done;
      running = null;
      e.status = r.status;
      if (r.status === 201) {
        const body = r.body as { path?: string; size?: number };
        return void Object.assign(e, { state: "done", sent: e.size, path: body.path, message: `uploaded ${e.name} to ${body.path}` });
      }
      if (r.status === 409 && !overwrite && !disposed && (r.body as { error?: string }).error === "exists") {
        if (confirm(`${(r.body as { message: string }).message}. Replace it?`)) continue;
        return void Object.assign(e, { state: "error", message: `not uploaded: ${(r.body as { message: string }).message}` });
      }
      return void Object.assign(e, { state: "error", message: r.message });
    }
  }

  // ---- downloads offered by bunty-get ----

  /** A `download` message: a notice with the name and size, and a button; the user decides. */
  function offerDownload(conn: Connection, m: DownloadMessage): void {
    if (!conn.session) return;
    const d: DownloadEntry = { id: m.id, session: conn.session, name: m.name, size: m.size, clicked: false, dismissed: false };
    state.downloads.push(d);
    trim(state.downloads);
    const shown = panel.querySelectorAll(".transfer.download");
    for (let i = 0; i <= shown.length - MAX_OFFERS_SHOWN; i++) shown[i]!.remove();
    const div = item("download");
    div.dataset.id = m.id;
    const name = el("div", { className: "name", textContent: m.name, title: m.name });
    const text = el("div", { className: "detail", textContent: `(${formatSize(m.size)}) from bunty-get` });
    const get = el("button", { type: "button", className: "get", textContent: "Download" });
    const close = el("button", { type: "button", className: "close", textContent: "×", title: "Dismiss" });
    get.addEventListener("click", () => {
      d.clicked = true;
      const path = `${sessionPath(d.session, SessionPaths.downloads)}/${encodeURIComponent(d.id)}`;
      const href = withProof(new URL(path.slice(1), location.href)).href;
      const a = el("a", { href, download: d.name });
      document.body.append(a);
      a.click();
      a.remove();
      removeLater(div, DONE_SHOW_MS);
    });
    close.addEventListener("click", () => {
      d.dismissed = true;
      removeLater(div, 0);
    });
    div.append(name, text, el("div", { className: "actions" }));
    div.lastElementChild!.append(get, close);
  }
  const offers = new Set<IDisposable>();

  // ---- drag and drop ----

  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  let depth = 0; // dragenter/dragleave fire for every child element crossed
  const listeners: { [K in "dragenter" | "dragover" | "dragleave" | "drop"]: (e: DragEvent) => void } = {
    dragenter(e) {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      overlay.hidden = false;
    },
    dragover(e) {
      if (!hasFiles(e)) return;
      e.preventDefault(); // allows the drop
      e.dataTransfer!.dropEffect = "copy";
      overlay.hidden = false;
    },
    dragleave(e) {
      if (!hasFiles(e)) return;
      if (--depth <= 0) (depth = 0), (overlay.hidden = true);
    },
    drop(e) {
      if (!hasFiles(e)) return;
      e.preventDefault(); // the browser would open the file instead
      depth = 0;
      overlay.hidden = true;
      const dt = e.dataTransfer!;
      const files: Dropped[] = [];
      const items = [...dt.items].filter((i) => i.kind === "file");
      if (items.length) {
        for (const i of items) {
          const entry = i.webkitGetAsEntry?.();
          const file = i.getAsFile();
          files.push({ file, name: entry?.name ?? file?.name ?? "?", directory: !!entry?.isDirectory });
        }
      } else for (const file of dt.files) files.push({ file, name: file.name, directory: false });
      upload(files, target(e.target));
    },
  };
  for (const [type, fn] of Object.entries(listeners)) window.addEventListener(type, fn as EventListener);

  return {
    state,
    upload,
    watch(conn) {
      const sub = conn.on("download", (m) => offerDownload(conn, m));
      const handle = { dispose: () => (sub.dispose(), offers.delete(handle)) };
      offers.add(handle);
      return handle;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const o of [...offers]) o.dispose();
      for (const [type, fn] of Object.entries(listeners)) window.removeEventListener(type, fn as EventListener);
      queue.length = 0;
      running?.abort();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      panel.remove();
      overlay.remove();
    },
  };
}
