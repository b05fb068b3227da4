/**
 * envoy/envoy.yaml sizes the users cluster's circuit breakers for long-lived streams. Without
 * `circuit_breakers`, Envoy applies 1,024 concurrent requests per cluster, and each open
 * SubscribeToUpdates is one of them for as long as it lives: subscriber 1,025, and every unary
 * call made while 1,024 streams are open, fails with 503 "upstream overflow".
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repoRoot = path.resolve(import.meta.dirname, "../..");

interface Thresholds {
  priority?: string;
  max_requests?: number;
  max_pending_requests?: number;
  max_connections?: number;
  max_retries?: number;
}

function usersThresholds(): Thresholds {
  const doc = parse(readFileSync(path.join(repoRoot, "envoy/envoy.yaml"), "utf8")) as {
    static_resources: { clusters: Array<{ name: string; circuit_breakers?: { thresholds?: Thresholds[] } }> };
  };
  const users = doc.static_resources.clusters.find((c) => c.name === "users");
  const thresholds = users?.circuit_breakers?.thresholds ?? [];
  // Priority DEFAULT is what every route here uses; an entry without priority is DEFAULT too.
  return thresholds.find((t) => (t.priority ?? "DEFAULT") === "DEFAULT") ?? {};
}

describe("envoy: circuit breakers of the users cluster", () => {
  it("allow far more than Envoy's default 1,024 concurrent calls (each open subscription is one)", () => {
    expect(usersThresholds().max_requests ?? 1024).toBeGreaterThanOrEqual(10_000);
  });

  it("keep pending requests and connections bounded, and leave room for retries when a replica dies", () => {
    const t = usersThresholds();
    expect(t.max_pending_requests, "max_pending_requests set").toBeDefined();
    expect(t.max_pending_requests!).toBeLessThan(t.max_requests ?? 1024);
    expect(t.max_connections, "max_connections set").toBeDefined();
    expect(t.max_retries ?? 3).toBeGreaterThan(3);
  });
});
