// Compiles the runnable workspaces (`tsc -b`: src/ -> dist/) when a dist/ is missing or older
// than its sources, so a fresh clone runs compiled JavaScript with no separate build step:
//   node scripts/ensure-built.mjs packages/redis-kit packages/service-kit grpc-demo websocket-chat
// List the shared packages (packages/redis-kit, packages/service-kit) beside its dependants: only the listed workspaces'
// sources are compared, so a change to the package alone would otherwise go unbuilt.
// The check walks src/ comparing modification times (a few ms); tsc starts only when something
// changed, because even a no-op `tsc -b` costs about a second. Replicas started side by side
// (the chat README starts three at once) take turns through a lock directory, so one builds and
// the others find it done.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const lock = join(root, ".tsbuild", "build.lock");
const LOCK_STALE_MS = 5 * 60_000;

const buildInfoOf = (workspace) => join(root, workspace, "dist", ".tsbuildinfo");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The newest modification time among `workspace`'s sources and the configs it compiles with. */
function newestInput(workspace) {
  const dir = join(root, workspace);
  const configs = [join(dir, "tsconfig.json"), join(root, "tsconfig.base.json")].filter((file) => existsSync(file));
  return Math.max(newestSource(join(dir, "src")), ...configs.map((file) => statSync(file).mtimeMs));
}

/** True when `workspace`'s dist/ is missing or a source or config file changed after its last build. */
export function isStale(workspace) {
  const buildInfo = buildInfoOf(workspace);
  if (!existsSync(buildInfo)) return true;
  return newestInput(workspace) > statSync(buildInfo).mtimeMs;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function withLock(run) {
  mkdirSync(join(root, ".tsbuild"), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      // A build killed half-way leaves its lock behind: past a build's longest run, take it over.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    return run();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Compiles the stale ones of `workspaces`; returns tsc's exit status (0 when nothing was stale). */
function build(workspaces) {
  const stale = workspaces.filter(isStale);
  if (stale.length === 0) return 0; // another process built them while this one waited
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    console.error(`${stale.join(", ")}: dist/ is missing or stale and TypeScript is not installed: run \`npm ci\` at the repository root`);
    return 1;
  }
  console.error(`compiling ${stale.join(", ")} (tsc -b; once after each change to src/)`);
  // tsc reports on stdout: send it to stderr, which is where a command's output is not.
  const result = spawnSync(process.execPath, [tsc, "-b", ...stale.map((workspace) => join(root, workspace))], {
    stdio: ["ignore", 2, 2],
  });
  if (result.status === 0) {
    // Date the build info no earlier than what it was built from (tsc may leave it untouched, and
    // a source's clock may run ahead of ours), so a start that waited on the lock finds it done.
    for (const workspace of stale) {
      if (!existsSync(buildInfoOf(workspace))) continue;
      // A millisecond past the newest input: utimes goes through float seconds and can land a
      // hair before the time it was given, which would read as stale again.
      const at = new Date(Math.max(Date.now(), Math.ceil(newestInput(workspace)) + 1));
      utimesSync(buildInfoOf(workspace), at, at);
    }
    return 0;
  }
  // tsc -b writes dist/ and its build info even with type errors: date the build info back so
  // the next run compiles (and fails) again instead of running what did not type-check.
  for (const workspace of stale) if (existsSync(buildInfoOf(workspace))) utimesSync(buildInfoOf(workspace), 0, 0);
  return result.status ?? 1;
}

/** Builds each stale workspace (and what it references); exits the process with tsc's errors when that fails. */
export function ensureBuilt(workspaces) {
  if (!workspaces.some(isStale)) return;
  // Exit only once the lock is released (process.exit would skip the finally that releases it).
  const status = withLock(() => build(workspaces));
  if (status !== 0) process.exit(status);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const workspaces = process.argv.slice(2);
  if (workspaces.length === 0) {
    console.error("usage: node scripts/ensure-built.mjs <workspace>... (packages/redis-kit, packages/service-kit, grpc-demo, websocket-chat)");
    process.exit(2);
  }
  ensureBuilt(workspaces);
}
