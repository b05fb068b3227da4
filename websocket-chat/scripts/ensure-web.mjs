// Builds the browser client when web/dist is missing or older than its sources (web/src,
// web/public, web/index.html, vite.config.ts), so `npm start` works from a fresh clone and serves
// the page as the checkout has it.
import { existsSync, readdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath, URL } from "node:url";

const workspace = fileURLToPath(new URL("..", import.meta.url));
// Both pages: a dist built before the cluster view existed lacks cluster.html.
const pages = ["index.html", "cluster.html"].map((page) => join(workspace, "web", "dist", page));

function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ["web/src", "web/public", "web/index.html", "vite.config.ts"].map((path) => newest(join(workspace, path)));
const oldest = Math.min(...pages.map((page) => (existsSync(page) ? statSync(page).mtimeMs : 0)));
if (Math.max(...sources) > oldest) {
  console.log("web/dist is missing or older than web/: building the browser client (npm run build:web)");
  const result = spawnSync("npm", ["run", "build:web"], { cwd: workspace, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
