// Builds the release executables and their checksums.
//   bun scripts/release.ts                 (npm run release) dist/bunty-{linux,darwin}-{x64,arm64} + dist/SHA256SUMS
//   bun scripts/release.ts --outdir DIR    the same, written to DIR
// The builds are scripts/build.ts --all, run as a child process; then the binary for this machine
// (if it is one of the four) must answer --version, and SHA256SUMS is written in the format of
// `sha256sum` (verify with `cd dist && sha256sum -c SHA256SUMS`). Exits 1 if anything fails, and
// then leaves no SHA256SUMS behind: a release is all four files or none.

import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BUILD_SCRIPT = join(ROOT, "scripts", "build.ts");

/** What scripts/build.ts --all writes, by its naming rule: bunty-<target without "bun-">. */
export const RELEASE_FILES = ["bunty-linux-x64", "bunty-linux-arm64", "bunty-darwin-arm64", "bunty-darwin-x64"] as const;
export const SUMS_FILE = "SHA256SUMS";
const VERSION_DEADLINE_MS = 15_000;

const USAGE = `Usage: bun scripts/release.ts [--outdir DIR]

Builds ${RELEASE_FILES.join(", ")} into DIR (default dist/),
checks that the one for this machine runs, and writes DIR/${SUMS_FILE} (sha256sum format).`;

export interface Checksum {
  name: string;
  size: number;
  sha256: string;
}

/** The SHA-256 of a file as lowercase hex, read as a stream: a 110 MB binary is never held whole. */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** Byte order, as `LC_ALL=C sort` and release tooling expect; not locale order. */
function byName(a: Checksum, b: Checksum): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Hashes the files `names` (plain file names inside `dir`) and writes `dir/<sumsName>` as
 * `sha256sum` would: one `<hex>  <name>` line per file ("  ": text mode, as GNU sha256sum prints
 * on Linux), sorted by name. Written to a temporary name and renamed, so the file is never seen
 * half-written. Returns the entries in the order written.
 */
export async function writeChecksums(dir: string, names: readonly string[], sumsName: string = SUMS_FILE): Promise<Checksum[]> {
  const seen = new Set<string>();
  for (const name of names) {
    // sha256sum escapes names with "\" or a newline (and prefixes the line with "\"); the release
    // names never need that, so such a name is a mistake rather than something to escape.
    if (!name || name === "." || name === ".." || /[/\\\n\r]/.test(name)) throw new Error(`checksums: ${JSON.stringify(name)} is not a plain file name`);
    if (seen.has(name)) throw new Error(`checksums: ${name} is listed twice`);
    if (name === sumsName) throw new Error(`checksums: cannot list ${sumsName} in itself`);
    seen.add(name);
  }
  const entries: Checksum[] = [];
  // One file at a time: the disk is the limit, and memory stays at one chunk.
  for (const name of names) {
    const path = join(dir, name);
    const st = statSync(path); // throws ENOENT with the path: a missing file is an error, not a skipped line
    if (!st.isFile()) throw new Error(`checksums: ${path} is not a regular file`);
    entries.push({ name, size: st.size, sha256: await sha256File(path) });
  }
  entries.sort(byName);
  const target = join(dir, sumsName);
  const temp = `${target}.tmp-${process.pid}`;
  try {
    await Bun.write(temp, entries.map((e) => `${e.sha256}  ${e.name}\n`).join(""));
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  return entries;
}

/** The release file that runs on this machine, if any. */
function hostFile(): string | null {
  const os = process.platform === "linux" ? "linux" : process.platform === "darwin" ? "darwin" : null;
  const arch = process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : null;
  const name = os && arch ? `bunty-${os}-${arch}` : null;
  return name && (RELEASE_FILES as readonly string[]).includes(name) ? name : null;
}

function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith("..") ? path : r;
}

function parse(argv: string[]): { outdir: string } {
  let outdir = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--outdir" || arg.startsWith("--outdir=")) {
      const d = arg === "--outdir" ? argv[++i] : arg.slice("--outdir=".length);
      if (!d) usageError("--outdir needs a directory");
      outdir = resolve(d);
    } else {
      usageError(`unknown option ${arg}`);
    }
  }
  return { outdir };
}

function usageError(message: string): never {
  console.error(`release: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function fail(message: string): never {
  console.error(`release: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { outdir } = parse(process.argv.slice(2));
  const started = performance.now();

  // Stale files from an earlier run must not be mistaken for this run's output (or be hashed
  // after a failed build). dist/bunty, the host build, is not part of a release and stays.
  for (const name of [...RELEASE_FILES, SUMS_FILE]) rmSync(join(outdir, name), { force: true });

  const build = Bun.spawn([process.execPath, BUILD_SCRIPT, "--all", "--outdir", outdir], { cwd: ROOT, stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  const code = await build.exited;
  if (code !== 0) fail(`scripts/build.ts --all failed (exit ${code ?? build.signalCode}); no ${SUMS_FILE} written`);
  const missing = RELEASE_FILES.filter((name) => !existsSync(join(outdir, name)));
  if (missing.length) fail(`the build did not produce ${missing.join(", ")}; no ${SUMS_FILE} written`);

  // A smoke test of what is about to be published: the binary for this machine starts and says
  // which version and commit it is.
  const host = hostFile();
  let version = "";
  if (host) {
    const proc = Bun.spawn([join(outdir, host), "--version"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: VERSION_DEADLINE_MS });
    const [out, err, exit] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    version = out.trim();
    if (exit !== 0 || !/^bunty \S+ \(.+\)$/.test(version)) {
      fail(`${host} --version did not work (exit ${exit ?? proc.signalCode}): ${JSON.stringify((out + err).trim().slice(0, 300))}; no ${SUMS_FILE} written`);
    }
    if (/\((unknown|dev|.*-dirty)\)$/.test(version)) console.warn(`release: warning: the binaries report ${JSON.stringify(version)}: build from a clean commit for a real release`);
  } else {
    console.warn(`release: no release file runs on ${process.platform}-${process.arch}; skipping the --version check`);
  }

  let entries: Checksum[];
  try {
    entries = await writeChecksums(outdir, RELEASE_FILES);
  } catch (e) {
    fail(`cannot write ${SUMS_FILE}: ${(e as Error).message}`);
  }

  console.log(`\nrelease${version ? ` ${version}` : ""} in ${shown(outdir)}/`);
  const width = Math.max(...entries.map((e) => e.name.length));
  for (const e of entries) console.log(`  ${e.name.padEnd(width)}  ${(e.size / 1e6).toFixed(1).padStart(6)} MB  ${String(e.size).padStart(10)} bytes  sha256 ${e.sha256}`);
  console.log(`  ${SUMS_FILE.padEnd(width)}  verify: cd ${shown(outdir)} && sha256sum -c ${SUMS_FILE}`);
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.main) await main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
