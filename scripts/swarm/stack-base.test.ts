/**
 * The swarm stack stays one topology with compose: scripts/swarm/stack-base.ts passes every
 * service of compose/compose.yaml through with only swarm's refusals taken out, and
 * compose/stack.yaml adds deploy settings and ports without restating images, commands,
 * environment or health check commands. (The deploy itself: test/containers/swarm-stack.test.ts.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeFile, dropped, stackBase } from "./stack-base.js";

type Service = Record<string, unknown>;
const composeText = readFileSync(composeFile, "utf8");
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const base = stackBase(composeText) as { services: Record<string, Service> };
const overlay = parse(readFileSync(path.join(path.dirname(composeFile), "stack.yaml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};

describe("the swarm stack's files", () => {
  it("keeps every compose service, and each one's image, command, environment and health check as compose has them", () => {
    expect(Object.keys(base.services).sort()).toEqual(Object.keys(compose.services).sort());
    for (const [name, service] of Object.entries(compose.services)) {
      for (const key of ["image", "command", "environment", "healthcheck", "deploy", "init", "stop_signal", "stop_grace_period"]) {
        expect(base.services[name]![key], `${name}.${key}`).toEqual(service[key]);
      }
    }
  });

  it("drops only what swarm refuses or does otherwise, and makes bind mounts absolute", () => {
    for (const service of Object.values(base.services)) for (const key of Object.keys(dropped)) expect(service).not.toHaveProperty(key);
    expect(base.services["nginx"]!["volumes"]).toEqual([`${path.resolve(path.dirname(composeFile), "../nginx")}:/etc/nginx/kit:ro`]);
    expect(base.services["redis"]!["volumes"]).toEqual(["redis-data:/data"]);
    expect(Object.keys(base).filter((key) => key.startsWith("x-"))).toEqual([]);
  });

  it("compose/stack.yaml adds deploy, ports and health check timing only: no second copy of a service", () => {
    for (const [name, service] of Object.entries(overlay.services)) {
      expect(compose.services, name).toHaveProperty(name);
      expect(Object.keys(service).filter((key) => !["deploy", "ports", "healthcheck"].includes(key)), name).toEqual([]);
      expect(service["healthcheck"] ?? {}, name).not.toHaveProperty("test");
    }
  });

  it("rolls chat and users start-first with rollback, Redis and the front doors stop-first, and publishes nothing else", () => {
    for (const name of ["chat", "users"]) {
      expect(overlay.services[name]!["deploy"]).toMatchObject({
        endpoint_mode: "dnsrr",
        update_config: { parallelism: 1, order: "start-first", failure_action: "rollback" },
        rollback_config: { parallelism: 1 },
        restart_policy: { condition: "any" },
        resources: { limits: { memory: expect.stringMatching(/^\d+M$/) as unknown } },
      });
    }
    for (const name of ["redis", "nginx", "envoy", "grpc-nginx"]) {
      expect(overlay.services[name]!["deploy"], name).toMatchObject({ update_config: { order: "stop-first" } });
    }
    const published = Object.entries(overlay.services).flatMap(([name, s]) => ((s["ports"] ?? []) as Array<{ target: number; mode: string }>).map((p) => `${name}:${p.target}/${p.mode}`));
    // Envoy's admin (9901) is not among them: swarm cannot keep it on loopback.
    expect(published.sort()).toEqual(["envoy:9000/host", "grpc-nginx:9000/host", "nginx:80/host"]);
  });
});
