import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const workspace = fileURLToPath(new URL("../../", import.meta.url));

export interface CliRun {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** Resolves once stdout or stderr contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Compiles the CLI when src/ changed (scripts/ensure-built.mjs, as `npm run grpc` does), so each run
 * below starts at once. Call it in `beforeAll` with a timeout that allows a full `tsc -b`.
 */
export function buildCli(): void {
  const build = spawnSync(process.execPath, ["../scripts/ensure-built.mjs", "grpc-demo"], { cwd: workspace, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stdout}\n${build.stderr}`);
}

/** Runs `userctl` as its own process, as a participant would: the compiled CLI on plain node (bin/userctl.mjs). */
export function runCli(args: string[], input?: string): CliRun {
  const child = spawn(process.execPath, ["bin/userctl.mjs", ...args], { cwd: workspace, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: Array<() => void> = [];
  const wake = () => waiters.forEach((w) => w());
  child.stdout.on("data", (c: Buffer) => ((out += c.toString()), wake()));
  child.stderr.on("data", (c: Buffer) => ((err += c.toString()), wake()));
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${text}' in CLI output:\n${out}\n${err}`)), timeoutMs);
        const check = () => {
          if (!out.includes(text) && !err.includes(text)) return;
          clearTimeout(timer);
          resolve();
        };
        waiters.push(check);
        check();
      });
    },
  };
}
