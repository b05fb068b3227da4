/**
 * Loads Envoy's v3 API (the .proto files that `@grpc/grpc-js-xds` ships) into one protobufjs Root,
 * so a config can be checked without an Envoy binary.
 *
 * The shipped tree is a subset: some files (mostly the frozen v2 API) import protos that are not
 * shipped. Those files are skipped before loading, so one missing import never hides the rest.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/** Folders that resolve `import "…"` lines, in the order protoc would be given them. */
function includeDirs(): string[] {
  const deps = path.join(packageDir("@grpc/grpc-js-xds"), "deps");
  return ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => path.join(deps, d));
}

const IMPORT_LINE = /^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm;

function listProtos(dir: string, base: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) listProtos(full, base, out);
    else if (entry.name.endsWith(".proto")) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out;
}

let cached: protobuf.Root | undefined;

/** The Envoy v3 API as one resolved protobufjs Root (field names kept in snake_case). Cached. */
export function loadEnvoyApi(): protobuf.Root {
  if (cached) return cached;
  const includes = includeDirs();
  const descriptorProto = path.join(packageDir("protobufjs"), "google/protobuf/descriptor.proto");

  const locate = (target: string): string | undefined => {
    if (target === "google/protobuf/descriptor.proto") return descriptorProto;
    // protobufjs carries the other well-known types itself.
    if (target.startsWith("google/protobuf/")) return target;
    for (const dir of includes) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return undefined;
  };

  const complete = new Map<string, boolean>();
  const isComplete = (file: string, visiting: Set<string>): boolean => {
    const known = complete.get(file);
    if (known !== undefined) return known;
    if (visiting.has(file)) return true;
    visiting.add(file);
    const found = locate(file);
    let ok = found !== undefined;
    if (ok && found !== undefined && !file.startsWith("google/protobuf/")) {
      for (const match of readFileSync(found, "utf8").matchAll(IMPORT_LINE)) {
        if (!isComplete(match[1] as string, visiting)) {
          ok = false;
          break;
        }
      }
    }
    complete.set(file, ok);
    return ok;
  };

  const envoyRoot = includes[0] as string;
  const files = listProtos(path.join(envoyRoot, "envoy"), envoyRoot).filter((f) => isComplete(f, new Set()));

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => locate(target) ?? target;
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}
