// The recipes of docs/deploy.md are the files of deploy/, word for word, and each one holds: the
// Kubernetes manifests pass the Kubernetes API's schemas (kubernetes-models: the OpenAPI schemas
// of Kubernetes compiled to validators, carried in the package, no network) and its types'
// excess-property check (a misspelt field is an error, not silently ignored); the systemd unit
// passes systemd-analyze verify; and the bunty options each one gives parse, as bunty reads them.
// (The nginx recipes run for real in tests/instances.test.ts.)

import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Paths } from "../protocol/index.ts";
import { parseArgs } from "../server/config/cli.ts";
import { SESSION_END_BOUND_MS } from "../server/core/session.ts";
import { ROOT } from "./harness.ts";

const MANIFESTS = join(ROOT, "deploy/k8s/bunty.yaml");
const UNIT = join(ROOT, "deploy/systemd/bunty@.service");
const TSC = join(ROOT, "node_modules/.bin/tsc");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const docs = (): Doc[] => Bun.YAML.parse(readFileSync(MANIFESTS, "utf8")) as Doc[];

/** The kubernetes-models module of a manifest (kubernetes-models/apps/v1/StatefulSet). */
const modelPath = (d: Doc) => `kubernetes-models/${d.apiVersion}/${d.kind}`;

/** Every document through its model's validate() (the API's schema); the errors, one a document. */
async function schemaErrors(all: Doc[]): Promise<string[]> {
  const errors: string[] = [];
  for (const d of all) {
    const Model = (await import(modelPath(d)))[d.kind];
    try {
      new Model(d).validate();
    } catch (e) {
      errors.push(`${d.kind} ${d.metadata?.name}: ${(e as Error).message}`);
    }
  }
  return errors;
}

/** tsc over `const d: IKind = <the document>` for each: TypeScript's output (empty when every field is known and typed right). */
async function typeErrors(all: Doc[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "bunty-k8s-types-"));
  const lines = all.map((d, i) => `import type { I${d.kind} as T${i} } from "${modelPath(d)}";\nexport const d${i}: T${i} = ${JSON.stringify(d)};`);
  writeFileSync(join(dir, "manifests.ts"), lines.join("\n"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: "esnext", moduleResolution: "bundler", target: "esnext", skipLibCheck: true, types: [], paths: { "kubernetes-models/*": [join(ROOT, "node_modules/kubernetes-models/*")] } },
    files: ["manifests.ts"],
  }));
  const p = Bun.spawnSync([TSC, "-p", join(dir, "tsconfig.json")], { cwd: dir, timeout: 60_000 });
  return (p.stdout.toString() + p.stderr.toString()).trim();
}

describe("Kubernetes (deploy/k8s/bunty.yaml)", () => {
  test("every manifest passes the Kubernetes schemas and types; a broken copy does not", async () => {
    const all = docs();
    expect(all.map((d) => d.kind).sort()).toEqual(["Ingress", "Service", "Service", "Service", "Service", "Service", "StatefulSet"]);
    expect(await schemaErrors(all)).toEqual([]);
    expect(await typeErrors(all)).toBe("");
    // The validator catches what it must: a wrong type, a missing field, a misspelt one.
    const broken = docs();
    broken[0].spec.template.spec.containers[0].ports[0].containerPort = "7681";
    delete broken[0].spec.selector;
    broken[1].spec.publishNotReadyAdresses = true;
    const errors = await schemaErrors(broken);
    expect(errors.join("\n")).toContain("containerPort must be integer");
    expect(errors.join("\n")).toContain("must have required property selector");
    expect(await typeErrors(broken)).toMatch(/publishNotReadyAdresses.*does not exist in type 'IServiceSpec'/);
  }, 60_000);

  test("the manifests agree with bunty: its flags, the probes, the drain hook, the grace period, a Service and a path per pod", () => {
    const all = docs();
    const set = all.find((d) => d.kind === "StatefulSet");
    const pod = set.spec.template.spec;
    const c = pod.containers[0];
    const args: string[] = c.args.map((a: string) => a.replaceAll("$(POD_NAME)", "bunty-0"));
    const parsed = parseArgs(args, {});
    expect(parsed).toMatchObject({ kind: "run", config: { instance: "bunty-0", basePath: "/i/bunty-0", host: "0.0.0.0", port: 7681 } });
    const config = (parsed as Extract<typeof parsed, { kind: "run" }>).config;
    expect(c.readinessProbe.httpGet.path).toBe(Paths.ready);
    expect(c.livenessProbe.httpGet.path).toBe(Paths.live);
    expect(c.lifecycle.preStop.exec.command.join(" ")).toContain(`/i/$POD_NAME${Paths.drain}`);
    expect(c.env.find((e: Doc) => e.name === "POD_NAME").valueFrom.fieldRef.fieldPath).toBe("metadata.name");
    // The drain, then bunty's own end of the sessions, fit in the grace period.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.drainTimeoutS * 1000 + SESSION_END_BOUND_MS + 1500);
    const rules = all.find((d) => d.kind === "Ingress").spec.rules[0].http.paths;
    expect(rules.find((r: Doc) => r.path === "/")).toMatchObject({ pathType: "Exact", backend: { service: { name: "bunty" } } });
    for (let k = 0; k < set.spec.replicas; k++) {
      const svc = all.find((d) => d.kind === "Service" && d.metadata.name === `bunty-${k}`);
      expect(svc.spec).toMatchObject({ publishNotReadyAddresses: true, selector: { "statefulset.kubernetes.io/pod-name": `bunty-${k}` } });
      expect(rules.find((r: Doc) => r.path === `/i/bunty-${k}`)).toMatchObject({ pathType: "Prefix", backend: { service: { name: `bunty-${k}` } } });
    }
  });
});

