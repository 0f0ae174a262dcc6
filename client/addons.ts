// Owner: client (browser page). The xterm.js addons besides fit/renderer/search: Unicode 11 widths, links, OSC 52 clipboard, inline images.

import type { Terminal } from "@xterm/xterm";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { ImageAddon } from "@xterm/addon-image";
import { ClipboardAddon, type ClipboardSelectionType, type IClipboardProvider } from "@xterm/addon-clipboard";

/**
 * Opens a link from the terminal in a new tab, without giving that tab a handle on this one
 * (`noopener`, so a page cannot navigate the terminal away) and without a referrer. Only http
 * and https: a program's output must not be able to open javascript:, data: or file: URLs.
 */
export function openLink(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return console.warn(`bunty: link not opened (only http and https): ${uri.slice(0, 80)}`);
  window.open(url.href, "_blank", "noopener,noreferrer");
}

/**
 * OSC 52 lets a program set the clipboard (vim, tmux and ssh sessions copying to your machine).
 * Reading it back is refused: any program's output (`cat` of a hostile file) could ask for it.
 */
const clipboardProvider: IClipboardProvider = {
  readText: () => "",
  writeText: async (selection: ClipboardSelectionType, text: string) => {
    if (selection !== "c" || !navigator.clipboard) return; // "p" (primary selection) has no browser equivalent
    await navigator.clipboard.writeText(text).catch((e) => console.warn(`bunty: OSC 52 copy refused by the browser: ${e}`));
  },
};

/** Memory the page may keep for images (the oldest go first, leaving a placeholder). */
const IMAGE_STORAGE_MB = 32;

/**
 * Loads the addons; returns the image addon (sixel and the iTerm image protocol, `imgcat`), which
 * main.ts exposes as `window.termImages` for devtools and tests. Its sixel decoder is WebAssembly:
 * the page's CSP allows compiling it ('wasm-unsafe-eval', which allows no JavaScript eval).
 * Images live in this page only: a reattach or reload restores text, not images.
 */
export function loadAddons(term: Terminal): ImageAddon {
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11"; // emoji and CJK widths as current programs (and glibc) count them

  term.loadAddon(new WebLinksAddon((_event, uri) => openLink(uri)));
  // OSC 8 hyperlinks (ls --hyperlink, gcc diagnostics) go through the same checks.
  term.options.linkHandler = { activate: (_event, text) => openLink(text), allowNonHttpProtocols: false };

  term.loadAddon(new ClipboardAddon(undefined, clipboardProvider));
  // Handlers registered later run first; this one answers clipboard queries ("?") with silence,
  // so the addon never replies with an empty clipboard either.
  term.parser.registerOscHandler(52, (data) => data.split(";")[1] === "?");

  const images = new ImageAddon({ storageLimit: IMAGE_STORAGE_MB });
  term.loadAddon(images);
  return images;
}
