// Owner: client (browser checks). File transfer in a real Chromium: a file dropped on the
// terminal is uploaded into the shell's directory (progress state, the replace prompt), and a
// file offered with `bunty-get` is downloaded only when the user clicks Download.

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "../harness.ts";
import { check, shoot, sleep, typeLine, waitFor, waitLive, waitPrompt, waitText, type Context, type Page } from "./helpers.ts";

/** The playwright-core calls used here besides helpers.ts's subset. */
interface Download {
  path(): Promise<string | null>;
  suggestedFilename(): string;
}
interface Dialog {
  message(): string;
  accept(): Promise<void>;
}
type TransferPage = Page & {
  waitForEvent(event: "download", o?: { timeout?: number }): Promise<Download>;
  on(event: "dialog", fn: (d: Dialog) => void): void;
};

const DROP_BYTES = 2_000_000;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** The bytes the page generates for the dropped file (same formula on both sides). */
const dropped = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 11)) & 0xff);

type Uploads = { name: string; state: string; path?: string; message?: string; sent: number; size: number }[];
const uploads = (p: Page) => p.evaluate(() => window.bunty.transfer.uploads.map((u) => ({ ...u })) as Uploads);

/** Drops a generated file of `size` bytes named `name` on the terminal, the way a drag from the desktop does. */
function drop(p: Page, name: string, size: number): Promise<boolean> {
  return p.evaluate(({ name, size }) => {
    const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 11)) & 0xff);
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type: "application/octet-stream" }));
    const target = document.querySelector(".xterm-screen") ?? document.getElementById("terminal")!;
    const fire = (type: string) => target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    fire("dragenter");
    fire("dragover");
    const overlay = document.getElementById("drop")!.hidden === false;
    fire("drop");
    return overlay && document.getElementById("drop")!.hidden === true;
  }, { name, size });
}

export async function checkTransfer(ctx: Context, server: TestServer, page?: Page): Promise<void> {
  const p = (page ?? (await ctx.newPage())) as TransferPage;
  p.on("pageerror", (e) => check("no page errors (transfer)", false, e.message));
  let dir = "";
  try {
    if (!page) await p.goto(server.url.href);
    check("transfer page goes live", await waitLive(p));
    dir = mkdtempSync(join(tmpdir(), "bunty-xfer-browser-"));
    await p.click("#terminal");
    await typeLine(p, `cd '${dir}'; echo "in-dir-$((6*7))"`);
    await waitText(p, "in-dir-42");
    await waitPrompt(p);

    // Upload: drop a 2 MB file on the terminal.
    const overlay = await drop(p, "dropped.bin", DROP_BYTES);
    check("dragging files over the page shows the drop overlay, the drop hides it", overlay);
    const done = await waitFor(async () => (await uploads(p)).some((u) => u.name === "dropped.bin" && (u.state === "done" || u.state === "error")), 15_000);
    const u = (await uploads(p)).find((x) => x.name === "dropped.bin");
    check("a dropped file is uploaded (progress reaches done)", done && u?.state === "done" && u.sent === DROP_BYTES && u.path === join(dir, "dropped.bin"), JSON.stringify(u));
    const panel = await p.evaluate(() => document.querySelector("#transfers .upload")?.textContent ?? "");
    check("the panel says where it went", panel.includes(`uploaded dropped.bin to ${join(dir, "dropped.bin")}`), panel);
    await shoot(p, "upload");
    const want = sha256(dropped(DROP_BYTES));
    let onDisk = "";
    try {
      onDisk = sha256(readFileSync(join(dir, "dropped.bin")));
    } catch {}
    check("the uploaded file has the dropped bytes", onDisk === want);
    await typeLine(p, "wc -c dropped.bin; sha256sum dropped.bin");
    check("the shell sees it in its directory", await waitText(p, `${DROP_BYTES} dropped.bin`) && await waitText(p, `${want}  dropped.bin`));

    // The same name again: the page asks before replacing; accepted, the upload goes through.
    const asked: string[] = [];
    p.on("dialog", (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await drop(p, "dropped.bin", 1_500_000); // refused with 409 before the body is read: the browser must still get the answer
    const replaced = await waitFor(async () => (await uploads(p)).filter((x) => x.name === "dropped.bin").length === 2 && (await uploads(p)).at(-1)!.state === "done", 10_000);
    check("an existing name asks to replace it, then replaces", replaced && asked[0] === `dropped.bin exists in ${dir}. Replace it?` && readFileSync(join(dir, "dropped.bin")).length === 1_500_000, `${asked[0]} / ${JSON.stringify((await uploads(p)).at(-1))}`);

    // Download: bunty-get in the page's shell; a notice, nothing downloaded until the click.
    const data = randomBytes(300_000);
    writeFileSync(join(dir, "from-server.bin"), data);
    await typeLine(p, "bunty-get from-server.bin");
    const offered = await waitFor(() => p.evaluate(() => !!document.querySelector("#transfers .download button.get")), 5000);
    const notice = await p.evaluate(() => [...document.querySelectorAll("#transfers .download > div")].map((e) => e.textContent).join(" "));
    const offer = await p.evaluate(() => window.bunty.transfer.downloads.at(-1));
    check("bunty-get shows a notice with name, size and a Download button", offered && notice.startsWith("from-server.bin (293 KiB) from bunty-get Download×") && offer?.clicked === false, notice);
    await shoot(p, "download");
    const event = p.waitForEvent("download", { timeout: 10_000 });
    await p.click("#transfers .download button.get");
    const dl = await event;
    const saved = await dl.path();
    check("Download saves the file's exact bytes under its name", !!saved && sha256(readFileSync(saved)) === sha256(data) && dl.suggestedFilename() === "from-server.bin", `${dl.suggestedFilename()} at ${saved}`);
    await sleep(100);

    // Output that prints many requests (a hostile file, a loop) shows a few notices, not one each.
    await p.evaluate(() => window.term.focus()); // the Download button had the focus
    await typeLine(p, "for i in $(seq 30); do bunty-get from-server.bin 2>/dev/null; done; echo offers-$((6*5))");
    await waitFor(async () => (await p.evaluate(() => window.bunty.transfer.downloads.length)) >= 20, 10_000);
    await sleep(300);
    const many = await p.evaluate(() => ({ shown: document.querySelectorAll("#transfers .download").length, offers: window.bunty.transfer.downloads.length, state: window.bunty.state }));
    check("30 offers in a row: at most 5 notices on the page, still live", many.shown <= 5 && many.shown >= 1 && many.offers >= 20 && many.state === "live", JSON.stringify(many));
  } catch (e) {
    check("transfer check ran to the end", false, String((e as Error)?.stack ?? e));
  } finally {
    if (!page) await p.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
