// Builds bunty as a single executable with `bun build --compile`.
//   bun scripts/build.ts                          dist/bunty for this machine
//   bun scripts/build.ts --target bun-linux-arm64 dist/bunty-linux-arm64
//   bun scripts/build.ts --all                    the four release targets
//   bun scripts/build.ts --all --outdir /tmp/x    the same, written to /tmp/x instead of dist
// Cross targets make Bun download that target's runtime from the npm registry once.

import { statSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ENTRY = "server/main.ts";
// Workers are not found by the bundler: each must be an extra entry point. The executable embeds
// each entry point at its path relative to --root and names the main one after the outfile, all in
// /$bunfs/root/. Pinning --root=server puts the worker at /$bunfs/root/core/screen-worker.js, which
// is where `new URL("./core/screen-worker.ts", import.meta.url)` in server/app.ts points once
// bundled (every module's import.meta.url is then /$bunfs/root/bunty); from source it points
// into server/core/ too.
const WORKERS = ["server/core/screen-worker.ts"];
const ROOT_DIR = "server";
const TARGETS = ["bun-linux-x64", "bun-linux-arm64", "bun-darwin-x64", "bun-darwin-arm64"] as const;
type Target = (typeof TARGETS)[number];

const USAGE = `Usage: bun scripts/build.ts [--target ${TARGETS.join("|")}] [--all] [--outdir DIR]

Without options, builds dist/bunty for this machine. With --target T, builds dist/bunty-<T without "bun-">.
--all builds every release target. --outdir DIR writes into DIR (relative to the current directory)
instead of dist/. BUNTY_COMMIT in the environment overrides the commit the binary reports
(for builds without .git, e.g. in Docker).`;

function parse(argv: string[]): { targets: (Target | null)[]; outdir: string } {
  let targets: (Target | null)[] = [null]; // null: the host, named plain dist/bunty
  let outdir = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--all") {
      targets = [...TARGETS];
    } else if (arg === "--target" || arg.startsWith("--target=")) {
      const t = arg === "--target" ? argv[++i] : arg.slice("--target=".length);
      if (!TARGETS.includes(t as Target)) usageError(`--target must be one of ${TARGETS.join(", ")}, got ${JSON.stringify(t ?? "")}`);
      targets = [t as Target];
    } else if (arg === "--outdir" || arg.startsWith("--outdir=")) {
      const d = arg === "--outdir" ? argv[++i] : arg.slice("--outdir=".length);
      if (!d) usageError("--outdir needs a directory");
      outdir = resolve(d);
    } else {
      usageError(`unknown option ${arg}`);
    }
  }
  return { targets, outdir };
}

function usageError(message: string): never {
  console.error(`build: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function gitCommit(): string {
  const given = process.env.BUNTY_COMMIT?.trim();
  if (given) return given;
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const sha = r.stdout.toString().trim();
    if (r.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(sha)) {
      // A build from uncommitted changes says so: the commit alone would claim code it does not hold.
      const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
      return dirty.exitCode === 0 && dirty.stdout.toString().trim() ? `${sha}-dirty` : sha;
    }
  } catch {} // git missing: still build
  return "unknown";
}

async function build(target: Target | null, commit: string, outdir: string): Promise<boolean> {
  const outfile = join(outdir, target ? `bunty-${target.slice("bun-".length)}` : "bunty"); // absolute
  const args = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    // No --bytecode: it would need --format=esm too, and start-up is already fast.
    `--define=BUNTY_COMMIT=${JSON.stringify(commit)}`,
    `--define=process.env.NODE_ENV=${JSON.stringify("production")}`,
    ...(target ? [`--target=${target}`] : []),
    `--outfile=${outfile}`,
    `--root=${ROOT_DIR}`,
    ENTRY,
    ...WORKERS,
  ];
  const started = performance.now();
  const proc = Bun.spawn(args, { cwd: ROOT, stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  if (code !== 0) {
    console.error(`build: ${target ?? "host"} failed (bun build exited with ${code ?? proc.signalCode})`);
    return false;
  }
  const size = statSync(outfile).size;
  const ms = Math.round(performance.now() - started);
  const shown = relative(process.cwd(), outfile);
  console.log(`built ${shown.startsWith("..") ? outfile : shown}  ${(size / 1e6).toFixed(1)} MB (${size} bytes) in ${ms} ms`);
  return true;
}

const { targets, outdir } = parse(process.argv.slice(2));
const commit = gitCommit();
mkdirSync(outdir, { recursive: true });
let failed = 0;
// One at a time: cross builds download runtimes and each build holds a 100 MB binary in memory.
for (const t of targets) if (!(await build(t, commit, outdir))) failed++;
if (failed) {
  console.error(`build: ${failed} of ${targets.length} build(s) failed`);
  process.exit(1);
}
