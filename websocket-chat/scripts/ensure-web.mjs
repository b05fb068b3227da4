// Builds the browser client when web/dist is missing, so `npm start` works from a fresh clone.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, URL } from "node:url";

const workspace = fileURLToPath(new URL("..", import.meta.url));
// Both pages: a dist built before the cluster view existed lacks cluster.html.
if (!["index.html", "cluster.html"].every((page) => existsSync(`${workspace}/web/dist/${page}`))) {
  console.log("web/dist is missing or out of date: building the browser client once (npm run build:web)");
  const result = spawnSync("npm", ["run", "build:web"], { cwd: workspace, stdio: "inherit" });
  process.exit(result.status ?? 1);
}
