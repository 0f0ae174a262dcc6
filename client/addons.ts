// Owner: client (browser page). The xterm.js addons besides fit/renderer/search: Unicode 11 widths, links, OSC 52 clipboard, inline images.
// loadAddons() loads them into one terminal; what they need of the page (the writer rule, notices) is passed in.

import type { Terminal } from "@xterm/xterm";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { ImageAddon } from "@xterm/addon-image";
import { ClipboardAddon, type ClipboardSelectionType, type IClipboardProvider } from "@xterm/addon-clipboard";
import type { Connection } from "./connection.ts";
import type { Notify } from "./status.ts";

/** Longest target shown in an OSC 8 link's confirm (the site is always shown in full). */
const CONFIRM_URL_CHARS = 1000;

/** The link as an http(s) URL, or null (refused with a notice) for anything else. */
function webUrl(uri: string, notify: Notify): URL | null {
  let url: URL | null = null;
  try {
    url = new URL(uri);
  } catch {}
  if (url && (url.protocol === "http:" || url.protocol === "https:")) return url;
  const why = url ? `only http and https links open, not ${url.protocol}` : "not a valid address";
  console.warn(`bunty: link not opened (${why}): ${uri.slice(0, 80)}`);
  notify(`link not opened: ${why.slice(0, 60)}`);
  return null;
}

/**
 * Opens a link from the terminal in a new tab, without giving that tab a handle on this one
 * (`noopener`, so a page cannot navigate the terminal away) and without a referrer. Only http
 * and https: a program's output must not be able to open javascript:, data: or file: URLs.
 * Used directly for plain URLs in the text (web-links): what the link shows is where it goes.
 */
export function openLink(uri: string, notify: Notify): void {
  const url = webUrl(uri, notify);
  if (url) window.open(url.href, "_blank", "noopener,noreferrer");
}

/**
 * OSC 8 hyperlinks (`ESC ] 8 ; ; URL BEL text ESC ] 8 ; ; BEL`: ls --hyperlink, gcc diagnostics)
 * show a text that can differ from their target (a program's output, `cat` of a hostile file,
 * can print "https://docs.example.org" going anywhere). So activating one asks first, showing the
 * real target (as the URL parser normalised it; the site is punycode for non-ASCII names), and
 * opens it only when confirmed. Anything but http and https is refused before asking.
 */
export function confirmOscLink(uri: string, notify: Notify): void {
  const url = webUrl(uri, notify);
  if (!url) return;
  const shown = url.href.length > CONFIRM_URL_CHARS ? `${url.href.slice(0, CONFIRM_URL_CHARS)}…` : url.href;
  const ok = window.confirm(`Open this link in a new tab?\n\n${shown}\n\nSite: ${url.host}\n\nA program in the terminal printed this link: the text it shows can differ from where it goes.`);
  if (ok) window.open(url.href, "_blank", "noopener,noreferrer");
}

/**
 * OSC 52 lets a program set the clipboard (vim, tmux and ssh sessions copying to your machine).
 * Reading it back is refused: any program's output (`cat` of a hostile file) could ask for it.
 * Only the session's writer (the tab typing into it) lets it through: a page that just watches
 * (`mode=view`, a share link, `-R`, or a write tab while another one types) must not have its
 * clipboard replaced by whatever the session prints (`curl ... | sh` waiting to be pasted).
 */
function clipboardProvider(conn: Pick<Connection, "mode" | "writer">): IClipboardProvider {
  return {
    readText: () => "",
    writeText: async (selection: ClipboardSelectionType, text: string) => {
      if (selection !== "c" || !navigator.clipboard) return; // "p" (primary selection) has no browser equivalent
      // Read at the time of the write: the role changes while the page is open (another tab takes over typing).
      if (conn.mode !== "write" || !conn.writer) return console.info("bunty: OSC 52 copy ignored: this tab is not the session's writer");
      await navigator.clipboard.writeText(text).catch((e) => console.warn(`bunty: OSC 52 copy refused by the browser: ${e}`));
    },
  };
}

export interface AddonOptions {
  /** The connection showing a session in the terminal: OSC 52 writes go through only while it is the writer. */
  clipboard: Pick<Connection, "mode" | "writer">;
  /** Where refused links are noted. */
  notify: Notify;
}

/** Memory the page may keep for images (the oldest go first, leaving a placeholder). */
const IMAGE_STORAGE_MB = 32;

/**
 * Loads the addons; returns the image addon (sixel and the iTerm image protocol, `imgcat`), which
 * main.ts exposes as `window.termImages` for devtools and tests. Its sixel decoder is WebAssembly:
 * the page's CSP allows compiling it ('wasm-unsafe-eval', which allows no JavaScript eval).
 * Images live in this page only: a reattach or reload restores text, not images.
 */
export function loadAddons(term: Terminal, { clipboard, notify }: AddonOptions): ImageAddon {
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11"; // emoji and CJK widths as current programs (and glibc) count them

  term.loadAddon(new WebLinksAddon((_event, uri) => openLink(uri, notify)));
  // OSC 8 hyperlinks ask first (confirmOscLink). Other schemes reach the handler too, to be
  // refused there with a notice rather than dropped silently by xterm.
  term.options.linkHandler = { activate: (_event, text) => confirmOscLink(text, notify), allowNonHttpProtocols: true };

  term.loadAddon(new ClipboardAddon(undefined, clipboardProvider(clipboard)));
  // Handlers registered later run first; this one answers clipboard queries ("?") with silence,
  // so the addon never replies with an empty clipboard either.
  term.parser.registerOscHandler(52, (data) => data.split(";")[1] === "?");

  const images = new ImageAddon({ storageLimit: IMAGE_STORAGE_MB });
  term.loadAddon(images);
  return images;
}
