// Owner: client (browser page). The page's display options (docs/client.md): the server's defaults
// (`-t key=value`, in a meta tag of the page), then the URL query (?fontSize=16&theme=light...)
// over them; and the page's colours around its terminals. Reads the page only when asked.

import { Query } from "../protocol/index.ts";
import { layerOptions, OPTIONS_META, parseOptions, type ParsedOptions } from "../protocol/options.ts";
import { THEMES, type ThemeName } from "./themes.ts";

/** The options in effect, and a warning for each one ignored (the caller logs them). */
export function readDisplayOptions(): ParsedOptions {
  return layerOptions([
    { name: "server option", parsed: parseOptions(document.querySelector<HTMLMetaElement>(`meta[name="${OPTIONS_META}"]`)?.content ?? "") },
    { name: "URL option", parsed: parseOptions(location.search, Object.values(Query)) },
  ]);
}

/** The page around the terminals takes the theme's colours (padding, scrollbar, search box). */
export function applyPageTheme(name: ThemeName): void {
  const theme = THEMES[name];
  const root = document.documentElement.style;
  root.setProperty("--bg", theme.colors.background!);
  root.setProperty("--fg", theme.colors.foreground!);
  root.colorScheme = theme.scheme;
}
