/**
 * k8s/base holds together: what the schema cannot see. Every name one object uses to reach
 * another (a Service's selector and target port, a probe's port, a ConfigMap or Secret, a PDB's
 * or autoscaler's target, a NetworkPolicy's peers) points at something that exists.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { matchesSelector, ofKind, opens, renderBase, repoRoot, selected, workloads, type Workload } from "./objects.js";

const rendered = renderBase();
const all = workloads(rendered);
const readme = readFileSync(path.join(repoRoot, "k8s/README.md"), "utf8");

function probes(container: IContainer) {
  return [container.startupProbe, container.readinessProbe, container.livenessProbe].filter((p) => p !== undefined);
}

describe("k8s/base wiring", () => {
  it("every Service selects a workload's pods and targets a port they open", () => {
    for (const service of ofKind<IService>(rendered, "Service")) {
      const name = service.metadata!.name!;
      const targets = selected(rendered, service.spec!.selector);
      expect(targets.map((w) => w.id), `Service/${name} selects no workload`).not.toEqual([]);
      for (const port of service.spec!.ports ?? []) {
        for (const w of targets) expect(opens(w.pod, port.targetPort ?? port.port), `Service/${name} port ${port.name}`).toBe(true);
      }
    }
  });

  it("every probe asks a port its container opens (gRPC probes by number, as Kubernetes requires)", () => {
    let count = 0;
    for (const w of all) {
      for (const container of w.pod.containers) {
        for (const probe of probes(container)) {
          const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
          if (probe.exec) continue; // runs inside the container: no port
          count++;
          expect(opens({ containers: [container] }, port), `${w.id} ${container.name} probe port ${String(port)}`).toBe(true);
        }
      }
    }
    expect(count).toBeGreaterThanOrEqual(9);
  });

  it("the chat is probed on its HTTP health endpoints and users by Kubernetes' gRPC probe", () => {
    const [chat] = all.find((w) => w.name === "chat")!.pod.containers;
    expect(chat!.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(chat!.livenessProbe!.httpGet!.path).toBe("/healthz");
    const [users] = all.find((w) => w.name === "users")!.pod.containers;
    expect(users!.readinessProbe!.grpc).toEqual({ port: 50051, service: "userservice.v1.UserService" });
    expect(users!.livenessProbe!.grpc).toEqual({ port: 50051 });
  });

  it("every ConfigMap and Secret a pod uses exists, or is optional and README says how to create it", () => {
    const configMaps = new Set(ofKind<IConfigMap>(rendered, "ConfigMap").map((c) => c.metadata!.name!));
    const secrets = new Set(ofKind<IConfigMap>(rendered, "Secret").map((c) => c.metadata!.name!));
    const references: { kind: "ConfigMap" | "Secret"; name: string; key?: string; optional: boolean; from: string }[] = [];
    for (const w of all) {
      for (const volume of w.pod.volumes ?? []) {
        if (volume.configMap) references.push({ kind: "ConfigMap", name: volume.configMap.name!, optional: volume.configMap.optional ?? false, from: w.id });
        if (volume.secret) references.push({ kind: "Secret", name: volume.secret.secretName!, optional: volume.secret.optional ?? false, from: w.id });
      }
      for (const container of w.pod.containers) {
        for (const { valueFrom } of container.env ?? []) {
          const ref = valueFrom?.configMapKeyRef ?? valueFrom?.secretKeyRef;
          if (!ref) continue;
          references.push({ kind: valueFrom?.secretKeyRef ? "Secret" : "ConfigMap", name: ref.name!, key: ref.key, optional: ref.optional ?? false, from: w.id });
        }
        for (const from of container.envFrom ?? []) {
          if (from.configMapRef) references.push({ kind: "ConfigMap", name: from.configMapRef.name!, optional: from.configMapRef.optional ?? false, from: w.id });
          if (from.secretRef) references.push({ kind: "Secret", name: from.secretRef.name!, optional: from.secretRef.optional ?? false, from: w.id });
        }
      }
    }
    expect(references.length).toBeGreaterThanOrEqual(4);
    for (const ref of references) {
      const exists = (ref.kind === "ConfigMap" ? configMaps : secrets).has(ref.name);
      if (exists) continue;
      // A Secret's value is never committed: the README says how to make it, key by key.
      expect(ref.optional, `${ref.from} needs ${ref.kind}/${ref.name}, which k8s/base does not create`).toBe(true);
      expect(readme).toContain(`create secret generic ${ref.name}`);
      if (ref.key) expect(readme).toContain(`--from-literal=${ref.key}=`);
    }
  });

  it("every PodDisruptionBudget covers a workload that keeps a replica through a drain", () => {
    const autoscaled = new Map(ofKind<IHorizontalPodAutoscaler>(rendered, "HorizontalPodAutoscaler").map((h) => [h.spec!.scaleTargetRef.name, h.spec!.minReplicas ?? 1]));
    const budgets = ofKind<IPodDisruptionBudget>(rendered, "PodDisruptionBudget");
    expect(budgets.map((b) => b.metadata!.name).sort()).toEqual(["chat", "envoy", "users"]);
    for (const budget of budgets) {
      const covered = all.filter((w) => matchesSelector(budget.spec!.selector!, w.podLabels));
      expect(covered.map((w) => w.id), `PodDisruptionBudget/${budget.metadata!.name!}`).toHaveLength(1);
      const replicas = covered[0]!.replicas ?? autoscaled.get(covered[0]!.name) ?? 1;
      expect(replicas - Number(budget.spec!.maxUnavailable ?? 0)).toBeGreaterThanOrEqual(1);
    }
  });

  it("every autoscaler targets a Deployment that leaves the replica count to it", () => {
    const autoscalers = ofKind<IHorizontalPodAutoscaler>(rendered, "HorizontalPodAutoscaler");
    expect(autoscalers.map((h) => h.metadata!.name).sort()).toEqual(["chat", "users"]);
    for (const hpa of autoscalers) {
      const { kind, name, apiVersion } = hpa.spec!.scaleTargetRef;
      const target = all.find((w) => w.id === `${kind}/${name}`);
      expect(target, `HorizontalPodAutoscaler/${hpa.metadata!.name!} targets ${kind}/${name}`).toBeDefined();
      expect(apiVersion).toBe("apps/v1");
      // A `replicas` in the Deployment would be re-applied over the autoscaler's choice.
      expect(target!.replicas).toBeUndefined();
      expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
      expect(hpa.spec!.metrics![0]!.resource!.name).toBe("cpu");
    }
  });

  it("the Ingress reaches the chat Service on a port it has", () => {
    const [ingress] = ofKind<IIngress>(rendered, "Ingress");
    const backend = ingress!.spec!.rules![0]!.http!.paths[0]!.backend.service!;
    const service = ofKind<IService>(rendered, "Service").find((s) => s.metadata!.name === backend.name);
    expect(service?.spec!.ports!.map((p) => p.name)).toContain(backend.port!.name);
    expect(ingress!.spec!.ingressClassName).toBe("nginx");
  });

  describe("network policies", () => {
    const policies = ofKind<INetworkPolicy>(rendered, "NetworkPolicy");
    const admitted = (policy: INetworkPolicy): string[] =>
      all
        .filter((w) => (policy.spec!.ingress ?? []).some((rule) => (rule.from ?? []).some((peer) => peer.podSelector && !peer.namespaceSelector && matchesSelector(peer.podSelector, w.podLabels))))
        .map((w) => w.name)
        .sort();
    const guarded = (policy: INetworkPolicy): Workload[] => all.filter((w) => matchesSelector(policy.spec!.podSelector, w.podLabels));

    it("Redis accepts only the chat and users pods, on its own port", () => {
      const redis = policies.find((p) => p.metadata!.name === "redis")!;
      expect(guarded(redis).map((w) => w.id)).toEqual(["StatefulSet/redis"]);
      expect(admitted(redis)).toEqual(["chat", "users"]);
      expect(redis.spec!.ingress).toHaveLength(1);
    });

    it("users accept the chat and Envoy; the chat only the ingress controller's namespace", () => {
      expect(admitted(policies.find((p) => p.metadata!.name === "users")!)).toEqual(["chat", "envoy"]);
      const chat = policies.find((p) => p.metadata!.name === "chat")!;
      expect(chat.spec!.ingress![0]!.from).toEqual([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }]);
    });

    it("every policy guards a workload, on ports its pods open (Envoy's admin port stays shut)", () => {
      for (const policy of policies) {
        const pods = guarded(policy);
        expect(pods, `NetworkPolicy/${policy.metadata!.name!}`).not.toEqual([]);
        expect(policy.spec!.policyTypes).toEqual(["Ingress"]);
        for (const rule of policy.spec!.ingress ?? []) {
          for (const { port } of rule.ports ?? []) for (const w of pods) expect(opens(w.pod, port), `NetworkPolicy/${policy.metadata!.name!} port ${String(port)}`).toBe(true);
        }
      }
      const envoy = policies.find((p) => p.metadata!.name === "envoy")!;
      expect(envoy.spec!.ingress!.flatMap((r) => r.ports ?? []).map((p) => p.port)).toEqual(["grpc"]);
    });
  });
});
