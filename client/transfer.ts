// Owner: client (browser page). File transfer: files dropped on the page are uploaded into the
// session's current directory (PUT api/sessions/S/files, one at a time, with a progress bar, a
// stall watchdog and a replace prompt), and files offered with `bunty-get` are shown as a notice
// with a Download button (never downloaded by themselves: any output can ask). docs/client.md

import type { DownloadMessage } from "../protocol/index.ts";
import { proofHeaders, withProof } from "./credentials.ts";
import { bunty } from "./status.ts";

/** No upload progress for this long: the upload is aborted. */
const STALL_MS = 30_000;
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

let panel: HTMLElement;
let overlay: HTMLElement;

function item(kind: string): HTMLElement {
  const div = el("div", { className: `transfer ${kind}` });
  panel.append(div);
  panel.hidden = false;
  return div;
}
function removeLater(div: HTMLElement, ms: number): void {
  setTimeout(() => {
    div.remove();
    panel.hidden = panel.childElementCount === 0;
  }, ms);
}

// ---- uploads ----

const queue: { file: File; entry: UploadEntry; view: UploadView }[] = [];
let busy = false;

interface UploadView {
  div: HTMLElement;
  bar: HTMLProgressElement;
  text: HTMLElement;
}

function showUpload(entry: UploadEntry): UploadView {
  const div = item("upload");
  const name = el("div", { className: "name", textContent: entry.name, title: entry.name });
  const bar = el("progress", { max: Math.max(1, entry.size), value: 0 });
  const text = el("div", { className: "detail", textContent: `waiting · ${formatSize(entry.size)}` });
  div.append(name, bar, text);
  return { div, bar, text };
}
function renderUpload(e: UploadEntry, v: UploadView): void {
  v.div.dataset.state = e.state;
  v.bar.value = e.sent;
  if (e.state === "uploading") v.text.textContent = `${Math.floor((100 * e.sent) / Math.max(1, e.size))}% · ${formatSize(e.sent)} of ${formatSize(e.size)}`;
  else if (e.state === "done") v.text.textContent = `uploaded ${e.name} to ${e.path}`;
  else if (e.message) v.text.textContent = e.message;
}

/** Why this page cannot upload now, or null. */
function refusal(): string | null {
  if (bunty.mode === "view") return "view only: uploads are off in this tab";
  if (bunty.state === "ended") return "the session has ended: nothing to upload into";
  if (bunty.state !== "live" || !bunty.session) return "not connected: try again when the badge says live";
  return null;
}

/** A refused file: shown and recorded, never sent. */
function skip(name: string, size: number, message: string): void {
  const entry: UploadEntry = { name, size, sent: 0, state: "skipped", message, status: 0 };
  bunty.transfer.uploads.push(entry);
  trim(bunty.transfer.uploads);
  const v = showUpload(entry);
  renderUpload(entry, v);
  removeLater(v.div, ERROR_SHOW_MS);
}

/** Uploads these files into the session's directory, one after another. */
export function upload(files: { file: File | null; name: string; directory: boolean }[]): void {
  const why = refusal();
  for (const f of files) {
    if (why) skip(f.name, f.file?.size ?? 0, why);
    else if (f.directory || !f.file) skip(f.name, 0, `${f.name} is a folder: only files can be uploaded`);
    else {
      const entry: UploadEntry = { name: f.file.name, size: f.file.size, sent: 0, state: "queued", status: 0 };
      bunty.transfer.uploads.push(entry);
      trim(bunty.transfer.uploads);
      queue.push({ file: f.file, entry, view: showUpload(entry) });
    }
  }
  void next();
}

async function next(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (let job = queue.shift(); job; job = queue.shift()) {
      await send(job.file, job.entry, job.view);
      renderUpload(job.entry, job.view);
      removeLater(job.view.div, job.entry.state === "done" ? DONE_SHOW_MS : ERROR_SHOW_MS);
    }
  } finally {
    busy = false;
  }
}

