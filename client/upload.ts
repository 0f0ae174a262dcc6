// Owner: client (browser page). One upload request: a PUT of a file with upload progress (fetch
// has none), the sign-in's proof and a stall watchdog. What to upload where is transfer.ts's.

import { proofHeaders } from "./credentials.ts";

/** No upload progress for this long: the upload is aborted. */
export const STALL_MS = 30_000;

export interface PutResult {
  /** The HTTP status (0: no answer). */
  status: number;
  /** The answer's JSON ({} when it had none). */
  body: unknown;
  /** What to show when the upload did not succeed. */
  message: string;
}
export interface PutRequest {
  /** Settles once, never rejects. */
  readonly done: Promise<PutResult>;
  abort(): void;
}

/** PUTs `file` to `url` (relative to the page, so a base path works). */
export function put(url: string, file: File, progress: (sent: number) => void): PutRequest {
  const xhr = new XMLHttpRequest();
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let stalled = false;
  const done = new Promise<PutResult>((resolve) => {
    xhr.open("PUT", url);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    for (const [k, v] of Object.entries(proofHeaders())) xhr.setRequestHeader(k, v);
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, STALL_MS);
    };
    const finish = (status: number, body: unknown, message: string) => {
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
      finish(xhr.status, body ?? {}, m ? `upload failed: ${m}` : `upload failed: HTTP ${xhr.status}${xhr.status === 413 ? " (too large)" : ""}`);
    };
    xhr.onerror = () => finish(0, {}, "upload failed: the connection was lost");
    xhr.onabort = () => finish(0, {}, stalled ? `upload stalled: no progress for ${STALL_MS / 1000} s` : "upload aborted");
    alive();
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
