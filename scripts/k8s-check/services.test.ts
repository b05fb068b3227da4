/**
 * k8s/base runs the kit's services as they are configured: the variables the manifests set are
 * the ones each service's config.ts reads (and parse there), the addresses name Services that
 * exist, shutdown fits in the grace period, images, Redis and Envoy match compose and envoy/.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig as loadUsersConfig, usersEnvSchema } from "../../grpc-demo/src/config.js";
import { chatEnvSchema, loadConfig as loadChatConfig } from "../../websocket-chat/src/config.js";
import { validateEnvoyConfig } from "../envoy-check/validate.js";
import { ofKind, renderBase, repoRoot, workloads, type Workload } from "./objects.js";

const rendered = renderBase();
const all = workloads(rendered);
const services = ofKind<IService>(rendered, "Service");
/** The parts of compose/compose.yaml compared here. */
interface Compose {
  services: Record<string, { image: string; command?: string[]; deploy?: { replicas: number } }>;
}
const compose = parse(readFileSync(path.join(repoRoot, "compose/compose.yaml"), "utf8"), { merge: true }) as Compose;

/** `${CHAT_IMAGE:-clusterkit/chat:dev}` -> what compose runs when nothing is set. */
const composeDefault = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");

const kit = {
  chat: { variables: Object.keys(chatEnvSchema.shape), load: (env: NodeJS.ProcessEnv) => loadChatConfig(env), hardBoundMs: 3_000 },
  users: { variables: Object.keys(usersEnvSchema.shape), load: (env: NodeJS.ProcessEnv) => loadUsersConfig(env), hardBoundMs: 5_000 },
} as const;
// main.ts of each service exits by force this long after SHUTDOWN_TIMEOUT_MS (chat 3 s, users 5 s).

function workload(name: string): Workload {
  const found = all.find((w) => w.name === name);
  if (!found) throw new Error(`no workload ${name}`);
  return found;
}

function container(name: string): IContainer {
  return workload(name).pod.containers[0]!;
}

/**
 * The environment a container gets: literal values as written; a Secret's value stands in as a
 * valid one (32 characters satisfies every secret the configs take).
 */
function environment(c: IContainer): Record<string, string> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom?.secretKeyRef ? "s".repeat(32) : "")]));
}

function serviceWithPort(host: string, port: number): IService | undefined {
  return services.find((s) => s.metadata!.name === host && (s.spec!.ports ?? []).some((p) => p.port === port));
}

