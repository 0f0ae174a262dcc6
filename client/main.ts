// Owner: client (browser page). Entry point: builds the terminal page (renderer, addons, keys, search, touch toolbar) and connects it.

import { loadAddons } from "./addons.ts";
import { signIn } from "./credentials.ts";
import { applySize, connect, firstOutput, input, newSession, TITLE } from "./connection.ts";
import { setupKeys } from "./keys.ts";
import { useBestRenderer } from "./renderer.ts";
import { createSearchBox } from "./search.ts";
import { bunty, type Bunty } from "./status.ts";
import { container, parsedOptions, term } from "./terminal.ts";
import { isTouch, setupTouch } from "./toolbar.ts";
import { setupTransfer } from "./transfer.ts";

declare global {
  interface Window {
    term: typeof term;
    termImages: ReturnType<typeof loadAddons>;
    bunty: Bunty;
  }
}

window.term = term;
window.bunty = bunty;
// Sign in (trade a token in the address for the cookie) while the rest of the page is set up.
// performance.mark()s (devtools' Performance panel, the browser check): script, connect, open, hello, output.
performance.mark("bunty:script");
const signedIn = signIn();
document.title = TITLE;

const { options, warnings } = parsedOptions;
for (const w of warnings) console.warn(`bunty: ${w}`);
bunty.options = options;
bunty.screenReader = options.screenReader;

let logged = false;
// Probing the GPU creates WebGL contexts, 20-100 ms of main thread on a cold browser: done once
// the first output is on the screen (or after RENDERER_WAIT_MS), so it does not delay the prompt.
// Until then the terminal draws with the DOM renderer.
const RENDERER_WAIT_MS = 1000;
void Promise.race([firstOutput, new Promise((r) => setTimeout(r, RENDERER_WAIT_MS))]).then(() => setTimeout(() => useBestRenderer(term, (renderer, why) => {
  bunty.renderer = renderer;
  if (!logged) console.info(`bunty: renderer ${renderer}${why ? ` (${why})` : ""}`);
  else console.warn(`bunty: renderer now ${renderer} (${why})`);
  if (logged || renderer === "webgl") applySize(); // each renderer measures cells its own way: fit again
  logged = true;
}), 20));
window.termImages = loadAddons(term);
setupTransfer();

const search = createSearchBox(term);
setupKeys(term, container, options.copyOnSelect, { openSearch: () => search.open() });
const touch = isTouch() ? setupTouch(term) : null;
bunty.toolbar = touch !== null;

term.onData((typed) => {
  const data = touch ? touch.transform(typed) : typed;
  if (bunty.state === "ended") {
    if (data === "\r") newSession();
    return;
  }
  input(data);
});
// onBinary carries raw bytes (e.g. legacy mouse reports) as a latin1 string; UTF-8 would corrupt them.
term.onBinary((data) => input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
term.onTitleChange((title) => {
  document.title = title || TITLE; // document.title is plain text, so OSC titles cannot inject markup
});

term.focus();
void signedIn.then(connect);
