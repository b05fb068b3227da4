/**
 * k8s/base against Kubernetes' published schemas (v1.33.0's OpenAPI, as the kubernetes-models
 * package compiles it), strictly: unknown keys fail too. No cluster and no kubectl here; this is
 * what `kubectl apply --dry-run=server` would have said about types, required fields and typos.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderBase, repoRoot } from "./objects.js";
import { renderKustomization } from "./render.js";
import { schemaProblems } from "./strict-schema.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form YAML broken on purpose
type Doc = any;

const rendered = renderBase();

function find(kind: string, name: string): Doc {
  const found = rendered.objects.find((o) => o.doc.kind === kind && (o.doc.metadata as Doc)?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in k8s/base`);
  return structuredClone(found.doc);
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("k8s/base against Kubernetes' schemas", () => {
  it("renders every YAML file under k8s/: none is left out of the kustomization", () => {
    expect([...rendered.files].sort()).toEqual(yamlFilesUnder(path.join(repoRoot, "k8s")));
  });

  it("holds the topology's objects", () => {
    const names = rendered.objects.map((o) => `${String(o.doc.kind)}/${String((o.doc.metadata as Doc).name)}`).sort();
    expect(names).toEqual([
      "ConfigMap/envoy-config",
      "Deployment/chat",
      "Deployment/envoy",
      "Deployment/users",
      "HorizontalPodAutoscaler/chat",
      "HorizontalPodAutoscaler/users",
      "Ingress/chat",
      "NetworkPolicy/chat",
      "NetworkPolicy/envoy",
      "NetworkPolicy/redis",
      "NetworkPolicy/users",
      "PodDisruptionBudget/chat",
      "PodDisruptionBudget/envoy",
      "PodDisruptionBudget/users",
      "Service/chat",
      "Service/envoy",
      "Service/redis",
      "Service/users-headless",
      "StatefulSet/redis",
    ]);
  });

  for (const { file, doc } of rendered.objects) {
    const name = `${String(doc.kind)}/${String((doc.metadata as Doc)?.name)}`;
    it(`${name} (${file}) is valid, with no unknown field`, () => {
      expect(schemaProblems(doc)).toEqual([]);
    });
  }
});

describe("the schema check catches broken manifests", () => {
  it("an unknown key at any depth: `replica`, `contianerPort`, `metdata`, a probe's `paht`", () => {
    const chat = find("Deployment", "chat");
    chat.spec.replica = 3;
    chat.metdata = { name: "chat" };
    const container = chat.spec.template.spec.containers[0];
    container.ports[0].contianerPort = 3000;
    container.readinessProbe.httpGet.paht = "/readyz";
    expect(schemaProblems(chat)).toEqual(
      expect.arrayContaining([
        "/metdata: unknown field (not in the apps/v1/Deployment schema)",
        "/spec/replica: unknown field (not in the apps/v1/Deployment schema)",
        "/spec/template/spec/containers/0/ports/0/contianerPort: unknown field (not in the apps/v1/Deployment schema)",
        "/spec/template/spec/containers/0/readinessProbe/httpGet/paht: unknown field (not in the apps/v1/Deployment schema)",
      ]),
    );
  });

  it("keys of maps (labels, annotations, ConfigMap data) are not mistaken for unknown fields", () => {
    const ingress = find("Ingress", "chat");
    ingress.metadata.annotations["example.com/anything"] = "x";
    ingress.metadata.labels["any-label"] = "y";
    expect(schemaProblems(ingress)).toEqual([]);
  });

  it("a wrong type, a bad enum value and a missing required field", () => {
    const users = find("Deployment", "users");
    users.spec.template.spec.terminationGracePeriodSeconds = "30";
    users.spec.template.spec.containers[0].ports[0].protocol = "HTTP";
    delete users.spec.template.spec.containers[0].name;
    const problems = schemaProblems(users).join("\n");
    expect(problems).toMatch(/\/spec\/template\/spec\/terminationGracePeriodSeconds: must be integer/);
    expect(problems).toMatch(/\/spec\/template\/spec\/containers\/0\/ports\/0\/protocol: must be equal to one of the allowed values/);
    expect(problems).toMatch(/\/spec\/template\/spec\/containers\/0: must have required property name/);
  });

  it("a misspelt key in a field the Kubernetes schema leaves open elsewhere (HPA metric, PDB, Ingress backend)", () => {
    const hpa = find("HorizontalPodAutoscaler", "chat");
    hpa.spec.metrics[0].resource.target.averageUtilisation = 70;
    const pdb = find("PodDisruptionBudget", "chat");
    pdb.spec.maxUnavailible = 1;
    const ingress = find("Ingress", "chat");
    ingress.spec.rules[0].http.paths[0].backend.service.port.nmae = "http";
    expect(schemaProblems(hpa)).toContain("/spec/metrics/0/resource/target/averageUtilisation: unknown field (not in the autoscaling/v2/HorizontalPodAutoscaler schema)");
    expect(schemaProblems(pdb)).toContain("/spec/maxUnavailible: unknown field (not in the policy/v1/PodDisruptionBudget schema)");
    expect(schemaProblems(ingress)).toContain("/spec/rules/0/http/paths/0/backend/service/port/nmae: unknown field (not in the networking.k8s.io/v1/Ingress schema)");
  });

  it("an apiVersion the kit does not use (a removed beta API) has no schema", () => {
    const hpa = find("HorizontalPodAutoscaler", "chat");
    hpa.apiVersion = "autoscaling/v2beta2";
    expect(schemaProblems(hpa)[0]).toMatch(/no schema for autoscaling\/v2beta2\/HorizontalPodAutoscaler/);
  });

  it("the renderer refuses a kustomization key it would not apply (so no transformation goes unchecked)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "k8s-check-"));
    try {
      writeFileSync(path.join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\nnamePrefix: dev-\n");
      expect(() => renderKustomization(dir, dir)).toThrow(/does not understand namePrefix/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
