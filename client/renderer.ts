// Owner: client (browser page). Chooses the renderer: WebGL on a GPU, xterm's DOM renderer otherwise or when WebGL fails.
// useBestRenderer() does it for one terminal; the handle it returns puts the DOM renderer back.
// The GPU is probed once per page (the first pane's call), and at most MAX_WEBGL_PANES panes draw
// with WebGL at once: each is a WebGL context, and browsers drop the oldest past about 16.

import type { IDisposable, Terminal } from "@xterm/xterm";
import { WebglAddon } from "@xterm/addon-webgl";

export type Renderer = "webgl" | "dom";

/** Renderer names of WebGL implementations that run on the CPU. */
const SOFTWARE_GL = /SwiftShader|llvmpipe|lavapipe|softpipe|Basic Render Driver|Software Rasterizer/i;
/** How long the WebGL canvas may disagree with the device pixel ratio before we give up on it. */
const MISMATCH_MS = 1500;
/** Panes drawing with WebGL at once; the others use the DOM renderer. */
const MAX_WEBGL_PANES = 8;

let probed: ReturnType<typeof probeGpu> | null = null;
let webglPanes = 0;

/**
 * Loads the WebGL renderer, falling back to the DOM renderer (xterm's built-in one) when WebGL2
 * is unavailable or runs in software, its context is lost for good (the addon waits 3 s for a
 * restore first), or its canvas is not sized for the screen's pixels. `report` is called once with the choice, and again
 * if WebGL has to give way later (never after the handle is disposed).
 */
export function useBestRenderer(term: Terminal, report: (renderer: Renderer, why: string) => void): IDisposable {
  const none: IDisposable = { dispose: () => {} };
  const gpu = (probed ??= probeGpu());
  if (gpu.kind === "none") {
    report("dom", "WebGL2 is not available in this browser");
    return none;
  }
  // Software WebGL (SwiftShader, llvmpipe: no GPU, or a blocklisted one) keeps the main thread
  // busy: xterm then parses output several times slower than with the DOM renderer.
  if (gpu.kind === "software") {
    report("dom", `WebGL is software-rendered here (${gpu.name}); the DOM renderer is faster`);
    return none;
  }
  if (webglPanes >= MAX_WEBGL_PANES) {
    report("dom", `${MAX_WEBGL_PANES} panes of this page draw with WebGL already`);
    return none;
  }
  let webgl: WebglAddon | undefined;
  let watch: IDisposable | undefined;
  const release = () => {
    if (!webgl) return;
    watch?.dispose();
    webgl.dispose();
    webgl = undefined;
    webglPanes--;
  };
  const fallBack = (why: string) => {
    if (!webgl) return;
    release();
    report("dom", why);
  };
  try {
    webgl = new WebglAddon();
    webglPanes++;
    webgl.onContextLoss(() => fallBack("the WebGL context was lost"));
    term.loadAddon(webgl);
    report("webgl", gpu.name);
    watch = watchCanvasSize(term, () => fallBack("the WebGL canvas does not match the device pixel ratio"));
  } catch (e) {
    release();
    report("dom", `WebGL failed: ${(e as Error)?.message ?? e}`);
  }
  return { dispose: release };
}

/**
 * The WebGL renderer sizes its canvas from `devicePixelContentBoxSize` but draws for
 * `devicePixelRatio`. Where the two disagree for good (Chromium's device emulation, as in DevTools'
 * device mode and headless runs with a scale factor) it draws nothing visible: a blank terminal.
 * Calls `broken` when the canvas stays more than 10% off the expected size.
 */
function watchCanvasSize(term: Terminal, broken: () => void): IDisposable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const off = () => {
    const canvas = term.element?.querySelector<HTMLCanvasElement>(".xterm-screen > canvas:not([class])");
    const cssWidth = parseFloat(canvas?.style.width ?? "");
    if (!canvas || !(cssWidth > 0)) return false;
    return Math.abs(canvas.width - cssWidth * devicePixelRatio) > 0.1 * cssWidth * devicePixelRatio;
  };
  const sub = term.onRender(() => {
    if (timer !== undefined || !off()) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (off()) broken();
    }, MISMATCH_MS);
  });
  return { dispose: () => (sub.dispose(), clearTimeout(timer)) };
}

/**
 * Whether WebGL2 runs on a GPU ("hardware"), in software ("software": the browser reports a
 * major performance caveat), or not at all; and the renderer's name for the console line.
 */
function probeGpu(): { kind: "hardware" | "software" | "none"; name: string } {
  if (typeof WebGL2RenderingContext === "undefined") return { kind: "none", name: "" };
  try {
    const fast = document.createElement("canvas").getContext("webgl2", { failIfMajorPerformanceCaveat: true });
    const gl = fast ?? document.createElement("canvas").getContext("webgl2");
    if (!gl) return { kind: "none", name: "" };
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext(); // give the probe's context back at once
    // Chromium without a usable GPU runs WebGL on SwiftShader, often without reporting the caveat.
    return { kind: fast && !SOFTWARE_GL.test(name) ? "hardware" : "software", name };
  } catch {
    return { kind: "none", name: "" };
  }
}
