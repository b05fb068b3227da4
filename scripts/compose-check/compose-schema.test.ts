/**
 * compose/compose.yaml against the Compose Specification's JSON schema, the one `docker compose`
 * v2 (compose-go) validates every file against before it runs anything. No compose v2 binary can
 * be had on this machine (Debian ships only docker-compose 1.29, which the container suite runs),
 * so this is how CI knows v2 would accept the file. The schema ships in the `dclint` package.
 * Also pins the topology's promises: profiles, healthchecks, image variables, Redis unpublished.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const composeText = readFileSync(path.join(repoRoot, "compose/compose.yaml"), "utf8");
// The package's exports map hides the schema file, so find the package folder and read it there.
const dclintDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve("dclint")));
// Its "$schema" spells draft-07 as an https URL Ajv does not know; Ajv's default dialect is draft-07.
const { $schema: _dialect, ...schema } = JSON.parse(readFileSync(path.join(dclintDir, "schemas/compose.schema.json"), "utf8")) as Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form YAML in tests
type Doc = any;

/** Compose interpolates `${VAR:-default}` before validating; here with an empty environment. */
function interpolate(text: string, env: Record<string, string> = {}): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, name: string, fallback?: string) => env[name] || fallback || "");
}

function load(env: Record<string, string> = {}): Doc {
  return parse(interpolate(composeText, env), { merge: true });
}

function schemaErrors(doc: Doc): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}

describe("compose/compose.yaml", () => {
  it("is valid against the Compose Specification schema (what docker compose v2 checks)", () => {
    expect(schemaErrors(load())).toEqual([]);
  });

  it("the schema check rejects a broken file (unknown key, a string for a list)", () => {
    const doc = load();
    doc.services.chat.replcias = 3;
    doc.services.redis.volumes = "redis-data:/data"; // a list is required
    const errors = schemaErrors(doc);
    expect(errors.join("\n")).toMatch(/\/services\/chat must NOT have additional properties/);
    expect(errors.join("\n")).toMatch(/\/services\/redis\/volumes must be array/);
  });

  it("has the profiles chat, grpc and all with the services each promises", () => {
    const doc = load();
    const inProfile = (p: string) =>
      Object.entries(doc.services as Record<string, Doc>)
        .filter(([, s]) => (s.profiles as string[]).includes(p))
        .map(([name]) => name)
        .sort();
    expect(inProfile("chat")).toEqual(["chat", "nginx", "redis"]);
    expect(inProfile("grpc")).toEqual(["envoy", "redis", "users"]);
    expect(inProfile("all")).toEqual(["chat", "envoy", "nginx", "redis", "users"]);
    // Envoy's stand-in as the gRPC front door shares its host port: only started in its place.
    expect(inProfile("grpc-nginx")).toEqual(["grpc-nginx"]);
    expect(doc.services["grpc-nginx"].ports).toEqual(doc.services.envoy.ports.slice(0, 1));
    expect(doc.services.chat.deploy.replicas).toBe(3);
    expect(doc.services.users.deploy.replicas).toBe(2);
  });

  it("can be scaled: replicas have no container_name and no fixed single host port", () => {
    const doc = load();
    for (const name of ["chat", "users"]) {
      expect(doc.services[name].container_name).toBeUndefined();
      for (const port of (doc.services[name].ports ?? []) as string[]) expect(port).toMatch(/\d+-\d+:/);
    }
  });

  it("waits on healthchecks and keeps Redis private with an append-only volume", () => {
    const doc = load();
    for (const name of ["redis", "users", "chat", "nginx", "grpc-nginx"]) expect(doc.services[name].healthcheck?.test).toBeDefined();
    expect(doc.services.chat.depends_on.redis.condition).toBe("service_healthy");
    expect(doc.services.users.depends_on.redis.condition).toBe("service_healthy");
    expect(doc.services.nginx.depends_on.chat.condition).toBe("service_healthy");
    expect(doc.services.envoy.depends_on.users.condition).toBe("service_healthy");
    expect(doc.services["grpc-nginx"].depends_on.users.condition).toBe("service_healthy");
    expect(doc.services.redis.ports).toBeUndefined();
    expect(doc.services.redis.command).toContain("--appendonly");
    expect(doc.services.redis.volumes[0]).toMatch(/^redis-data:/);
  });

  describe("finding 11.9: Envoy's admin port opened to the network", () => {
    /** Every published port as `service:container port -> host address`, from the short syntax `[ip:]host:container`. */
    function published(doc: Doc): string[] {
      return Object.entries(doc.services as Record<string, Doc>).flatMap(([name, service]) =>
        ((service.ports ?? []) as string[]).map((spec) => {
          const parts = String(spec).split(":");
          const host = parts.length === 3 ? parts[0] : "0.0.0.0";
          return `${name}:${parts.at(-1)} -> ${host}`;
        }),
      );
    }

    it("keeps Envoy admin (and everything but nginx and the gRPC front door) on loopback when PUBLISH_ADDRESS=0.0.0.0", () => {
      const open = published(load({ PUBLISH_ADDRESS: "0.0.0.0" }));
      expect(open).toContain("envoy:9901 -> 127.0.0.1");
      // grpc-nginx is the gRPC front door in Envoy's place, published like Envoy's :9000.
      expect(open.filter((p) => !p.endsWith("-> 127.0.0.1")).sort()).toEqual(["envoy:9000 -> 0.0.0.0", "grpc-nginx:9000 -> 0.0.0.0", "nginx:80 -> 0.0.0.0"]);
    });

    it("publishes everything on loopback by default", () => {
      expect(published(load()).filter((p) => !p.endsWith("-> 127.0.0.1"))).toEqual([]);
    });
  });

  it("finding 11.6: the chat believes exactly one proxy hop, nginx's", () => {
    expect(load().services.chat.environment).toContain("CHAT_TRUST_PROXY=1");
  });

  it("names every image through a variable whose default is the official image", () => {
    const defaults = load();
    expect(defaults.services.redis.image).toBe("redis:7");
    expect(defaults.services.nginx.image).toMatch(/^nginx:/);
    expect(defaults.services.envoy.image).toMatch(/^envoyproxy\/envoy:v1\.\d+/);
    expect(defaults.services.chat.build.args.NODE_IMAGE).toMatch(/^node:20/);
    const standIns = load({ REDIS_IMAGE: "r", NGINX_IMAGE: "n", ENVOY_IMAGE: "e", NODE_IMAGE: "nd" });
    expect([standIns.services.redis.image, standIns.services.nginx.image, standIns.services.envoy.image]).toEqual(["r", "n", "e"]);
    expect(standIns.services.users.build.args.NODE_IMAGE).toBe("nd");
  });
});
