/**
 * Validates a Kubernetes object against the schema of its apiVersion and kind, strictly.
 *
 * The schemas are Kubernetes' own OpenAPI definitions (v1.33.0) as the `kubernetes-models`
 * package compiles them into Ajv validators. Those reject a wrong type, a bad enum value or a
 * missing required field, but like the OpenAPI they come from they accept any unknown key, so a
 * typo (`replica: 3`, `contianerPort`) would pass, and the API server drops or refuses it only at
 * apply time. Strictness is added here: the object is validated through a Proxy that records
 * which keys the validator looks up. A compiled validator reads every property its schema
 * declares and enumerates the keys of a map (labels, annotations, ConfigMap data); a key of a
 * non-map object that it never read is one the schema does not have.
 */
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";

/** Every kind the kit's manifests may use, by `apiVersion/kind`. */
const models: Record<string, { prototype: { validate(): void } }> = {
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

interface Visited {
  path: string;
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

/** Wraps `value` (and, lazily, everything under it) so that reads and enumerations are recorded. */
function track(value: object, path: string, visited: Visited[]): object {
  const node: Visited = { path, value, read: new Set(), enumerated: false };
  visited.push(node);
  const children = new Map<string, object>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return child;
      node.read.add(key);
      if (child === null || typeof child !== "object") return child;
      let wrapped = children.get(key);
      if (!wrapped) {
        wrapped = track(child, `${path}/${key}`, visited);
        children.set(key, wrapped);
      }
      return wrapped;
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
}

/**
 * Problems with `doc` as `path: message` lines: schema violations, then keys the schema does
 * not know. Empty when the object is valid.
 */
export function schemaProblems(doc: Record<string, unknown>): string[] {
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const model = models[key];
  if (!model) return [`(document): no schema for ${key} (the kit's manifests use ${Object.keys(models).join(", ")})`];

  const visited: Visited[] = [];
  const problems: string[] = [];
  try {
    model.prototype.validate.call(track(doc, "", visited));
  } catch (error) {
    const errors = (error as { errors?: AjvLikeError[] }).errors;
    if (!errors) throw error;
    for (const e of errors) problems.push(`${e.instancePath || "/"}: ${e.message ?? "invalid"}`);
  }
  for (const node of visited) {
    // Array items are checked as objects of their own; a map's keys are all legitimate.
    if (Array.isArray(node.value) || node.enumerated) continue;
    for (const name of Object.keys(node.value)) {
      if (!node.read.has(name)) problems.push(`${node.path}/${name}: unknown field (not in the ${key} schema)`);
    }
  }
  return problems;
}
