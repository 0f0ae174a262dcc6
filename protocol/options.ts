// The page's display options: allow-listed keys and checked values, pure (no DOM). Shared by the
// page (its URL query, and the server's defaults it finds in a <meta> tag) and the server (which
// checks `-t key=value` at start, so a typo exits 2 instead of reaching browsers as a warning).

import { queryEntries } from "./index.ts";

/** The colour themes the page offers (client/themes.ts has their colours). */
export const THEME_NAMES = ["dark", "light", "solarized-dark", "solarized-light", "high-contrast"] as const;
export type ThemeName = (typeof THEME_NAMES)[number];

export type CursorStyle = "block" | "underline" | "bar";

export interface PageOptions {
  fontSize: number;
  fontFamily: string;
  theme: ThemeName;
  cursorStyle: CursorStyle;
  cursorBlink: boolean;
  scrollback: number;
  copyOnSelect: boolean;
  screenReader: boolean;
}

export const DEFAULT_OPTIONS: Readonly<PageOptions> = Object.freeze({
  fontSize: 14,
  fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
  theme: "dark",
  cursorStyle: "block",
  cursorBlink: true,
  scrollback: 5000,
  copyOnSelect: false,
  screenReader: false,
});

/** The page's <meta name=...> where the server puts its `-t` defaults, as a URL query string. */
export const OPTIONS_META = "bunty-options";

type Parser<T> = (raw: string) => T | undefined;

const oneOf = <T extends string>(values: readonly T[]): Parser<T> => (raw) => (values as readonly string[]).includes(raw) ? (raw as T) : undefined;
const bool: Parser<boolean> = (raw) => (raw === "true" ? true : raw === "false" ? false : undefined);
const number = (min: number, max: number, integer: boolean): Parser<number> => (raw) => {
  if (!(integer ? /^\d{1,6}$/ : /^\d{1,6}(\.\d{1,2})?$/).test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
};
/**
 * Font names, quoted or not, separated by commas: letters, digits, spaces, `-_.,"'`. The value ends
 * up in CSS (`font-family`) and canvas font strings, so nothing that could end a declaration or
 * open a function (`;{}()\<>:/`) gets through.
 */
const fontFamily: Parser<string> = (raw) => (/^[\p{L}\p{N} ,"'._-]{1,100}$/u.test(raw) && /[\p{L}]/u.test(raw) ? raw.trim() : undefined);

export const PARSERS: { [K in keyof PageOptions]: Parser<PageOptions[K]> } = {
  fontSize: number(8, 48, false),
  fontFamily,
  theme: oneOf(THEME_NAMES),
  cursorStyle: oneOf(["block", "underline", "bar"] as const),
  cursorBlink: bool,
  scrollback: number(0, 100_000, true),
  copyOnSelect: bool,
  screenReader: bool,
};

export interface ParsedOptions {
  /** The defaults with every valid value from the query applied. */
  options: PageOptions;
  /** Only the values the query set (and that were valid). */
  given: Partial<PageOptions>;
  /** One line per key or value that was ignored. */
  warnings: string[];
}

/**
 * Reads the display options from a URL query. `otherKeys` are parameters that mean something else
 * to the page (session, mode, token...): skipped without a warning. Anything else unknown, or any
 * invalid value, is ignored with a warning; the last valid value of a repeated key wins.
 */
export function parseOptions(query: string, otherKeys: readonly string[] = []): ParsedOptions {
  const params = queryEntries(query);
  const given: Partial<PageOptions> = {};
  const warnings: string[] = [];
  for (const [key, raw] of params) {
    if (otherKeys.includes(key)) continue;
    if (!Object.hasOwn(PARSERS, key)) {
      warnings.push(`unknown option "${clip(key)}" ignored`);
      continue;
    }
    const k = key as keyof PageOptions;
    const value = PARSERS[k](raw);
    if (value === undefined) warnings.push(`invalid value for ${k}: "${clip(raw)}" ignored`);
    else (given as Record<string, unknown>)[k] = value;
  }
  return { options: { ...DEFAULT_OPTIONS, ...given }, given, warnings };
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/**
 * Options in layers, later ones winning: the server's defaults (from the page's meta tag), then
 * the URL query. Warnings of each layer are prefixed with its name.
 */
export function layerOptions(layers: { name: string; parsed: ParsedOptions }[]): ParsedOptions {
  const given: Partial<PageOptions> = {};
  const warnings: string[] = [];
  for (const { name, parsed } of layers) {
    Object.assign(given, parsed.given);
    warnings.push(...parsed.warnings.map((w) => `${name}: ${w}`));
  }
  return { options: { ...DEFAULT_OPTIONS, ...given }, given, warnings };
}
