import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.js";

const kitDir = fileURLToPath(new URL("../../../nginx/", import.meta.url));

export interface TestNginx {
  url: string;
  /** The rendered config (for `nginx -t`, or to rewrite chat-replicas.conf and reload). */
  config: string;
  /** `nginx -s reload`: re-reads the config, as run.sh does after --scale. */
  reload(): Promise<void>;
  close(): Promise<void>;
}


/** How /socket.io/ is balanced: the kit's CHAT_LB (nginx/chat-lb/<mode>.conf). */
export type ChatLb = "ip_hash" | "hash" | "cookie";

export interface NginxOptions {
  /** @default "ip_hash", the kit's default */
  chatLb?: ChatLb;
  /** Address nginx listens on. @default "127.0.0.1" */
  host?: string;
}

/**
 * Writes the kit's own nginx/nginx.conf into `dir`, rewritten for loopback, with what
 * nginx/run.sh adds in the container: chat-lb.conf (the CHAT_LB mode's file) and
 * chat-replicas.conf (one `server` line per replica). Docker's `chat:3000` (found through Docker's
 * DNS) becomes an upstream of the given replicas, and nginx listens, logs and keeps its pid and
 * temp files in `dir`. Everything else (stickiness, WebSocket upgrade, timeouts, retry on a dead
 * replica) is the file the topology ships. Returns the main file's path.
 */
export async function renderNginxConfig(dir: string, port: number, replicas: string[], options: NginxOptions = {}): Promise<string> {
  const config = await loopbackCopy("nginx.conf", dir, "upstream");
  config.swap(/listen 80 default_server;/, `listen ${options.host ?? "127.0.0.1"}:${port} default_server;`);
  config.swap(/"chat:3000"/g, "chat_loopback");
  config.upstream("chat_loopback", replicas);
  const mode = options.chatLb ?? "ip_hash";
  const lb = (await readFile(join(kitDir, "chat-lb", `${mode}.conf`), "utf8")).replaceAll('"chat:3000"', "chat_loopback");
  await writeFile(join(dir, "chat-lb.conf"), lb);
  await writeChatReplicas(dir, replicas);
  return config.write();
}

/**
 * nginx/`file` being rewritten for loopback: pid, logs and temp files in `dir`, no Docker DNS
 * resolver. `swap` fails when its pattern is gone: the shipped file changed under the tests.
 */
