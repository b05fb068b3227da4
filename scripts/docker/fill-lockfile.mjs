// Makes `npm ci` accept a lockfile that lacks other platforms' optional binaries.
//
// Some registries (the workshop machines' mirror among them) do not serve every platform build of
// a package like @bufbuild/buf; npm then writes a lockfile without, say, buf-darwin-arm64, and
// `npm ci` refuses it as "out of sync" on every machine. This adds a placeholder entry for each
// optional dependency the lockfile names but does not hold. npm never installs them here (they are
// optional, and for another OS or CPU). Runs inside image builds on the image's copy only.
// Usage: node fill-lockfile.mjs [package-lock.json]
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2] ?? "package-lock.json";
const lock = JSON.parse(readFileSync(file, "utf8"));
const added = [];
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const candidates = [`${key ? `${key}/` : ""}node_modules/${name}`, `node_modules/${name}`];
    if (candidates.some((c) => c in lock.packages)) continue;
    lock.packages[`node_modules/${name}`] = { version: range.replace(/^[\^~=]/, ""), optional: true, ...(entry.dev ? { dev: true } : {}) };
    added.push(name);
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
if (added.length > 0) console.log(`fill-lockfile: placeholders for ${added.join(", ")}`);
