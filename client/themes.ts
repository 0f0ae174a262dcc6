// Owner: client (browser page). The colour themes the page offers (?theme=NAME), pure data.

import type { ITheme } from "@xterm/xterm";

import { THEME_NAMES, type ThemeName } from "../protocol/options.ts";

export { THEME_NAMES, type ThemeName };

export interface PageTheme {
  /** The terminal's colours. */
  colors: ITheme;
  /** The page's CSS `color-scheme` (form controls, scrollbars). */
  scheme: "dark" | "light";
  /**
   * xterm's minimumContrastRatio: programs pick colours for a dark background, so light themes
   * raise it (yellow on white stays readable); high contrast asks for WCAG AAA (7:1).
   */
  minimumContrastRatio: number;
}

// Solarized, https://ethanschoonover.com/solarized/ (ANSI mapping as in most terminals' presets).
const sol = {
  base03: "#002b36", base02: "#073642", base01: "#586e75", base00: "#657b83", base0: "#839496", base1: "#93a1a1",
  base2: "#eee8d5", base3: "#fdf6e3", yellow: "#b58900", orange: "#cb4b16", red: "#dc322f", magenta: "#d33682",
  violet: "#6c71c4", blue: "#268bd2", cyan: "#2aa198", green: "#859900",
};
const solarizedAnsi: ITheme = {
  black: sol.base02, red: sol.red, green: sol.green, yellow: sol.yellow, blue: sol.blue, magenta: sol.magenta,
  cyan: sol.cyan, white: sol.base2, brightBlack: sol.base01, brightRed: sol.orange, brightGreen: sol.base01,
  brightYellow: sol.base00, brightBlue: sol.base0, brightMagenta: sol.violet, brightCyan: sol.base1, brightWhite: sol.base3,
};

export const THEMES: Record<ThemeName, PageTheme> = {
  dark: {
    scheme: "dark",
    minimumContrastRatio: 1,
    colors: {
      background: "#1a1b26", foreground: "#c0caf5", cursor: "#c0caf5", cursorAccent: "#1a1b26", selectionBackground: "#33467c",
      black: "#15161e", red: "#f7768e", green: "#9ece6a", yellow: "#e0af68", blue: "#7aa2f7", magenta: "#bb9af7",
      cyan: "#7dcfff", white: "#a9b1d6", brightBlack: "#414868", brightRed: "#f7768e", brightGreen: "#9ece6a",
      brightYellow: "#e0af68", brightBlue: "#7aa2f7", brightMagenta: "#bb9af7", brightCyan: "#7dcfff", brightWhite: "#c0caf5",
    },
  },
  light: {
    scheme: "light",
    minimumContrastRatio: 4.5,
    colors: {
      background: "#fafafa", foreground: "#383a42", cursor: "#526eff", cursorAccent: "#fafafa", selectionBackground: "#bfceff",
      black: "#383a42", red: "#e45649", green: "#50a14f", yellow: "#c18401", blue: "#4078f2", magenta: "#a626a4",
      cyan: "#0184bc", white: "#a0a1a7", brightBlack: "#696c77", brightRed: "#ca1243", brightGreen: "#3e953a",
      brightYellow: "#986801", brightBlue: "#2e5bd1", brightMagenta: "#8b1d8a", brightCyan: "#0997b3", brightWhite: "#fafafa",
    },
  },
  "solarized-dark": {
    scheme: "dark",
    minimumContrastRatio: 1,
    colors: { ...solarizedAnsi, background: sol.base03, foreground: sol.base0, cursor: sol.base1, cursorAccent: sol.base03, selectionBackground: sol.base02 },
  },
  "solarized-light": {
    scheme: "light",
    minimumContrastRatio: 1,
    colors: { ...solarizedAnsi, background: sol.base3, foreground: sol.base00, cursor: sol.base01, cursorAccent: sol.base3, selectionBackground: sol.base2 },
  },
  "high-contrast": {
    scheme: "dark",
    minimumContrastRatio: 7,
    colors: {
      background: "#000000", foreground: "#ffffff", cursor: "#ffff00", cursorAccent: "#000000",
      selectionBackground: "#ffff00", selectionForeground: "#000000", selectionInactiveBackground: "#bbbb00",
      black: "#000000", red: "#ff5555", green: "#55ff55", yellow: "#ffff55", blue: "#6699ff", magenta: "#ff66ff",
      cyan: "#55ffff", white: "#ffffff", brightBlack: "#aaaaaa", brightRed: "#ff8080", brightGreen: "#80ff80",
      brightYellow: "#ffff80", brightBlue: "#99bbff", brightMagenta: "#ff99ff", brightCyan: "#80ffff", brightWhite: "#ffffff",
    },
  },
};
