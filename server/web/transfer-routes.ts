// The file-transfer routes: PUT {base}/api/sessions/:id/files (an upload) and GET
// {base}/api/sessions/:id/downloads/:dl (a file offered by bunty-get). Translates requests to
// the Transfers service (transfer.ts) and refusals to answers; owns no state.

import { Elysia, t } from "elysia";
import { stat } from "node:fs/promises";
import { Paths, SessionPaths } from "../../protocol/index.ts";
import type { Pool } from "../core/pool.ts";
import { HttpError } from "./errors.ts";
import { fsCall } from "./fs.ts";
import { contentDisposition, type Transfers } from "./transfer.ts";

export interface RouteOptions {
  pool: Pool;
  /** Every route lives under this prefix. */
  basePath: string;
  /** Read on every request (SIGHUP may change it). */
  live: { readonly: boolean };
  /** --upload-max-bytes; 0: uploads are off. */
  uploadMaxBytes: number;
  /** The mutating routes' Origin check (http.ts). */
  requireSameOrigin(request: Request): void;
}

/** The upload route's path (after the base path), for the guard's body limit. */
export const UPLOAD_PATH = new RegExp(`^${Paths.sessions}/[^/]+${SessionPaths.files}$`);

const ErrorBody = t.Object({ error: t.String(), message: t.String() });
const Uploaded = t.Object({ name: t.String(), path: t.String(), size: t.Integer() });

/** The routes: PUT {base}/api/sessions/:id/files and GET {base}/api/sessions/:id/downloads/:dlid. `enabled` false: both answer 403. */
export function transferRoutes(transfers: Transfers | null, opts: RouteOptions) {
  const off = () => new HttpError("transfer_off", "file transfer is off on this server (--no-file-transfer)", 403);
  const session = (id: string) => {
    const s = opts.pool.get(id);
    if (!s) throw new HttpError("not_found", `no session ${id.slice(0, 40)}`, 404);
    return s;
  };
  return new Elysia({ name: "bunty.transfer", prefix: opts.basePath })
    .put(`${Paths.sessions}/:id${SessionPaths.files}`, async ({ params, request, set }) => {
      opts.requireSameOrigin(request);
      if (!transfers) throw off();
      if (opts.live.readonly) throw new HttpError("read_only", "the server is read-only (-R): uploads are refused", 403);
      if (opts.uploadMaxBytes === 0) throw new HttpError("uploads_off", "uploads are off on this server (--upload-max-bytes 0)", 403);
      const s = session(params.id);
      const r = await transfers.upload(s, request);
      set.status = 201;
      return r;
    }, {
      parse: "none", // the body is streamed to the file, never buffered
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      response: { 201: Uploaded, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 408: ErrorBody, 409: ErrorBody, 413: ErrorBody, 503: ErrorBody },
      detail: { summary: "Upload a file (the raw body) into the session's current directory as ?name=NAME; &overwrite=1 replaces an existing file" },
    })
    .get(`${Paths.sessions}/:id${SessionPaths.downloads}/:dl`, async ({ params }) => {
      if (!transfers) throw off();
      const s = session(params.id);
      const d = transfers.download(s.id, params.dl);
      if (!d) throw new HttpError("not_found", "no such download (offers last 10 minutes and end with their session)", 404);
      const st = await fsCall(stat(d.path), "stat").catch(() => null);
      if (!st?.isFile()) throw new HttpError("not_found", `${d.name} is no longer there`, 404);
      return new Response(Bun.file(d.path), {
        headers: { "content-type": "application/octet-stream", "content-disposition": contentDisposition(d.name), "cache-control": "no-store" },
      });
    }, {
      params: t.Object({ id: t.String({ maxLength: 64 }), dl: t.String({ maxLength: 64 }) }),
      detail: { summary: "A file offered with bunty-get in that session (the id comes in a `download` message)" },
    });
}

