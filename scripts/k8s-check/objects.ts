/**
 * The rendered k8s/base, typed with kubernetes-models' interfaces, and the lookups the
 * consistency checks share (which workload a selector picks, a pod's containers).
 */
import path from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { renderKustomization, type Rendered } from "./render.js";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
export const baseDir = path.join(repoRoot, "k8s/base");

/** What `kubectl apply -k k8s/base` would create. */
export function renderBase(): Rendered {
  return renderKustomization(baseDir, repoRoot);
}

/** Every rendered object of one kind, typed as the caller says it is. */
export function ofKind<T>(rendered: Rendered, kind: string): T[] {
  return rendered.objects.filter((o) => o.doc.kind === kind).map((o) => o.doc as T);
}

export interface Workload {
  /** `Deployment/chat`. */
  id: string;
  name: string;
  podLabels: Record<string, string>;
  pod: IPodSpec;
  /** `spec.replicas` as written (undefined when an autoscaler owns it). */
  replicas: number | undefined;
}

/** The Deployments and StatefulSets, with their pod templates. */
export function workloads(rendered: Rendered): Workload[] {
  const sets = [...ofKind<IDeployment>(rendered, "Deployment"), ...ofKind<IStatefulSet>(rendered, "StatefulSet")];
  return sets.map((w) => ({
    id: `${w.kind}/${w.metadata!.name!}`,
    name: w.metadata!.name!,
    podLabels: w.spec!.template.metadata?.labels ?? {},
    pod: w.spec!.template.spec!,
    replicas: w.spec!.replicas ?? undefined,
  }));
}

/** True when every label of `selector` is on the pod with the same value (an empty selector picks nothing here). */
export function selects(selector: Record<string, string> | undefined, podLabels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => podLabels[key] === value);
}

/** The workloads whose pods a plain label selector picks. */
export function selected(rendered: Rendered, selector: Record<string, string> | undefined): Workload[] {
  return workloads(rendered).filter((w) => selects(selector, w.podLabels));
}

/** A full label selector (matchLabels and matchExpressions), as PDBs and NetworkPolicies carry. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes' selector semantics; an empty selector matches every pod, as in a NetworkPolicy. */
export function matchesSelector(selector: LabelSelector, podLabels: Record<string, string>): boolean {
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => podLabels[key] === value);
  const expressionsMatch = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = podLabels[key];
    switch (operator) {
      case "In":
        return value !== undefined && values.includes(value);
      case "NotIn":
        return value === undefined || !values.includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${operator}`);
    }
  });
  return labelsMatch && expressionsMatch;
}

/** The container ports of a pod, by name and by number. */
export function containerPorts(pod: IPodSpec): { names: Set<string>; numbers: Set<number> } {
  const ports = pod.containers.flatMap((c) => c.ports ?? []);
  return { names: new Set(ports.flatMap((p) => (p.name ? [p.name] : []))), numbers: new Set(ports.map((p) => p.containerPort)) };
}

/** True when `port` (a name or a number, as Services, probes and policies write it) is one the pod opens. */
export function opens(pod: IPodSpec, port: string | number | undefined): boolean {
  const { names, numbers } = containerPorts(pod);
  return typeof port === "number" ? numbers.has(port) : port !== undefined && names.has(port);
}
