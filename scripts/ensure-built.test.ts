import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "..");

/**
 * scripts/ensure-built.mjs on a one-file workspace laid out like the kit's (a root
 * tsconfig.base.json, <workspace>/tsconfig.json compiling src/ to dist/), with the kit's
 * TypeScript: what `npm run grpc`, `npm start -w …` and prepare-images.sh rely on.
 */
let root: string;
const source = () => path.join(root, "ws", "src", "answer.ts");
const output = () => readFileSync(path.join(root, "ws", "dist", "answer.js"), "utf8");

function run(): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, "scripts", "ensure-built.mjs"), "ws"], (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

/** Rewrites the source with a modification time safely after the last build's. */
function edit(text: string): void {
  writeFileSync(source(), text);
  const later = new Date(Date.now() + 2_000);
  utimesSync(source(), later, later);
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "ensure-built-"));
  mkdirSync(path.join(root, "scripts"));
  mkdirSync(path.join(root, "ws", "src"), { recursive: true });
  copyFileSync(path.join(repoRoot, "scripts", "ensure-built.mjs"), path.join(root, "scripts", "ensure-built.mjs"));
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"));
  const base = { compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, composite: true, types: [] } };
  writeFileSync(path.join(root, "tsconfig.base.json"), JSON.stringify(base));
  writeFileSync(path.join(root, "ws", "package.json"), JSON.stringify({ type: "module" }));
  const project = { extends: "../tsconfig.base.json", compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" }, include: ["src"] };
  writeFileSync(path.join(root, "ws", "tsconfig.json"), JSON.stringify(project));
  writeFileSync(source(), "export const answer = 41;\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Each case runs tsc at least once: seconds, more on a loaded machine.
describe("scripts/ensure-built.mjs", { timeout: 120_000 }, () => {
  it("compiles a workspace with no dist/, then does nothing while src/ is unchanged", async () => {
    const first = await run();
    expect(first).toMatchObject({ code: 0 });
    expect(first.stderr).toContain("compiling ws");
    expect(output()).toContain("41");
    expect(await run()).toEqual({ code: 0, stderr: "" });
  });

  it("recompiles after a source changes", async () => {
    edit("export const answer = 42;\n");
    const rebuilt = await run();
    expect(rebuilt.stderr).toContain("compiling ws");
    expect(output()).toContain("42");
  });

  it("lets one of two starts side by side compile while the other waits for it", async () => {
    edit("export const answer = 43;\n");
    const both = await Promise.all([run(), run()]);
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    expect(both.filter((r) => r.stderr.includes("compiling ws"))).toHaveLength(1);
    expect(output()).toContain("43");
  });

  it("fails with tsc's errors while the source does not type-check, every time", async () => {
    edit("export const answer: string = 44;\n");
    const failed = await run();
    expect(failed.code).not.toBe(0);
    // On stderr: stdout is the command's own output (userctl --json is piped into other tools).
    expect(failed.stderr).toMatch(/error TS2322/);
    // ...and again on the next run, although tsc wrote dist/ and its build info anyway.
    const again = await run();
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/error TS2322/);
  });
});
