/**
 * compose/compose.yaml as `docker stack deploy` takes it: the same services, images, commands,
 * environment, health checks, volumes and replica counts, with only what swarm refuses or does
 * differently taken out. compose/stack.yaml (the swarm's own settings) is merged over the result
 * by `docker stack deploy -c <this> -c compose/stack.yaml`, so neither file copies the other.
 *
 * `node --import tsx scripts/swarm/stack-base.ts OUT`: writes the file (scripts/swarm-up.sh does).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

const repoRoot = path.resolve(import.meta.dirname, "../..");
export const composeFile = path.join(repoRoot, "compose/compose.yaml");

/**
 * Per service, the keys the stack leaves out, and why. Everything else passes through untouched;
 * `${VAR:-default}` stays as text for `docker stack deploy` to fill from its environment.
 */
export const dropped: Record<string, string> = {
  profiles: "the stack file's schema has none: a stack runs every service it lists",
  depends_on: "the schema takes only a plain list, and swarm starts services in no order anyway: a replica that finds Redis not up yet fails its health check and is restarted (deploy.restart_policy)",
  build: "swarm runs images, it does not build them (scripts/prepare-images.sh has built them)",
  restart: "ignored by swarm: deploy.restart_policy in compose/stack.yaml replaces it",
  ports: "swarm cannot bind a published port to one host address (127.0.0.1 would silently become every address) and has no host-port ranges: compose/stack.yaml publishes the front doors and nothing else",
};

type Service = Record<string, unknown>;

/** A relative bind source (`../nginx:/etc/nginx/kit:ro`) made absolute: the output lives elsewhere. */
function absoluteBind(volume: unknown, composeDir: string): unknown {
  if (typeof volume !== "string" || !volume.startsWith(".")) return volume;
  const [source, ...rest] = volume.split(":");
  return [path.resolve(composeDir, source!), ...rest].join(":");
}

/** The compose file's text turned into the stack's base document. */
export function stackBase(composeText: string, composeDir = path.dirname(composeFile)): Record<string, unknown> {
  // merge: resolves `<<: *node-service`, so the x- template itself can go.
  const doc = parse(composeText, { merge: true }) as { services: Record<string, Service>; [key: string]: unknown };
  const services: Record<string, Service> = {};
  for (const [name, service] of Object.entries(doc.services)) {
    const kept: Service = {};
    for (const [key, value] of Object.entries(service)) if (!(key in dropped)) kept[key] = value;
    if (Array.isArray(kept["volumes"])) kept["volumes"] = (kept["volumes"] as unknown[]).map((v) => absoluteBind(v, composeDir));
    services[name] = kept;
  }
  const top = Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith("x-") && key !== "services"));
  return { services, ...top };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: stack-base.ts OUT_FILE");
    process.exit(64);
  }
  const header = "# Generated from compose/compose.yaml by scripts/swarm/stack-base.ts for `docker stack deploy`: edit those, not this.\n";
    // YAML 1.1 as Docker reads it: `yes`/`no` quoted, or they would arrive as booleans.
  writeFileSync(out, header + stringify(stackBase(readFileSync(composeFile, "utf8")), { version: "1.1", lineWidth: 0 }));
}
