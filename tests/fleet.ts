// Helpers for the tests of many instances: a real nginx running a recipe of deploy/nginx/ (its
// paths and its listen line pointed at this test's), instances started as the recipes start
// them, and a browser tab's steps (the front door, the page's WebSocket) by hand.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeServerMessage, type ServerMessage } from "../protocol/index.ts";
import { ROOT, startServer, until, type TestServer } from "./harness.ts";

export const NGINX = "/usr/sbin/nginx";
/** How long a test waits for nginx to answer after its start. */
const NGINX_START_MS = 5000;

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
}

export interface Nginx {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  dir: string;
  errors(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs nginx with `recipe` (a deploy/nginx/ file, as a user would drop it into conf.d) after the
 * given text replacements, and `listen 80;` pointed at a free loopback port.
 */
export async function startNginx(recipe: string, replace: [string, string][]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "bunty-fleet-nginx-"));
  const port = await freePort();
  let text = await Bun.file(join(ROOT, recipe)).text();
  if (!text.includes("listen 80;")) throw new Error(`${recipe} has no "listen 80;" line`);
  for (const [from, to] of [...replace, ["listen 80;", `listen 127.0.0.1:${port};`] as [string, string]]) text = text.replaceAll(from, to);
  writeFileSync(join(dir, "bunty.conf"), text);
  // As root, nginx's workers would run as nobody, who may not open the instances' sockets (0600).
  const user = process.getuid?.() === 0 ? "user root;" : "";
  writeFileSync(join(dir, "nginx.conf"), `
daemon off;
worker_processes 1;
${user}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/bunty.conf;
}`);
  const proc = Bun.spawn([NGINX, "-c", join(dir, "nginx.conf"), "-p", dir], { stdout: "ignore", stderr: "pipe" });
  const origin = `http://127.0.0.1:${port}`;
  const errors = () => Bun.file(join(dir, "error.log")).text().catch(() => "");
  const up = await until(async () => (await fetch(`${origin}/nothing`).then((r) => r.status, () => 0)) > 0, NGINX_START_MS, 50);
  if (!up) {
    proc.kill("SIGKILL");
    throw new Error(`nginx did not come up: ${await errors()} ${await new Response(proc.stderr as ReadableStream).text()}`);
  }
  return {
    port, origin, dir, errors,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export interface Instance {
  name: string;
  server: TestServer;
  /** The unix socket it listens on, or null on TCP. */
  socket: string | null;
  /** Its own address on TCP (no proxy), or null on a unix socket. */
  port: number | null;
}

/**
 * Starts an instance as deploy/systemd/bunty@.service does: --instance NAME --base-path /i/NAME,
 * on `dir`/NAME/bunty.sock (or on TCP when `dir` is null), with the shared token file (or, for
 * null, none: `extra` says how it authenticates).
 */
export async function startInstance(name: string, dir: string | null, tokenFile: string | null, extra: string[] = []): Promise<Instance> {
  let socket: string | null = null;
  if (dir) {
    mkdirSync(join(dir, name), { recursive: true });
    socket = join(dir, name, "bunty.sock");
  }
  const server = await startServer({ args: [...(socket ? ["-i", socket] : []), "--instance", name, "--base-path", `/i/${name}`, ...(tokenFile ? ["--token-file", tokenFile] : []), "--log-level", "info", ...extra] });
  return { name, server, socket, port: socket ? null : Number(server.url.port) };
}

/** A token file every instance shares. */
export function sharedToken(): { file: string; token: string } {
  const dir = mkdtempSync(join(tmpdir(), "bunty-fleet-token-"));
  const token = `fleet-${crypto.randomUUID()}`;
  writeFileSync(join(dir, "token"), `${token}\n`, { mode: 0o600 });
  return { file: join(dir, "token"), token };
}

/** A request straight to an instance (not through the proxy): its socket or its port. */
export function direct(i: Instance, path: string, init: RequestInit = {}): Promise<Response> {
  const url = i.socket ? `http://localhost${path}` : `http://127.0.0.1:${i.port}${path}`;
  return fetch(url, { ...init, ...(i.socket ? { unix: i.socket } : {}), signal: AbortSignal.timeout(5000) } as RequestInit);
}

/** The front door's answer: the prefix a new tab is sent to (302), or null with the status. */
export async function frontDoor(nginx: Nginx, query = ""): Promise<{ status: number; prefix: string | null }> {
  const r = await fetch(`${nginx.origin}/${query}`, { redirect: "manual", signal: AbortSignal.timeout(5000) });
  const location = r.headers.get("location");
  await r.body?.cancel();
  return { status: r.status, prefix: r.status === 302 && location ? location.replace(/\?.*$/, "") : null };
}

/** The instance a prefix /i/NAME/ names. */
export const instanceOf = (prefix: string) => prefix.split("/")[2]!;

/** A page's WebSocket, through the proxy: records its control messages, output and close. */
export class Tab {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  text = "";
  /** Output bytes received after hello: with hello's offset, the offset to reattach from. */
  bytes = 0;
  closed: { code: number; reason: string } | null = null;
  private readonly dec = new TextDecoder();

  constructor(readonly url: string, headers: Record<string, string>) {
    this.ws = new WebSocket(url, { headers } as never);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const m = decodeServerMessage(e.data);
        if (m) this.messages.push(m);
      } else {
        this.bytes += (e.data as ArrayBuffer).byteLength;
        this.text += this.dec.decode(new Uint8Array(e.data as ArrayBuffer), { stream: true });
      }
    };
    this.ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
  }

  hello() {
    return this.messages.find((m) => m.type === "hello") as Extract<ServerMessage, { type: "hello" }> | undefined;
  }
  draining() {
    return this.messages.filter((m) => m.type === "draining") as Extract<ServerMessage, { type: "draining" }>[];
  }
  /** Waits for hello (or a close); true with hello. */
  async opened(ms = 10_000): Promise<boolean> {
    await until(() => this.hello() || this.closed, ms);
    return !!this.hello();
  }
  type(s: string) {
    this.ws.send(new TextEncoder().encode(s));
  }
  async waitFor(re: RegExp, ms = 5000): Promise<boolean> {
    return !!(await until(() => re.test(this.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "")), ms));
  }
  async waitClosed(ms = 10_000) {
    return await until(() => this.closed, ms);
  }
  close() {
    this.ws.close();
  }
}

/** What a browser does for a new tab: the front door, then its prefix's WebSocket; the tab once it has a prompt, or why not. */
export async function openTab(nginx: Nginx, token: string): Promise<{ tab: Tab; instance: string } | { error: string }> {
  const door = await frontDoor(nginx).catch((e) => ({ status: 0, prefix: null, e }));
  if (!door.prefix) return { error: `front door answered ${door.status}` };
  const tab = new Tab(`ws://127.0.0.1:${nginx.port}${door.prefix}ws?cols=80&rows=24`, { origin: nginx.origin, authorization: `Bearer ${token}` });
  if (!(await tab.opened())) return { error: `no hello from ${door.prefix}: closed ${JSON.stringify(tab.closed)}` };
  if (!(await tab.waitFor(/\$ /))) return { error: `no prompt from ${door.prefix}` };
  return { tab, instance: instanceOf(door.prefix) };
}
