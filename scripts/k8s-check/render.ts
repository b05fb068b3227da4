/**
 * What `kubectl apply -k <dir>` would send, without kubectl: the kustomization's resource files
 * (each split into its YAML documents) and its configMapGenerator's ConfigMaps. Only the keys the
 * kit uses are understood; any other key (a patch, a name prefix, an image override) throws, so
 * the checks never pass over a transformation they did not see.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";

/** One Kubernetes object and the file it came from (relative to the repository). */
export interface RenderedObject {
  file: string;
  doc: Record<string, unknown>;
}

export interface Rendered {
  objects: RenderedObject[];
  /** Every file the kustomization read: its own, the resources and the generators' inputs. */
  files: string[];
}

const understood = new Set(["apiVersion", "kind", "resources", "configMapGenerator"]);

interface Generator {
  name: string;
  files: string[];
}

/** Renders `dir`'s kustomization.yaml; `repoRoot` only shortens the file names reported. */
export function renderKustomization(dir: string, repoRoot: string): Rendered {
  const kustomizationFile = path.join(dir, "kustomization.yaml");
  const kustomization = parse(readFileSync(kustomizationFile, "utf8")) as Record<string, unknown>;
  const unknown = Object.keys(kustomization).filter((key) => !understood.has(key));
  if (unknown.length > 0) throw new Error(`${kustomizationFile}: the renderer does not understand ${unknown.join(", ")}`);
  if (kustomization.kind !== "Kustomization") throw new Error(`${kustomizationFile}: kind is not Kustomization`);

  const relative = (file: string) => path.relative(repoRoot, file);
  const files = [relative(kustomizationFile)];
  const objects: RenderedObject[] = [];
  for (const resource of (kustomization.resources ?? []) as string[]) {
    const file = path.join(dir, resource);
    files.push(relative(file));
    for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      const doc = document.toJS() as Record<string, unknown> | null;
      if (doc !== null) objects.push({ file: relative(file), doc });
    }
  }
  for (const generator of (kustomization.configMapGenerator ?? []) as Generator[]) {
    const data: Record<string, string> = {};
    for (const entry of generator.files) {
      // `key=path`, or a bare path whose file name is the key.
      const [key, source] = entry.includes("=") ? (entry.split("=", 2) as [string, string]) : [path.basename(entry), entry];
      const file = path.join(dir, source);
      files.push(relative(file));
      data[key] = readFileSync(file, "utf8");
    }
    // kubectl appends a hash of the content to the name and rewrites the references to it; the
    // references in the sources name it without the hash, as here.
    objects.push({ file: relative(kustomizationFile), doc: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: generator.name }, data } });
  }
  return { objects, files };
}
