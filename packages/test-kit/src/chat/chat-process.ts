import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../free-port.js";

const workspace = fileURLToPath(new URL("../../../../websocket-chat/", import.meta.url));

export interface ChatProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals>;
}


/**
 * Runs `src/main.ts` as its own process, exactly as `npm start` does, and waits until it listens.
 * `options.workspace`: another checkout's chat workspace (a drill comparing with main).
 */
export async function startChatProcess(env: Record<string, string>, options: { workspace?: string } = {}): Promise<ChatProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: options.workspace ?? workspace,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", WEB_DIST: "/nonexistent", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)),
  );
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chat process did not start:\n${output}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("chat replica listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((how) => reject(new Error(`chat process exited (${how}) before listening:\n${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, exited };
}
