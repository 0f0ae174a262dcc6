// The release tooling without the cost of a release (4 x 110 MB): SHA256SUMS is checked against
// GNU sha256sum on small files, and one cross build (linux-arm64) into a temporary directory
// proves --target and --outdir produce an executable for the other architecture.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RELEASE_FILES, SUMS_FILE, sha256File, writeChecksums } from "../scripts/release.ts";

const ROOT = resolve(import.meta.dir, "..");
const CROSS_BUILD_TIMEOUT_MS = 120_000;
const hasSha256sum = Bun.which("sha256sum") !== null;

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bunty-release-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a command to completion; stdout, stderr and exit code. */
async function run(argv: string[], cwd: string): Promise<{ out: string; err: string; code: number | null }> {
  const proc = Bun.spawn(argv, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { out, err, code };
}

describe("SHA256SUMS", () => {
  // Sizes around the stream's chunk boundaries, an empty file, and names whose locale order
  // differs from byte order (upper case, "-" vs "_", a digit), given out of order.
  const files: [string, Uint8Array][] = [
    ["bunty-linux-x64", randomBytes(300_000)],
    ["bunty-darwin-arm64", randomBytes(65_536)],
    ["Bunty-upper", new TextEncoder().encode("hello\n")],
    ["bunty_underscore", randomBytes(65_537)],
    ["bunty-2", new Uint8Array(0)],
  ];

  test.skipIf(!hasSha256sum)("matches sha256sum, line for line, sorted by name", async () => {
    const sub = join(dir, "sums");
    await mkdir(sub, { recursive: true });
    for (const [name, data] of files) await writeFile(join(sub, name), data);
    const names = files.map(([name]) => name);

    const entries = await writeChecksums(sub, names);
    const written = await readFile(join(sub, SUMS_FILE), "utf8");

    const sorted = Bun.spawnSync(["sort"], { stdin: Buffer.from(names.join("\n") + "\n"), env: { ...process.env, LC_ALL: "C" } }).stdout.toString().trim().split("\n");
    const reference = await run(["sha256sum", "--", ...sorted], sub);
    expect(reference.code).toBe(0);
    expect(written).toBe(reference.out);
    expect(entries.map((e) => e.name)).toEqual(sorted);
    for (const e of entries) expect(e.size).toBe(files.find(([n]) => n === e.name)![1].length);

    // And what the README tells users to run accepts it.
    const check = await run(["sha256sum", "-c", SUMS_FILE], sub);
    expect(check.code).toBe(0);
    expect(check.out.trim().split("\n")).toEqual(sorted.map((n) => `${n}: OK`));
    // No temporary file is left next to it.
    expect((await readdir(sub)).sort()).toEqual([...names, SUMS_FILE].sort());
  });

  test.skipIf(!hasSha256sum)("sha256sum -c catches a changed file", async () => {
    const sub = join(dir, "tamper");
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, "a"), "one");
    await writeFile(join(sub, "b"), "two");
    await writeChecksums(sub, ["b", "a"]);
    await writeFile(join(sub, "b"), "tw0");
    const check = await run(["sha256sum", "-c", SUMS_FILE], sub);
    expect(check.code).not.toBe(0);
    expect(check.out).toContain("b: FAILED");
    expect(check.out).toContain("a: OK");
  });

  test("sha256File streams to the known digest", async () => {
    const p = join(dir, "abc");
    await writeFile(p, "abc");
    expect(await sha256File(p)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const big = join(dir, "big"); // several stream chunks
    const data = randomBytes(1_500_000);
    await writeFile(big, data);
    expect(await sha256File(big)).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
  });

  test("refuses missing files and names sha256sum would have to escape, writing nothing", async () => {
    const sub = join(dir, "bad");
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, "present"), "x");
    await expect(writeChecksums(sub, ["present", "absent"])).rejects.toThrow(/ENOENT|no such file/i);
    for (const bad of ["a/b", "back\\slash", "new\nline", "", "..", SUMS_FILE]) {
      await expect(writeChecksums(sub, [bad])).rejects.toThrow(/plain file name|in itself/);
    }
    await expect(writeChecksums(sub, ["present", "present"])).rejects.toThrow(/twice/);
    expect(await readdir(sub)).toEqual(["present"]);
  });

  test("the release names are the ones scripts/build.ts --all writes", async () => {
    const build = await readFile(join(ROOT, "scripts", "build.ts"), "utf8");
    const targets = JSON.parse(build.match(/const TARGETS = (\[[^\]]*\])/)![1]!) as string[];
    expect(targets.map((t) => `bunty-${t.slice("bun-".length)}`).sort()).toEqual([...RELEASE_FILES].sort());
  });
});

describe("release CLI", () => {
  test("--help exits 0 and a bad option exits 2, both without building", async () => {
    const help = await run([process.execPath, "scripts/release.ts", "--help"], ROOT);
    expect(help.code).toBe(0);
    expect(help.out).toContain("Usage: bun scripts/release.ts");
    const bad = await run([process.execPath, "scripts/release.ts", "--bogus"], ROOT);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unknown option --bogus");
  });
});