async function loopbackCopy(file: string, dir: string, accessLogFormat: string) {
  let text = await readFile(join(kitDir, file), "utf8");
  const swap = (from: RegExp, to: string) => {
    if (!from.test(text)) throw new Error(`nginx/${file} changed: ${from} not found; update packages/test-kit/src/nginx.ts`);
    text = text.replace(from, to);
  };
  swap(/^pid .*;$/m, `pid ${dir}/nginx.pid;`);
  swap(/^error_log .*;$/m, `error_log ${dir}/error.log notice;`);
  swap(new RegExp(`^\\s*access_log /dev/stdout ${accessLogFormat};$`, "m"), `  access_log ${dir}/access.log ${accessLogFormat};`);
  swap(/^\s*resolver 127\.0\.0\.11.*;$/m, "");
  return {
    swap,
    /** Opens `http {` with the upstream `name` of `replicas` (what Docker's DNS name stood for) and the temp paths. */
    upstream(name: string, replicas: string[]) {
      // max_fails=0: a replica that refused a connection is tried again on the next request. With
      // nginx's default (1 failure = out for 10 s), a rolling restart marks every replica out in turn
      // and nginx answers 502 "no live upstreams" for seconds after they are all back. (In compose a
      // stopped replica's name leaves Docker's DNS instead, so the kit's config never sees this.)
      const servers = replicas.map((target) => `    server ${target} max_fails=0;`).join("\n");
      swap(
        /^http \{$/m,
        `http {\n  upstream ${name} {\n${servers}\n  }\n` +
          ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`).join("\n"),
      );
    },
    /** Writes the result as `dir`/`file`; returns its path. */
    async write(): Promise<string> {
      const path = join(dir, file);
      await writeFile(path, text);
      return path;
    },
  };
}

/** What run.sh writes for ip_hash and hash: one `server` line per replica, in the given order. */
export async function writeChatReplicas(dir: string, replicas: string[]): Promise<void> {
  await writeFile(join(dir, "chat-replicas.conf"), replicas.map((target) => `server ${target} max_fails=0;\n`).join(""));
}

export const nginxBin = (): string => process.env.NGINX_BIN ?? "/usr/sbin/nginx";

/** Debian's nginx (`apt-get install nginx`) with the kit's config in front of `replicas` (`host:port`). */
export async function startNginx(dir: string, replicas: string[], options: NginxOptions = {}): Promise<TestNginx> {
  await mkdir(dir, { recursive: true });
  // Workers run as `nobody` when started by root; they write proxy temp files here.
  await chmod(dir, 0o777);
  const port = await freePort();
  const config = await renderNginxConfig(dir, port, replicas, options);
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const nginx = await runNginx(dir, config, () => fetch(`${url}/nginx-health`).then((r) => r.ok, () => false));
  return { ...nginx, url };
}

/** Runs nginx on `config` in the foreground until `ready()` says it serves. */
async function runNginx(dir: string, config: string, ready: () => Promise<boolean>): Promise<Omit<TestNginx, "url">> {
  const bin = nginxBin();
  const child: ChildProcess = spawn(bin, ["-p", dir, "-c", config, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  // A missing binary is an 'error' event, not an exit: without this it was an unhandled rejection.
  let spawnError: Error | undefined;
  child.once("error", (error) => (spawnError = error));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot run ${bin} (npm test installs Debian's nginx: scripts/test-prepare.sh): ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${await readFile(join(dir, "error.log"), "utf8").catch(() => "")}`);
    if (await ready()) break;
    if (Date.now() > deadline) throw new Error(`nginx (${config}) did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    config,
    reload() {
      const result = spawnSync(nginxBin(), ["-p", dir, "-c", config, "-s", "reload"], { encoding: "utf8" });
      if (result.status !== 0) return Promise.reject(new Error(`nginx -s reload failed: ${result.stderr}`));
      return Promise.resolve();
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGQUIT");
      await exited;
    },
  };
}

/**
 * The kit's nginx/grpc.conf (the gRPC front door without Envoy), rewritten for loopback like
 * renderNginxConfig: `users:50051` (Docker's DNS) becomes an upstream of `replicas`, and it listens
 * on 127.0.0.1:`port`. `overrides` replaces whole directives (`{ grpc_read_timeout: "3s" }`), for
 * tests that cannot wait for the shipped values. Returns the file's path.
 */
export async function renderGrpcConfig(dir: string, port: number, replicas: string[], overrides: Record<string, string> = {}): Promise<string> {
  const config = await loopbackCopy("grpc.conf", dir, "grpc");
  config.swap(/listen 9000 http2 default_server;/, `listen 127.0.0.1:${port} http2 default_server;`);
  config.swap(/"users:50051"/g, "users_loopback");
  for (const [directive, value] of Object.entries(overrides)) config.swap(new RegExp(`^(\\s*)${directive} [^;]+;$`, "m"), `$1${directive} ${value};`);
  config.upstream("users_loopback", replicas);
  return config.write();
}

/** Debian's nginx with the kit's gRPC front door (nginx/grpc.conf) in front of `replicas` (`host:port`). */
export async function startGrpcNginx(dir: string, replicas: string[], overrides: Record<string, string> = {}): Promise<TestNginx & { target: string }> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o777);
  const port = await freePort();
  const config = await renderGrpcConfig(dir, port, replicas, overrides);
  const nginx = await runNginx(dir, config, async () => {
    // A TCP connection is enough: nginx is up.
    return new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => (socket.destroy(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
  });
  return { ...nginx, url: `http://127.0.0.1:${port}`, target: `127.0.0.1:${port}` };
}
