// The command line: parses argv into a Config (with the config file and BUNTY_* variables it
// names, config.ts), and the --help text. Every option is described once, in options.ts.

import { envLayer, fileLayer, fromText, put, readConfigFile, resolve, SourceError, type Layer, type Source } from "./config.ts";
import { helpText, OPTIONS, type OptionSpec } from "./options.ts";

import type { Config } from "./types.ts";



const WIDTH = 100;
const COL = 24;
/** One option's lines in --help: the flag, then its help text wrapped at WIDTH in a column at COL. */
function usageLines(o: OptionSpec): string {
  const left = `  ${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`;
  const lines: string[] = [];
  let line = "";
  for (const word of helpText(o).split(" ")) {
    if (line && COL + line.length + 1 + word.length > WIDTH) lines.push(line), (line = word);
    else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  const first = left.length < COL ? `${left.padEnd(COL)}${lines.shift()}` : left;
  return [first, ...lines.map((l) => " ".repeat(COL) + l)].join("\n");
}
const section = (s: OptionSpec["section"]) => OPTIONS.filter((o) => o.section === s && !o.noFlag).map(usageLines).join("\n");

export const USAGE = `Usage: bunty [options] [--] [command [args...]]

Serves a terminal running COMMAND (default: $SHELL, else /bin/sh) to a browser tab.
Open the URL it prints. Each new tab starts a session; a session outlives its connection for
the grace period, so a reload or a dropped network reattaches to the same shell and screen.

Options:
${section("options")}
Security (docs/security.md):
${section("security")}

${section("other")}

Options can also be set in the --config file (by their long names: max-sessions = 10) and in
environment variables (BUNTY_MAX_SESSIONS=10); flags win over variables, variables over the file.
On start, bunty prints one line with the URL to open (http://HOST:PORT/).
Protocol, limits and close codes: docs/protocol.md. Options, metrics, logs, recordings: docs/operations.md.
Exit status: 0 after SIGTERM/SIGINT, 2 for bad options, 1 when the server cannot start.`;

export type ParseResult =
  | { kind: "run"; config: Config }
  | { kind: "print"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  /** `usage: false`: the problem is in the config file or an environment variable, not the command line. */
  | { kind: "error"; message: string; usage?: false };

const BY_FLAG = new Map(OPTIONS.filter((o) => !o.noFlag).flatMap((o) => [[`--${o.name}`, o], ...(o.short ? [[`-${o.short}`, o] as const] : [])]));
const COMMAND = OPTIONS.find((o) => o.key === "command")!;
const CONFIG = OPTIONS.find((o) => o.key === "configFile")!;

/**
 * Parses argv (without the runtime and script), reading the config file it or BUNTY_CONFIG names.
 * Options stop at `--` or the first non-option. Switches take an optional =true/=false.
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): ParseResult {
  const flags: Layer = new Map();
  let print = false;
  try {
    let i = 0;
    for (; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") {
        i++;
        break;
      }
      if (!arg.startsWith("-") || arg === "-") break;
      const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      const o = BY_FLAG.get(name);
      if (!o) throw new Error(`unknown option ${name}`);
      let text: string;
      if (o.type === "bool") text = eq > 0 ? arg.slice(eq + 1) : "true";
      else if (eq > 0) text = arg.slice(eq + 1);
      else if (argv[i + 1] === undefined) throw new Error(`${name} needs a value`);
      else text = argv[++i]!;
      const v = fromText(o, text, name);
      if (o.key === "help" || o.key === "version") {
        if (v) return { kind: o.key };
      } else if (o.key === "printConfig") print = v as boolean;
      else put(flags, o, v);
    }
    if (i < argv.length) put(flags, COMMAND, argv.slice(i));
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  try {
    const vars = envLayer(env);
    const file = (flags.get(CONFIG) ?? vars.get(CONFIG)) as string | undefined;
    const layers: [Source, Layer][] = [["env", vars], ["flag", flags]];
    if (file !== undefined) layers.unshift(["file", fileLayer(file, readConfigFile(file))]);
    const config = resolve(layers, env);
    return { kind: print ? "print" : "run", config };
  } catch (e) {
    return e instanceof SourceError ? { kind: "error", message: e.message, usage: false } : { kind: "error", message: (e as Error).message };
  }
}