// scripts/release.ts end to end, with a stand-in scripts/build.ts that writes tiny shell scripts
// instead of 110 MB executables: the orchestration (stale files, exit codes, the --version smoke
// test, SHA256SUMS) is what is tested here; the real build is tested below and by binary.test.ts.
describe("release with a stand-in build", () => {
  const FAKE_BUILD = `
    import { mkdirSync, writeFileSync } from "node:fs";
    import { join } from "node:path";
    const argv = process.argv.slice(2);
    if (argv[0] !== "--all" || argv[1] !== "--outdir" || !argv[2]) { console.error("fake build: unexpected args " + argv.join(" ")); process.exit(9); }
    const mode = process.env.FAKE_BUILD ?? "ok";
    mkdirSync(argv[2], { recursive: true });
    for (const name of ${JSON.stringify(RELEASE_FILES)}) {
      if (mode === "partial" && name === "bunty-darwin-x64") continue;
      const body = mode === "broken" ? "exit 3" : 'echo "bunty 0.1.0 (abc1234)"';
      writeFileSync(join(argv[2], name), "#!/bin/sh\\n# " + name + "\\n" + body + "\\n", { mode: 0o755 });
    }
    process.exit(mode === "fail" ? 1 : 0);
  `;
  let fakeRoot = "";
  let out = "";
  beforeAll(async () => {
    fakeRoot = join(dir, "fake-root");
    out = join(dir, "fake-out");
    await mkdir(join(fakeRoot, "scripts"), { recursive: true });
    await writeFile(join(fakeRoot, "scripts", "release.ts"), await readFile(join(ROOT, "scripts", "release.ts")));
    await writeFile(join(fakeRoot, "scripts", "build.ts"), FAKE_BUILD);
  });
  const release = async (mode: string) => {
    const proc = Bun.spawn([process.execPath, join(fakeRoot, "scripts", "release.ts"), "--outdir", out], {
      cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, FAKE_BUILD: mode },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { out: stdout, err: stderr, code };
  };
  /** A SHA256SUMS from an earlier release, which a failed run must not leave looking valid. */
  const plantStale = async () => {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, SUMS_FILE), "stale\n");
    await writeFile(join(out, "bunty"), "the host build, not part of a release\n");
  };
  const onReleaseHost = ["linux", "darwin"].includes(process.platform) && ["x64", "arm64"].includes(process.arch);

  test.skipIf(!hasSha256sum || !onReleaseHost)("writes SHA256SUMS that sha256sum -c accepts, and prints each file", async () => {
    await plantStale();
    const r = await release("ok");
    if (r.code !== 0) throw new Error(`release failed (exit ${r.code}):\n${r.out}\n${r.err}`);
    const check = await run(["sha256sum", "-c", SUMS_FILE], out);
    expect(check.code).toBe(0);
    expect(check.out.trim().split("\n")).toEqual([...RELEASE_FILES].sort().map((n) => `${n}: OK`));
    expect(r.out).toContain("release bunty 0.1.0 (abc1234)");
    for (const name of RELEASE_FILES) expect(r.out).toContain(await sha256File(join(out, name)));
    expect(await readFile(join(out, "bunty"), "utf8")).toContain("host build"); // left alone
  });

  test.skipIf(!onReleaseHost)("a failed build exits 1 and leaves no SHA256SUMS", async () => {
    await plantStale();
    const r = await release("fail");
    expect(r.code).toBe(1);
    expect(r.err).toContain("scripts/build.ts --all failed");
    expect(await Bun.file(join(out, SUMS_FILE)).exists()).toBe(false);
  });

  test.skipIf(!onReleaseHost)("a missing output exits 1 and leaves no SHA256SUMS", async () => {
    await plantStale();
    const r = await release("partial");
    expect(r.code).toBe(1);
    expect(r.err).toContain("did not produce bunty-darwin-x64");
    expect(await Bun.file(join(out, SUMS_FILE)).exists()).toBe(false);
  });

  test.skipIf(!onReleaseHost)("a host binary that cannot report its version exits 1 and leaves no SHA256SUMS", async () => {
    await plantStale();
    const r = await release("broken");
    expect(r.code).toBe(1);
    expect(r.err).toContain("--version did not work (exit 3)");
    expect(await Bun.file(join(out, SUMS_FILE)).exists()).toBe(false);
  });
});

test(
  "build.ts --target bun-linux-arm64 --outdir writes an aarch64 ELF there",
  async () => {
    const out = join(dir, "cross");
    const r = await run([process.execPath, "scripts/build.ts", "--target", "bun-linux-arm64", "--outdir", out], ROOT);
    if (r.code !== 0) throw new Error(`build failed (exit ${r.code}):\n${r.out}\n${r.err}`);
    expect(await readdir(out)).toEqual(["bunty-linux-arm64"]);
    const file = Bun.file(join(out, "bunty-linux-arm64"));
    expect(file.size).toBeGreaterThan(10_000_000); // the runtime is embedded
    const h = new Uint8Array(await file.slice(0, 64).arrayBuffer());
    expect([...h.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
    expect(h[4]).toBe(2); // ELFCLASS64
    expect(h[5]).toBe(1); // little-endian
    expect(h[18]! | (h[19]! << 8)).toBe(0xb7); // e_machine: EM_AARCH64
    await rm(out, { recursive: true, force: true }); // 110 MB: gone now, not at the end of the run
  },
  CROSS_BUILD_TIMEOUT_MS,
);

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65_536)));
  return b;
}
