// Owner: client (browser page). The page's options (docs/client.md): the server's defaults
// (`-t key=value`, in a meta tag of the page), then the URL query (?fontSize=16&theme=light...)
// over them, for the display (protocol/options.ts) and the workspace (protocol/workspace-options.ts); the
// server's instance name (a meta tag); and the page's colours around its terminals. Reads the
// page only when asked.

import { Query } from "../protocol/index.ts";
import { layerOptions, OPTIONS_META, parseOptions, type ParsedOptions } from "../protocol/options.ts";
import { LAYOUT_PARAM } from "./address.ts";
import { THEMES, type ThemeName } from "./themes.ts";
import { parseWorkspaceOptions, WORKSPACE_KEYS, type WorkspaceOptions } from "../protocol/workspace-options.ts";

/** The meta tag naming this server instance (set by the server when it has a name; may be absent). */
export const INSTANCE_META = "bunty-instance";

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? null;
/** Parameters of the address that are not display options: the server's, and the workspace's. */
const OTHER_KEYS: readonly string[] = [...Object.values(Query), LAYOUT_PARAM, ...WORKSPACE_KEYS];

/** The options in effect, and a warning for each one ignored (the caller logs them). */
export function readDisplayOptions(): ParsedOptions {
  return layerOptions([
    { name: "server option", parsed: parseOptions(meta(OPTIONS_META) ?? "", WORKSPACE_KEYS) },
    { name: "URL option", parsed: parseOptions(location.search, OTHER_KEYS) },
  ]);
}

/** The workspace's options (prediction, shortcuts): the same two layers. */
export function readWorkspaceOptions(): { options: WorkspaceOptions; warnings: string[] } {
  return parseWorkspaceOptions([
    { name: "server option", query: meta(OPTIONS_META) ?? "" },
    { name: "URL option", query: location.search },
  ]);
}

/** The server's instance name, or null (read when asked: cheap, and a test may change the tag). */
export const instanceName = (): string | null => meta(INSTANCE_META)?.trim().slice(0, 80) || null;

/** The page around the terminals takes the theme's colours (padding, scrollbar, search box). */
export function applyPageTheme(name: ThemeName): void {
  const theme = THEMES[name];
  const root = document.documentElement.style;
  root.setProperty("--bg", theme.colors.background!);
  root.setProperty("--fg", theme.colors.foreground!);
  root.colorScheme = theme.scheme;
}