describe("k8s/base runs the services as configured", () => {
  for (const name of ["chat", "users"] as const) {
    it(`${name}: every variable set is one its config.ts reads, and the values parse there`, () => {
      const env = environment(container(name));
      expect(Object.keys(env).filter((v) => !kit[name].variables.includes(v))).toEqual([]);
      expect(() => kit[name].load(env)).not.toThrow();
    });

    it(`${name}: terminationGracePeriodSeconds covers the preStop pause, the drain and main.ts's hard bound`, () => {
      const { pod } = workload(name);
      const config = kit[name].load(environment(container(name)));
      const pauseMs = (container(name).lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      expect(pauseMs).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(pauseMs + config.shutdownTimeoutMs + kit[name].hardBoundMs);
    });

    it(`${name}: runs the image compose builds`, () => {
      expect(container(name).image).toBe(composeDefault(compose.services[name]!.image));
    });
  }

  it("Redis and Envoy run compose's images, Redis with compose's append-only settings", () => {
    expect(container("redis").image).toBe(composeDefault(compose.services.redis!.image));
    expect(container("envoy").image).toBe(composeDefault(compose.services.envoy!.image));
    expect(container("redis").args).toEqual(compose.services.redis!.command);
    expect(container("redis").volumeMounts![0]!.mountPath).toBe("/data");
  });

  it("the autoscalers keep at least compose's replica counts (3 chat, 2 users)", () => {
    const minimum = (name: string) => rendered.objects.find((o) => o.doc.kind === "HorizontalPodAutoscaler" && (o.doc.metadata as { name: string }).name === name)!.doc as { spec: { minReplicas: number } };
    expect(minimum("chat").spec.minReplicas).toBe(compose.services.chat!.deploy!.replicas);
    expect(minimum("users").spec.minReplicas).toBe(compose.services.users!.deploy!.replicas);
  });

  it("REDIS_URL and USERS_TARGET name Services that exist, users' one headless for client-side round robin", () => {
    for (const name of ["chat", "users"] as const) {
      const redis = new URL(environment(container(name)).REDIS_URL!);
      expect(serviceWithPort(redis.hostname, Number(redis.port)), `${name} REDIS_URL`).toBeDefined();
    }
    const target = /^dns:\/\/\/([a-z0-9-]+):(\d+)$/.exec(environment(container("chat")).USERS_TARGET!);
    expect(target).not.toBeNull();
    const users = serviceWithPort(target![1]!, Number(target![2]));
    // A ClusterIP would hand grpc-js one address: every call of a chat replica to one users pod.
    expect(users?.spec!.clusterIP).toBe("None");
  });

  it("finding 11.6: the chat believes exactly one proxy hop, the ingress controller's", () => {
    expect(environment(container("chat")).CHAT_TRUST_PROXY).toBe("1");
  });

  it("the Ingress is sticky and keeps an idle WebSocket open longer than Socket.IO's ping interval + timeout", () => {
    const annotations = ofKind<IIngress>(rendered, "Ingress")[0]!.metadata!.annotations!;
    expect(annotations["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
    const config = loadChatConfig(environment(container("chat")));
    for (const key of ["proxy-read-timeout", "proxy-send-timeout"]) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${key}`]) * 1000).toBeGreaterThan(config.pingIntervalMs + config.pingTimeoutMs);
    }
  });

  describe("Envoy's config", () => {
    const configMap = rendered.objects.find((o) => o.doc.kind === "ConfigMap")!.doc as { data: Record<string, string> };
    const k8sEnvoy = parse(configMap.data["envoy.yaml"]!) as unknown;

    it("is envoy/envoy.yaml with the users cluster on the headless Service, and nothing else changed", () => {
      const composeEnvoy = readFileSync(path.join(repoRoot, "envoy/envoy.yaml"), "utf8");
      const expected = parse(composeEnvoy.replace("address: users, port_value: 50051", "address: users-headless, port_value: 50051")) as unknown;
      expect(k8sEnvoy).toEqual(expected);
      expect(JSON.stringify(k8sEnvoy)).toContain('"address":"users-headless","port_value":50051');
      const users = serviceWithPort("users-headless", 50051);
      expect(users?.spec!.clusterIP).toBe("None"); // STRICT_DNS needs every pod's address
    });

    it("is a valid Envoy v3 config", () => {
      expect(validateEnvoyConfig(k8sEnvoy)).toEqual([]);
    });

    it("is mounted where the container's args read it", () => {
      const envoy = container("envoy");
      expect(envoy.args).toContain("/etc/envoy/envoy.yaml");
      expect(envoy.volumeMounts!.find((m) => m.name === "config")!.mountPath).toBe("/etc/envoy");
    });
  });

  describe("hardening", () => {
    for (const w of all) {
      it(`${w.id}: non-root by number, read-only root, no escalation or capabilities, no API token, bounded resources`, () => {
        expect(w.pod.securityContext?.runAsNonRoot).toBe(true);
        // A user *name* in the image (`USER node`) cannot be checked by the kubelet: it needs a uid.
        expect(w.pod.securityContext?.runAsUser).toBeGreaterThan(0);
        expect(w.pod.automountServiceAccountToken).toBe(false);
        for (const c of w.pod.containers) {
          expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
          expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(["cpu", "memory"]);
          expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(["cpu", "memory"]);
        }
      });
    }
  });
});
