// Compiles grpc-demo (src/ -> dist/, `tsc -b`) when dist/ is missing or older than its sources,
// so a fresh clone runs the compiled CLI and service without a separate build step. The check is
// a walk of src/ comparing modification times (a few ms); tsc itself starts only when needed,
// because even its no-op `tsc -b` costs about a second.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, URL } from "node:url";

const workspace = fileURLToPath(new URL("..", import.meta.url));
const buildInfo = join(workspace, "dist", ".tsbuildinfo");
/** Files besides src/ whose change changes the output. */
const configFiles = [join(workspace, "tsconfig.json"), join(workspace, "..", "tsconfig.base.json")];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or a source or config file changed after the last build. */
export function isStale() {
  if (!existsSync(buildInfo)) return true;
  const built = statSync(buildInfo).mtimeMs;
  const configs = configFiles.filter((file) => existsSync(file)).map((file) => statSync(file).mtimeMs);
  return Math.max(newestSource(join(workspace, "src")), ...configs) > built;
}

/** Builds dist/ when it is stale; exits the process with tsc's errors when the build fails. */
export function ensureBuilt() {
  if (!isStale()) return;
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    console.error("grpc-demo/dist is missing or stale and TypeScript is not installed: run `npm ci` at the repository root");
    process.exit(1);
  }
  console.error("grpc-demo: compiling src/ to dist/ (tsc -b grpc-demo; once after each change)");
  const result = spawnSync(process.execPath, [tsc, "-b", workspace], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// `node bin/ensure-built.mjs` (npm run build -w grpc-demo, and before npm start) builds when stale.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) ensureBuilt();
