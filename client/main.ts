// Owner: client (browser page). Entry point of the terminal page, and the only one of its modules
// that runs at import: builds the page's one terminal view and its connection, the features on
// them (badge, renderer, addons, file transfer, search, keys, touch toolbar), ties the page's
// address and title to the connection, exposes window.bunty, and connects.

import { Query } from "../protocol/index.ts";
import { loadAddons } from "./addons.ts";
import { setUrl } from "./address.ts";
import { createConnection } from "./connection.ts";
import { signIn } from "./credentials.ts";
import { exposePage } from "./devtools.ts";
import { applyPageTheme, readDisplayOptions } from "./display.ts";
import { setupKeys } from "./keys.ts";
import { useBestRenderer } from "./renderer.ts";
import { createSearchBox } from "./search.ts";
import { createBadge } from "./status.ts";
import { createTerminal } from "./terminal.ts";
import { isTouch, setupTouch } from "./toolbar.ts";
import { setupTransfer } from "./transfer.ts";

const TITLE = "bunty";
/**
 * Probing the GPU creates WebGL contexts, 20-100 ms of main thread on a cold browser: done once
 * the first output is on the screen (or after RENDERER_WAIT_MS), so it does not delay the prompt.
 * Until then the terminal draws with the DOM renderer.
 */
const RENDERER_WAIT_MS = 1000;

// The address says which session (and how: mode, a share link's grant); the page's own display options come with it.
const params = new URLSearchParams(location.search);
const { options, warnings } = readDisplayOptions();
applyPageTheme(options.theme);
const view = createTerminal(document.getElementById("terminal")!, options);
const conn = createConnection(view, {
  session: params.get(Query.session) || null,
  mode: params.get(Query.mode),
  share: params.get(Query.share),
  marks: true, // the page's first (and only) connection: its milestones are the page's
});

// Sign in (trade a token in the address for the cookie) while the rest of the page is set up.
// performance.mark()s (devtools' Performance panel, the browser check): script, connect, open, hello, output.
// "script" is marked where it always was, with the terminal built, so load figures stay comparable (docs/benchmarks.md).
performance.mark("bunty:script");
const signedIn = signIn();
document.title = TITLE;
for (const w of warnings) console.warn(`bunty: ${w}`);

const badge = createBadge(document.getElementById("status")!, conn);
// The address carries the session, so a reload or a copied link finds it; once it ended, it is
// dropped (the mode with it), so a reload starts a fresh shell instead of finding nothing.
conn.on("hello", (hello) => setUrl(hello.session));
conn.on("end", () => setUrl(null));
conn.on("title", (title) => {
  document.title = title || TITLE; // document.title is plain text, so OSC titles cannot inject markup
});

const images = loadAddons(view.term, { clipboard: conn, notify: badge.flash });
const transfer = setupTransfer(conn);
const search = createSearchBox(view.term);
setupKeys(view, options.copyOnSelect, { openSearch: () => search.open(), notify: badge.flash });
const touch = isTouch() ? setupTouch(view.term) : null;
const bunty = exposePage({ view, conn, transfer, images, options, toolbar: touch !== null });

let logged = false;
void Promise.race([conn.firstOutput, new Promise((r) => setTimeout(r, RENDERER_WAIT_MS))]).then(() => setTimeout(() => useBestRenderer(view.term, (renderer, why) => {
  bunty.renderer = renderer;
  if (!logged) console.info(`bunty: renderer ${renderer}${why ? ` (${why})` : ""}`);
  else console.warn(`bunty: renderer now ${renderer} (${why})`);
  if (logged || renderer === "webgl") conn.applySize(); // each renderer measures cells its own way: fit again
  logged = true;
}), 20));

view.term.onData((typed) => {
  const data = touch ? touch.transform(typed) : typed;
  if (conn.state === "ended") {
    if (data === "\r") conn.newSession(); // the ended text says: press Enter to start a new session
    return;
  }
  conn.input(data);
});
// onBinary carries raw bytes (e.g. legacy mouse reports) as a latin1 string; UTF-8 would corrupt them.
view.term.onBinary((data) => conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));

view.term.focus();
void signedIn.then(() => conn.connect());
