/**
 * docs/exercises.md cannot rot: every ```bash block in it runs, in document order, against one
 * kit this file starts (profile all, as `npm start` runs it), and must exit 0 and print each of
 * its `# expect: <regex>` patterns. Blocks marked `# manual` (opening a browser, a command that
 * runs until Ctrl-C) are skipped, but must still name their exercise.
 *
 * The commands are written for participants (`localhost:${NGINX_PORT:-8080}`, `docker compose -f
 * compose/compose.yaml`, project name from compose/.env); here the same variables point them at
 * this kit: its random host ports, and COMPOSE_PROJECT_NAME, which wins over compose/.env.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Kit, frontDoor, imagesEnv, repoRoot } from "./support/kit.js";

interface Block {
  exercise: string;
  manual: boolean;
  expects: RegExp[];
  script: string;
  line: number;
}

/** The bash blocks of a Markdown document, with their `# exercise:`, `# expect:` and `# manual` lines. */
export function parseExercises(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```bash\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) {
    const script = match[1]!;
    const line = markdown.slice(0, match.index).split("\n").length;
    const exercise = /^# exercise: (\S+)$/m.exec(script)?.[1];
    if (!exercise) throw new Error(`docs/exercises.md:${line}: a bash block without '# exercise: <id>'`);
    const expects = [...script.matchAll(/^# expect: (.+)$/gm)].map((m) => new RegExp(m[1]!));
    blocks.push({ exercise, manual: /^# manual$/m.test(script), expects, script, line });
  }
  return blocks;
}

const doc = readFileSync(path.join(repoRoot, "docs/exercises.md"), "utf8");
const blocks = parseExercises(doc);
const exercises = [...new Set(blocks.map((b) => b.exercise))];

interface Run {
  code: number | null;
  output: string;
}

/** Runs one block with bash (errexit, pipefail) from the repository root, stdout and stderr together. */
function runBlock(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout also ends what the block started in the background.
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: repoRoot, env, detached: true });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[timed out after ${timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("docs/exercises.md", () => {
  it("has 8 to 12 exercises, each with a runnable block that checks its output", () => {
    expect(exercises.length).toBeGreaterThanOrEqual(8);
    expect(exercises.length).toBeLessThanOrEqual(12);
    for (const exercise of exercises) {
      const runnable = blocks.filter((b) => b.exercise === exercise && !b.manual);
      expect(runnable.length, exercise).toBeGreaterThan(0);
      expect(runnable.some((b) => b.expects.length > 0), exercise).toBe(true);
    }
    // Every exercise has its question and a folded answer.
    expect(doc.match(/^## \d+\. /gm)?.length).toBe(exercises.length);
    expect(doc.match(/<details><summary>Answer<\/summary>/g)?.length).toBe(exercises.length);
  });
});

describe.skipIf(!inject("dockerAvailable"))("docs/exercises.md against a running kit", () => {
  let kit: Kit;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const door = frontDoor();
    kit = await Kit.start({
      profile: "all",
      extraProfiles: door.profiles,
      services: ["redis", "users", "chat", "nginx", door.service],
      scale: { chat: 3, users: 2 },
    });
    const [nginx] = await kit.containers("nginx");
    const [front] = await kit.containers(door.service);
    // What a participant's shell has after `npm start`, pointed at this kit. The auth switches
    // and CHAT_LB are the exercises' to set, so none leaks in from the developer's shell.
    const { USERS_AUTH_TOKEN: _t, CHAT_AUTH_SECRET: _s, CHAT_LB: _l, ...inherited } = process.env;
    env = {
      ...inherited,
      ...imagesEnv(),
      COMPOSE_PROJECT_NAME: kit.project,
      NGINX_PORT: String(await kit.hostPort(nginx!.id, 80)),
      ENVOY_PORT: String(await kit.hostPort(front!.id, 9000)),
      USERS_HOST_PORTS: "0",
      ENVOY_ADMIN_PORT: "0",
      LOG_LEVEL: "warn",
    };
  });

  afterAll(async () => {
    await kit?.down();
  });

  for (const exercise of exercises) {
    it(`exercise ${exercise}: every block runs and shows what the doc says`, async () => {
      for (const block of blocks.filter((b) => b.exercise === exercise && !b.manual)) {
        const started = Date.now();
        const { code, output } = await runBlock(block.script, env, 100_000);
        const where = `docs/exercises.md:${block.line} (${Date.now() - started} ms)\n${output}`;
        expect(code, where).toBe(0);
        for (const pattern of block.expects) expect(output, where).toMatch(pattern);
      }
    }, 240_000);
  }
});
