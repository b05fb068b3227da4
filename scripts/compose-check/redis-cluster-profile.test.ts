/**
 * compose/redis-cluster.yaml, the file added on top of compose.yaml for the `redis-cluster`
 * profile: valid against the Compose Specification's schema (as compose-schema.test.ts checks
 * compose.yaml), and keeping its promises: six nodes from the `redis` image variable, unpublished,
 * joined by a one-shot init the chat replicas wait for, and the chat pointed at them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const overlayText = readFileSync(path.join(repoRoot, "compose/redis-cluster.yaml"), "utf8");
const dclintDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve("dclint")));
const { $schema: _dialect, ...schema } = JSON.parse(readFileSync(path.join(dclintDir, "schemas/compose.schema.json"), "utf8")) as Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form YAML in tests
type Doc = any;

function load(env: Record<string, string> = {}): Doc {
  const text = overlayText.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, name: string, fallback?: string) => env[name] || fallback || "");
  return parse(text, { merge: true });
}

const nodes = [1, 2, 3, 4, 5, 6].map((n) => `redis-node-${n}`);

describe("compose/redis-cluster.yaml (profile redis-cluster)", () => {
  it("is valid against the Compose Specification schema", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    expect(validate(load()) ? [] : validate.errors).toEqual([]);
  });

  it("runs six cluster nodes from the redis image variable, healthchecked and not published", () => {
    const doc = load({ REDIS_IMAGE: "clusterkit/standin-redis:7" });
    for (const name of nodes) {
      const node = doc.services[name];
      expect(node.image).toBe("clusterkit/standin-redis:7");
      expect(node.profiles).toEqual(["redis-cluster"]);
      expect(node.command).toEqual(expect.arrayContaining(["--cluster-enabled", "yes", "--cluster-node-timeout"]));
      expect(node.healthcheck.test).toBeDefined();
      expect(node.ports).toBeUndefined();
    }
    expect(load().services["redis-node-1"].image).toBe("redis:7");
  });

  it("joins them once every node is healthy, three masters with a replica each, and the chat waits for it", () => {
    const doc = load();
    const init = doc.services["redis-cluster-init"];
    expect(init.profiles).toEqual(["redis-cluster"]);
    expect(init.restart).toBe("no");
    for (const name of nodes) expect(init.depends_on[name].condition).toBe("service_healthy");
    expect(init.command.join(" ")).toMatch(/redis-cli --cluster create \$\$nodes --cluster-replicas 1 --cluster-yes/);
    expect(doc.services.chat.depends_on["redis-cluster-init"].condition).toBe("service_completed_successfully");
  });

  it("points the chat replicas at every node (CHAT_REDIS_CLUSTER) and adds nothing else to them", () => {
    const chat = load().services.chat as { environment: string[]; depends_on: object };
    expect(chat.environment).toEqual([`CHAT_REDIS_CLUSTER=${nodes.map((name) => `${name}:6379`).join(",")}`]);
    expect(Object.keys(chat).sort()).toEqual(["depends_on", "environment"]);
  });
});
