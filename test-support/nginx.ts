import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.js";

const kitConfig = fileURLToPath(new URL("../nginx/nginx.conf", import.meta.url));

export interface TestNginx {
  url: string;
  close(): Promise<void>;
}


/**
 * The kit's own nginx/nginx.conf, rewritten for loopback: Docker's `chat:3000` (found through
 * Docker's DNS) becomes an upstream of the given replica ports, and it listens, logs and keeps
 * its pid and temp files in `dir`. Everything else (WebSocket upgrade, timeouts, retry on a dead
 * replica) is the file the topology ships.
 */
export async function renderNginxConfig(dir: string, port: number, replicas: string[]): Promise<string> {
  let text = await readFile(kitConfig, "utf8");
  const swap = (from: RegExp, to: string) => {
    if (!from.test(text)) throw new Error(`nginx/nginx.conf changed: ${from} not found; update test-support/nginx.ts`);
    text = text.replace(from, to);
  };
  swap(/^pid .*;$/m, `pid ${dir}/nginx.pid;`);
  swap(/^error_log .*;$/m, `error_log ${dir}/error.log notice;`);
  swap(/^\s*access_log \/dev\/stdout upstream;$/m, `  access_log ${dir}/access.log upstream;`);
  swap(/^\s*resolver 127\.0\.0\.11.*;$/m, "");
  swap(/listen 80 default_server;/, `listen 127.0.0.1:${port} default_server;`);
  swap(/"chat:3000"/g, "chat_loopback");
  // max_fails=0: a replica that refused a connection is tried again on the next request. With
  // nginx's default (1 failure = out for 10 s), a rolling restart marks every replica out in turn
  // and nginx answers 502 "no live upstreams" for seconds after they are all back. (In compose a
  // stopped replica's name leaves Docker's DNS instead, so the kit's config never sees this.)
  const upstream = replicas.map((target) => `    server ${target} max_fails=0;`).join("\n");
  swap(
    /^http \{$/m,
    `http {\n  upstream chat_loopback {\n${upstream}\n  }\n` +
      ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`).join("\n"),
  );
  return text;
}

/** Debian's nginx (`apt-get install nginx`) with the kit's config in front of `replicas` (`host:port`). */
export async function startNginx(dir: string, replicas: string[]): Promise<TestNginx> {
  await mkdir(dir, { recursive: true });
  // Workers run as `nobody` when started by root; they write proxy temp files here.
  await chmod(dir, 0o777);
  const port = await freePort();
  await writeFile(join(dir, "nginx.conf"), await renderNginxConfig(dir, port, replicas));
  const bin = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
  const child: ChildProcess = spawn(bin, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  // A missing binary is an 'error' event, not an exit: without this it was an unhandled rejection.
  let spawnError: Error | undefined;
  child.once("error", (error) => (spawnError = error));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot run ${bin} (npm test installs Debian's nginx: scripts/test-prepare.sh): ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${await readFile(join(dir, "error.log"), "utf8").catch(() => "")}`);
    const healthy = await fetch(`${url}/nginx-health`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGQUIT");
      await exited;
    },
  };
}