async function send(file: File, e: UploadEntry, v: UploadView): Promise<void> {
  for (let overwrite = false; ; overwrite = true) {
    const why = refusal();
    if (why) return void Object.assign(e, { state: "error", message: why });
    e.state = "uploading";
    e.sent = 0;
    renderUpload(e, v);
    const r = await put(bunty.session!, file, overwrite, (sent) => {
      e.sent = sent;
      renderUpload(e, v);
    });
    e.status = r.status;
    if (r.status === 201) {
      const body = r.body as { path?: string; size?: number };
      return void Object.assign(e, { state: "done", sent: e.size, path: body.path, message: `uploaded ${e.name} to ${body.path}` });
    }
    if (r.status === 409 && !overwrite && (r.body as { error?: string }).error === "exists") {
      if (confirm(`${(r.body as { message: string }).message}. Replace it?`)) continue;
      return void Object.assign(e, { state: "error", message: `not uploaded: ${(r.body as { message: string }).message}` });
    }
    return void Object.assign(e, { state: "error", message: r.message });
  }
}

/** One PUT with upload progress (fetch has none) and a stall watchdog. Never rejects. */
function put(session: string, file: File, overwrite: boolean, progress: (sent: number) => void): Promise<{ status: number; body: unknown; message: string }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ name: file.name });
    if (overwrite) q.set("overwrite", "1");
    // Relative to the page, so a base path (/term/) works.
    xhr.open("PUT", `api/sessions/${encodeURIComponent(session)}/files?${q}`);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    for (const [k, v] of Object.entries(proofHeaders())) xhr.setRequestHeader(k, v);
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let stalled = false;
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, STALL_MS);
    };
    const done = (status: number, body: unknown, message: string) => {
      clearTimeout(watchdog);
      resolve({ status, body, message });
    };
    xhr.upload.onprogress = (ev) => {
      alive();
      progress(ev.loaded);
    };
    xhr.upload.onload = alive; // the body is sent; the answer comes after the server has written the file
    xhr.onprogress = alive;
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      const m = (body as { message?: string } | null)?.message;
      done(xhr.status, body ?? {}, m ? `upload failed: ${m}` : `upload failed: HTTP ${xhr.status}${xhr.status === 413 ? " (too large)" : ""}`);
    };
    xhr.onerror = () => done(0, {}, "upload failed: the connection was lost");
    xhr.onabort = () => done(0, {}, stalled ? `upload stalled: no progress for ${STALL_MS / 1000} s` : "upload aborted");
    alive();
    xhr.send(file);
  });
}

// ---- downloads offered by bunty-get ----

/** A `download` message: a notice with the name and size, and a button; the user decides. */
export function offerDownload(m: DownloadMessage): void {
  if (!bunty.session) return;
  const d: DownloadEntry = { id: m.id, session: bunty.session, name: m.name, size: m.size, clicked: false, dismissed: false };
  bunty.transfer.downloads.push(d);
  trim(bunty.transfer.downloads);
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
    const a = el("a", { href: withProof(new URL(`api/sessions/${encodeURIComponent(d.session)}/downloads/${encodeURIComponent(d.id)}`, location.href)).href, download: d.name });
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

// ---- drag and drop ----

export function setupTransfer(): void {
  panel = el("div", { id: "transfers", hidden: true });
  panel.setAttribute("aria-live", "polite");
  overlay = el("div", { id: "drop", hidden: true, textContent: "Drop to upload into the session's directory" });
  document.body.append(panel, overlay);
  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  let depth = 0; // dragenter/dragleave fire for every child element crossed
  window.addEventListener("dragenter", (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    overlay.hidden = false;
  });
  window.addEventListener("dragover", (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // allows the drop
    e.dataTransfer!.dropEffect = "copy";
    overlay.hidden = false;
  });
  window.addEventListener("dragleave", (e: DragEvent) => {
    if (!hasFiles(e)) return;
    if (--depth <= 0) (depth = 0), (overlay.hidden = true);
  });
  window.addEventListener("drop", (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // the browser would open the file instead
    depth = 0;
    overlay.hidden = true;
    const dt = e.dataTransfer!;
    const files: { file: File | null; name: string; directory: boolean }[] = [];
    const items = [...dt.items].filter((i) => i.kind === "file");
    if (items.length) {
      for (const i of items) {
        const entry = i.webkitGetAsEntry?.();
        const file = i.getAsFile();
        files.push({ file, name: entry?.name ?? file?.name ?? "?", directory: !!entry?.isDirectory });
      }
    } else for (const file of dt.files) files.push({ file, name: file.name, directory: false });
    upload(files);
  });
}
