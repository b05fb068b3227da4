import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startService, type Service } from "./processes.js";

/**
 * nginx from Debian's package in front of chat replicas, configured in a scratch folder (no root
 * paths, no daemon). Round robin without stickiness: the load generator speaks WebSocket only, so
 * no Engine.IO polling request needs to return to the same replica.
 */
export async function startNginx(upstreams: number[]): Promise<Service & { url: string; pids(): number[] }> {
  const port = await freePort();
  const dir = join(tmpdir(), `clusterkit-nginx-${port}`);
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream chat {
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      # Above Engine.IO's ping interval + timeout (25 s + 20 s), or idle sockets get cut at 60 s.
      proxy_read_timeout 120s;
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const service = await startService({
    name: "nginx",
    command: process.env.NGINX_BIN ?? "nginx",
    args: ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf"), "-g", "daemon off;"],
    port,
  });
  return {
    ...service,
    url: `http://127.0.0.1:${port}`,
    // The master and its worker: the worker does the proxying.
    pids: () => {
      try {
        const children = readFileSync(`/proc/${service.pid}/task/${service.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
        return [service.pid, ...children];
      } catch {
        return [service.pid];
      }
    },
  };
}