describe("systemd (deploy/systemd/bunty@.service)", () => {
  /** The unit's Environment= values (specifiers resolved for instance `name`), then those of the env files given. */
  function unitEnv(name: string, files: string[] = []): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of readFileSync(UNIT, "utf8").split("\n")) {
      const m = line.match(/^Environment=(.*)$/);
      if (m) for (const kv of m[1]!.split(" ")) env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1).replaceAll("%i", name);
    }
    for (const f of files) for (const line of readFileSync(f, "utf8").split("\n")) if (/^[A-Z_]+=/.test(line)) env[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    return env;
  }
  const execStart = (name: string) => readFileSync(UNIT, "utf8").match(/^ExecStart=\S+ (.*)$/m)![1]!.replaceAll("%i", name).split(" ");

  test.skipIf(!existsSync("/usr/bin/systemd-analyze"))("systemd-analyze verify finds nothing to say about it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunty-unit-"));
    // verify checks that ExecStart's program exists: a stand-in where bunty would be installed.
    writeFileSync(join(dir, "bunty"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(join(dir, "bunty@.service"), readFileSync(UNIT, "utf8").replace("/usr/local/bin/bunty", join(dir, "bunty")));
    const p = Bun.spawnSync(["systemd-analyze", "verify", join(dir, "bunty@a.service")], { timeout: 30_000 });
    expect(p.stderr.toString() + p.stdout.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });

  test("its settings are a configuration bunty starts with, by token or behind single sign-on; the stop timeout covers the drain", () => {
    const token = parseArgs(execStart("a"), unitEnv("a"));
    expect(token).toMatchObject({ kind: "run", config: { instance: "a", basePath: "/i/a", host: "/run/bunty/a/bunty.sock", socketMode: 0o660, tokenFile: "/etc/bunty/token", drainTimeoutS: 300, command: ["/bin/bash", "-l"] } });
    const sso = parseArgs(execStart("b"), unitEnv("b", [join(ROOT, "deploy/systemd/sso.env")]));
    expect(sso).toMatchObject({ kind: "run", config: { instance: "b", authHeader: "X-Forwarded-User", noToken: true, tokenFile: null, allowHosts: ["term.example.com"] } });
    const stopS = Number(readFileSync(UNIT, "utf8").match(/^TimeoutStopSec=(\d+)$/m)![1]);
    expect(stopS * 1000).toBeGreaterThan(300_000 + SESSION_END_BOUND_MS + 1500);
  });
});

test("docs/deploy.md gives every file of deploy/ word for word", () => {
  const doc = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const files = walk(join(ROOT, "deploy"));
  expect(files.length).toBeGreaterThanOrEqual(6);
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    const name = relative(ROOT, f);
    expect(doc.includes(`\n${text}\`\`\``), `${name} is not in docs/deploy.md as it is`).toBe(true);
    expect(doc.includes(name), `docs/deploy.md does not name ${name}`).toBe(true);
  }
});
