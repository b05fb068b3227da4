/**
 * Runs once before the container suite: fails fast, with what to do, when no Docker engine answers.
 */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
  } catch {
    throw new Error(
      "The containers tests need a Docker engine. Start one with `npm start` (or, as root on Debian, " +
        "`bash scripts/ci-prepare.sh`), or leave this project out: `npx vitest run --project '!containers'`.",
    );
  }
}
