/**
 * Runs once before the container suite: makes sure every image exists (scripts/prepare-images.sh:
 * pulled, or offline stand-ins, plus the kit's users and chat images; seconds when cached), and
 * afterwards removes any compose project a crashed run left behind.
 *
 * Without a Docker engine the suite is skipped with a message, unless CI=true or
 * CLUSTERKIT_REQUIRE_DOCKER=1: there `npm start` has set the engine up, so a missing one is a failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    dockerAvailable: boolean;
  }
}

const repoRoot = path.resolve(import.meta.dirname, "../..");
// The same prefix as support/kit.ts (CLUSTERKIT_TEST_PROJECT_PREFIX).
const PROJECT_PREFIX = process.env["CLUSTERKIT_TEST_PROJECT_PREFIX"] || "ck-test-";

function dockerUp(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

function removeLeftovers(): void {
  const out = spawnSync("docker", ["ps", "-a", "--format", '{{.Label "com.docker.compose.project"}}'], { encoding: "utf8" });
  const projects = new Set(out.stdout.split("\n").filter((p) => p.startsWith(PROJECT_PREFIX)));
  for (const project of projects) {
    const ids = spawnSync("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`], { encoding: "utf8" });
    const list = ids.stdout.split("\n").filter(Boolean);
    if (list.length > 0) spawnSync("docker", ["rm", "-f", "-v", ...list], { stdio: "ignore" });
    spawnSync("docker", ["network", "rm", `${project}_default`], { stdio: "ignore" });
    spawnSync("docker", ["volume", "rm", `${project}_redis-data`], { stdio: "ignore" });
  }
}

export default function setup(project: TestProject): () => void {
  const available = dockerUp();
  if (!available) {
    const message =
      "The containers tests need a Docker engine: `npm start` sets one up (and `npm run down` stops the " +
      "kit, leaving the engine), or leave this project out: `npx vitest run --project '!containers'`.";
    if (process.env["CLUSTERKIT_REQUIRE_DOCKER"] === "1" || process.env["CI"] === "true") throw new Error(message);
    console.warn(`\n[containers] skipped: ${message}\n`);
    project.provide("dockerAvailable", false);
    return () => {};
  }
  removeLeftovers();
  const prepared = spawnSync("bash", [path.join(repoRoot, "scripts/prepare-images.sh"), "users", "chat"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (prepared.status !== 0) {
    throw new Error(`scripts/prepare-images.sh failed:\n${prepared.stdout}\n${prepared.stderr}`);
  }
  project.provide("dockerAvailable", true);
  return removeLeftovers;
}
